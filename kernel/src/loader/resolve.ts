import { pathToFileURL } from 'node:url';
import { KERNEL_API_VERSION, type PluginDefinition } from '@robustmq/sdk';
import semver from 'semver';
import type { z } from 'zod';
import { type EnvOption, pluginEnvVar, readEnv } from '../config/env.js';
import { formatIssues, lookupSource } from '../config/issues.js';
import type { LoadedConfig } from '../config/load.js';
import { deepMerge, isPlainObject } from '../config/merge.js';
import { keysAt, strippedKeys } from '../config/shape.js';
import { pluginRefusal, StartupError } from './errors.js';
import { entryFile, isBuilt, type Registry, type RegistryEntry } from './registry.js';

/** A plugin imported and checked, with its validated options, ready for setup. */
export interface ResolvedPlugin {
  entry: RegistryEntry;
  definition: PluginDefinition;
  /** Options after the plugin's schema (defaults applied). */
  options: unknown;
  /** Absolute path of the module. */
  file: string;
  /** Prefix of its env overrides (registry first, else the definition's). */
  envPrefix?: string;
}

function disableHint(entry: RegistryEntry, prefix: string | undefined): string {
  return `plugins.${entry.name}.enabled: false${prefix ? ` (or ROBUSTMQ_${prefix}_ENABLED=false)` : ''}`;
}

/**
 * Imports a plugin's module and checks it against the registry and this kernel: it exists, its
 * default export is a plugin definition whose name, kind and version match the entry, its
 * `kernelApi` range accepts {@link KERNEL_API_VERSION}, and its options pass its schema.
 * Throws a {@link StartupError} naming the plugin, the field and the fix.
 */
export async function resolvePlugin(registry: Registry, entry: RegistryEntry, loaded: LoadedConfig): Promise<ResolvedPlugin> {
  const file = entryFile(registry, entry);
  const refuse = (field: string, problem: string, fix: string) =>
    new StartupError(pluginRefusal(entry.name, field, problem, fix));
  if (!isBuilt(registry, entry)) {
    throw refuse('entry', `not built yet (${file} does not exist)`, `disable it with ${disableHint(entry, entry.envPrefix)}`);
  }
  checkKernelApi(entry.name, entry.kernelApi, 'the registry entry', entry.envPrefix);

  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw refuse(
      'entry',
      `cannot load ${file}: ${firstLine(err)}`,
      `fix the module or disable it with ${disableHint(entry, entry.envPrefix)}`,
    );
  }
  const def = mod.default;
  if (!isDefinition(def)) {
    throw refuse(
      'entry',
      `${file} does not default-export a plugin definition`,
      'export default definePlugin({ name, kind, version, kernelApi, configSchema, setup }) from @robustmq/sdk',
    );
  }
  const envPrefix = entry.envPrefix ?? def.envPrefix;
  const mismatch = (field: 'name' | 'kind' | 'version') =>
    refuse(
      field,
      `the module declares ${field} "${def[field]}" but the registry lists "${entry[field]}"`,
      `make the plugin definition and its registry entry (${registry.path}) agree`,
    );
  if (def.name !== entry.name) throw mismatch('name');
  if (def.kind !== entry.kind) throw mismatch('kind');
  if (def.version !== entry.version) throw mismatch('version');
  checkKernelApi(entry.name, def.kernelApi, 'the plugin', envPrefix);

  const options = validateOptions(entry.name, def, envPrefix, loaded, !entry.envPrefix && !!def.envPrefix);
  return { entry, definition: def, options, file, envPrefix };
}

function checkKernelApi(plugin: string, range: string, who: string, envPrefix: string | undefined): void {
  const valid = semver.validRange(range);
  if (valid && semver.satisfies(KERNEL_API_VERSION, valid)) return;
  const problem = valid
    ? `${who} needs kernel API ${range} but this kernel provides ${KERNEL_API_VERSION}`
    : `${who} declares "${range}", which is not a semver range`;
  throw new StartupError(
    pluginRefusal(
      plugin,
      'kernelApi',
      problem,
      `use a version of ${plugin} built for kernel API ${semver.major(KERNEL_API_VERSION)}.x, or disable it with plugins.${plugin}.enabled: false${envPrefix ? ` (or ROBUSTMQ_${envPrefix}_ENABLED=false)` : ''}`,
    ),
  );
}

/** Validates the plugin's options (config file, start options and env merged) against its schema. */
function validateOptions(
  name: string,
  def: PluginDefinition,
  envPrefix: string | undefined,
  loaded: LoadedConfig,
  lateEnv: boolean,
): unknown {
  let input: Record<string, unknown> = { ...(loaded.config.plugins[name]?.options ?? {}) };
  let envOptions = loaded.env.options.get(name) ?? new Map<string, EnvOption>();
  const sources = new Map<string, string>();
  for (const [k, v] of loaded.sources) {
    const head = `plugins.${name}.options.`;
    if (k.startsWith(head)) sources.set(k.slice(head.length), v);
  }
  if (lateEnv && envPrefix) {
    // The prefix is only known from the definition: apply its overrides now.
    const layer = readEnv(loaded.envVars, [{ name, envPrefix }]);
    envOptions = layer.options.get(name) ?? new Map();
    for (const [opt, o] of envOptions) {
      input = deepMerge(input, { [opt]: o.value }) as Record<string, unknown>;
      sources.set(opt, o.env);
    }
  }

  let parsed = def.configSchema.safeParse(input);
  // A value coerced from the environment (e.g. "0123" → 123) may be meant as text: retry raw.
  if (!parsed.success) {
    let retried = false;
    for (const issue of parsed.error.issues) {
      const opt = String(issue.path[0] ?? '');
      const o = envOptions.get(opt);
      if (issue.path.length === 1 && o && o.value !== o.raw && input[opt] === o.value) {
        input = { ...input, [opt]: o.raw };
        retried = true;
      }
    }
    if (retried) {
      const second = def.configSchema.safeParse(input);
      // Keep the coerced value's errors when the raw text fares no better.
      if (second.success || second.error.issues.length < parsed.error.issues.length) parsed = second;
    }
  }
  const issues: z.core.$ZodIssue[] = parsed.success ? [] : [...parsed.error.issues];
  const unknown = strippedKeys(def.configSchema, input);
  if (unknown.length) issues.push({ code: 'unrecognized_keys', keys: unknown, path: [], message: 'unknown keys', input });
  if (parsed.success && !issues.length) return parsed.data;
  throw new StartupError(
    formatIssues(issues, {
      subject: `plugin ${name}`,
      input,
      fieldName: (path) => ['options', ...path].join('.'),
      configPath: (path) => ['plugins', name, 'options', ...path].join('.'),
      sourceOf: (path) => lookupSource(sources, path),
      envOf: (path) => (envPrefix && path.length === 1 ? pluginEnvVar(envPrefix, path[0]) : undefined),
      expectedOf: () => undefined,
      knownKeysOf: (path) => keysAt(def.configSchema, path),
    }),
  );
}

function isDefinition(v: unknown): v is PluginDefinition {
  if (!isPlainObject(v) && (typeof v !== 'object' || v === null)) return false;
  const d = v as Partial<PluginDefinition>;
  return (
    typeof d.name === 'string' &&
    typeof d.kind === 'string' &&
    typeof d.version === 'string' &&
    typeof d.kernelApi === 'string' &&
    typeof d.setup === 'function' &&
    typeof (d.configSchema as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
