import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve, sep } from 'node:path';
import { z } from 'zod';

/** The fields of a registry.json entry of kind `filter` this module reads. */
const filterEntry = z.looseObject({
  name: z.string(),
  kind: z.literal('filter'),
  version: z.string().optional(),
  kernelApi: z.string().optional(),
  /** Component path relative to registry.json. */
  wasm: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A registry filter artifact, with its absolute path. */
export interface RegistryFilter {
  name: string;
  path: string;
  sha256: string;
}

/** Reads the `filter` entries of a registry.json (other kinds are the plugin loader's business). */
export async function readRegistryFilters(registryPath: string): Promise<RegistryFilter[]> {
  const abs = resolve(registryPath);
  let doc: { plugins?: unknown[] };
  try {
    doc = JSON.parse(await readFile(abs, 'utf8')) as { plugins?: unknown[] };
  } catch (err) {
    throw new Error(`registry ${abs}: cannot read it (${(err as Error).message}); fix: pass the path of a valid registry.json`);
  }
  const out: RegistryFilter[] = [];
  for (const raw of doc.plugins ?? []) {
    if ((raw as { kind?: unknown })?.kind !== 'filter') continue;
    const parsed = filterEntry.safeParse(raw);
    if (!parsed.success) {
      const name = (raw as { name?: unknown }).name;
      throw new Error(
        `registry ${abs}: filter entry ${String(name)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join(', ')}`,
      );
    }
    out.push({ name: parsed.data.name, path: resolve(dirname(abs), parsed.data.wasm), sha256: parsed.data.sha256 });
  }
  return out;
}

/** `examples/filters/redact/build/filter.wasm` → `redact`; `x/no-debug.wasm` → `no-debug`. */
function nameFromPath(path: string): string {
  const file = basename(path, '.wasm');
  if (file !== 'filter') return file;
  const parts = path.split(sep);
  for (let i = parts.length - 2; i >= 0; i--) if (parts[i] && parts[i] !== 'build' && parts[i] !== 'dist') return parts[i];
  return file;
}

/** Where a filter entry's `wasm` points: a registry name or a file path. */
export function resolveWasm(
  wasm: string,
  registry: readonly RegistryFilter[],
): { path: string; expected?: string; source: string; name: string } {
  const byName = registry.find((r) => r.name === wasm);
  if (byName && !existsSync(resolve(wasm))) {
    return { path: byName.path, expected: byName.sha256, source: 'registry.json', name: byName.name };
  }
  const path = resolve(wasm);
  const byPath = registry.find((r) => r.path === path);
  return {
    path,
    expected: byPath?.sha256,
    source: 'registry.json',
    name: byPath?.name ?? nameFromPath(path),
  };
}
