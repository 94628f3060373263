import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { StartupError } from './errors.js';

/** The repository's own registry.json (kernel/src/loader → repo root). */
export const DEFAULT_REGISTRY_PATH = fileURLToPath(new URL('../../../registry.json', import.meta.url));

const PLUGIN_KINDS = ['protocol', 'storage', 'auth', 'filter', 'extension'] as const;

const entrySchema = z.looseObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lowercase name of letters, digits and dashes'),
  kind: z.enum(PLUGIN_KINDS),
  version: z.string().min(1),
  kernelApi: z.string().min(1),
  /** Module path relative to the registry file; its default export is the PluginDefinition. */
  entry: z.string().min(1),
  /** Enabled unless the config says `enabled: false` (storage plugins: selected by `storage`). */
  default: z.boolean().default(false),
  /** Prefix of `ROBUSTMQ_<PREFIX>_*` option overrides. */
  envPrefix: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, 'expected upper-case letters, digits and underscores')
    .optional(),
  description: z.string().optional(),
});

const registrySchema = z.looseObject({ plugins: z.array(entrySchema) });

/** One plugin the kernel may load. */
export type RegistryEntry = z.output<typeof entrySchema>;

/** A parsed registry file. */
export interface Registry {
  /** Absolute path of the file. */
  path: string;
  /** Entries in file order (the order plugins of one kind start in). */
  entries: RegistryEntry[];
}

/** Reads and validates a registry file (default: the repository's registry.json). */
export async function readRegistry(path: string = DEFAULT_REGISTRY_PATH): Promise<Registry> {
  const abs = resolve(path);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(abs, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'file not found' : `cannot read it: ${(err as Error).message}`;
    throw new StartupError(`registry: ${abs}: ${problem}; fix: pass --registry with the path of a valid registry.json`);
  }
  const parsed = registrySchema.safeParse(value);
  if (!parsed.success) {
    throw new StartupError(
      parsed.error.issues.map(
        (i) => `registry: ${abs}: ${i.path.join('.') || '(top level)'}: ${i.message}; fix: correct the registry entry`,
      ),
    );
  }
  const seen = new Set<string>();
  for (const e of parsed.data.plugins) {
    if (seen.has(e.name))
      throw new StartupError(`registry: ${abs}: plugin ${e.name} is listed twice; fix: keep one entry per name`);
    seen.add(e.name);
  }
  return { path: abs, entries: parsed.data.plugins };
}

/** Absolute path of an entry's module. */
export function entryFile(registry: Registry, entry: RegistryEntry): string {
  return resolve(dirname(registry.path), entry.entry);
}

/** True when the entry's module exists (placeholders in the registry are not built yet). */
export function isBuilt(registry: Registry, entry: RegistryEntry): boolean {
  return existsSync(entryFile(registry, entry));
}
