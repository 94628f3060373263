import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import { StartupError } from '../loader/errors.js';
import { type EnvLayer, type EnvPlugin, pluginEnvVar, readEnv } from './env.js';
import { formatIssues, lookupSource } from './issues.js';
import { deepMerge, isPlainObject, leafPaths } from './merge.js';
import { type Config, configField, configSchema } from './schema.js';
import { keysAt } from './shape.js';

/** Where configuration comes from; later layers win: defaults < file < `config` < env. */
export interface LoadConfigOptions {
  /** A YAML (.yaml/.yml) or JSON (.json) file. */
  configPath?: string;
  /** A raw config object merged over the file. */
  config?: unknown;
  /** Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Registry plugins and their env prefixes, for `ROBUSTMQ_<PREFIX>_*` overrides. */
  plugins?: readonly EnvPlugin[];
}

/** The validated configuration and what is needed to explain later errors about it. */
export interface LoadedConfig {
  config: Config;
  /** The merged input before defaults (what the user actually set). */
  raw: Record<string, unknown>;
  /** Dotted path → where its value came from (file path, `start options` or an env var). */
  sources: Map<string, string>;
  env: EnvLayer;
  /** The environment variables read (for plugins whose env prefix is only known once imported). */
  envVars: Record<string, string | undefined>;
  /** Non-fatal findings, e.g. an unknown ROBUSTMQ_* variable. */
  warnings: string[];
  /** Absolute path of the file read, if any. */
  configPath?: string;
}

/**
 * Loads, merges and validates the configuration. Throws a {@link StartupError} with one line per
 * problem, each naming the field path, the bad value, where it came from and the fix.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const sources = new Map<string, string>();
  let raw: Record<string, unknown> = {};
  let configPath: string | undefined;

  if (options.configPath) {
    configPath = resolve(options.configPath);
    const fromFile = await readConfigFile(configPath);
    raw = fromFile;
    for (const p of leafPaths(fromFile)) sources.set(p, configPath);
  }
  if (options.config !== undefined && options.config !== null) {
    if (!isPlainObject(options.config)) {
      throw new StartupError(
        'config: start options: config must be a plain object; fix: pass an object such as { storage: "memory" }',
      );
    }
    raw = deepMerge(raw, options.config) as Record<string, unknown>;
    for (const p of leafPaths(options.config)) sources.set(p, 'start options');
  }
  const envVars = options.env ?? process.env;
  const env = readEnv(envVars, options.plugins ?? []);
  raw = deepMerge(raw, env.values) as Record<string, unknown>;
  for (const [p, name] of env.sources) sources.set(p, name);

  const prefixes = new Map((options.plugins ?? []).map((p) => [p.name, p.envPrefix]));
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StartupError(
      formatIssues(parsed.error.issues, {
        subject: 'config',
        input: raw,
        fieldName: (path) => path.join('.'),
        configPath: (path) => path.join('.'),
        sourceOf: (path) => lookupSource(sources, path),
        envOf: (path) => configEnvVar(path, prefixes),
        expectedOf: (path) => configField(path.join('.'))?.expected ?? pluginFieldExpected(path),
        knownKeysOf: (path) => keysAt(configSchema, path),
      }),
    );
  }
  return { config: parsed.data, raw, sources, env, envVars, warnings: env.warnings, configPath };
}

/** The environment variable that sets a config path, if there is one. */
export function configEnvVar(path: readonly string[], prefixes: ReadonlyMap<string, string | undefined>): string | undefined {
  const field = configField(path.join('.'));
  if (field) return field.env;
  if (path[0] !== 'plugins' || path.length < 3) return undefined;
  const prefix = prefixes.get(path[1]);
  if (!prefix) return undefined;
  if (path.length === 3 && path[2] === 'enabled') return `ROBUSTMQ_${prefix}_ENABLED`;
  if (path.length === 4 && path[2] === 'options') return pluginEnvVar(prefix, path[3]);
  return undefined;
}

function pluginFieldExpected(path: readonly string[]): string | undefined {
  if (path[0] !== 'plugins') return undefined;
  if (path.length === 2) return 'a mapping with enabled and options';
  if (path.length === 3 && path[2] === 'enabled') return 'true or false';
  if (path.length === 3 && path[2] === 'options') return 'a mapping of option names to values';
  if (path.length === 1) return 'a mapping of plugin names to { enabled, options }';
  return undefined;
}

/** Reads a YAML or JSON file (by extension; anything but .json is read as YAML) into an object. */
async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? (err as Error).message})`;
    throw new StartupError(
      `config: ${path}: ${problem}; fix: check the --config path (or ROBUSTMQ_CONFIG), or omit it to run on defaults`,
    );
  }
  let value: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new StartupError(
        `config: ${path}: invalid JSON: ${(err as Error).message}; fix: correct the JSON syntax (or use a .yaml file)`,
      );
    }
  } else {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length) {
      const e = doc.errors[0];
      const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      throw new StartupError(
        `config: ${path}: invalid YAML${at}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}; fix: correct the YAML syntax there`,
      );
    }
    value = doc.toJS();
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new StartupError(
      `config: ${path}: expected a mapping of settings at the top level, got ${Array.isArray(value) ? 'a list' : typeof value}; fix: write key: value pairs such as "storage: memory"`,
    );
  }
  return value;
}
