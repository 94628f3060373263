import { CONFIG_FIELDS } from './schema.js';
import { setPath } from './merge.js';

/** Environment variables the CLI reads itself (not config fields). */
const CLI_VARS = new Set(['ROBUSTMQ_CONFIG', 'ROBUSTMQ_REGISTRY']);

/** A plugin's name and the prefix of its environment overrides (`MQTT` → `ROBUSTMQ_MQTT_*`). */
export interface EnvPlugin {
  name: string;
  envPrefix?: string;
}

/** A plugin option set from the environment, kept raw so a string option is not mangled by coercion. */
export interface EnvOption {
  env: string;
  raw: string;
  value: unknown;
}

/** The configuration layer read from the environment. */
export interface EnvLayer {
  /** A partial config object. */
  values: Record<string, unknown>;
  /** Dotted config path → the variable that set it. */
  sources: Map<string, string>;
  /** `plugin` → option name → how it was set. */
  options: Map<string, Map<string, EnvOption>>;
  /** Unrecognised ROBUSTMQ_* variables (probably typos). */
  warnings: string[];
}

/** `MAX_CONNECTIONS` → `maxConnections`. */
export function camelFromSnake(snake: string): string {
  return snake.toLowerCase().replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `maxConnections` → `MAX_CONNECTIONS`. */
export function snakeFromCamel(camel: string): string {
  return camel
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

/** The variable that overrides a plugin option, e.g. (`MQTT`, `maxConnections`) → `ROBUSTMQ_MQTT_MAX_CONNECTIONS`. */
export function pluginEnvVar(envPrefix: string, option: string): string {
  return `ROBUSTMQ_${envPrefix.toUpperCase()}_${snakeFromCamel(option)}`;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** Coerces to a number when the text is one; otherwise returns it unchanged (validation reports it). */
export function coerceNumber(raw: string): unknown {
  return NUMBER.test(raw.trim()) ? Number(raw) : raw;
}

/** Coerces true/false/1/0/yes/no/on/off; otherwise returns the text unchanged. */
export function coerceBoolean(raw: string): unknown {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return raw;
}

/** Best guess for a value whose type is unknown: boolean, number, JSON object/array/string, else text. */
export function coerceAuto(raw: string): unknown {
  const v = raw.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (NUMBER.test(v)) return Number(v);
  if (v === 'null' || v.startsWith('{') || v.startsWith('[') || v.startsWith('"')) {
    try {
      return JSON.parse(v);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * Reads ROBUSTMQ_* variables: kernel fields from {@link CONFIG_FIELDS}, and per plugin
 * `ROBUSTMQ_<envPrefix>_ENABLED` → `plugins.<name>.enabled` and
 * `ROBUSTMQ_<envPrefix>_<SNAKE_OPTION>` → `plugins.<name>.options.<camelOption>`. Empty values count as unset.
 */
export function readEnv(env: Record<string, string | undefined>, plugins: readonly EnvPlugin[]): EnvLayer {
  const layer: EnvLayer = { values: {}, sources: new Map(), options: new Map(), warnings: [] };
  const byEnv = new Map(CONFIG_FIELDS.map((f) => [f.env, f]));
  // Longest prefix first so `AUTH_FILE` wins over `AUTH`.
  const prefixed = plugins
    .filter((p): p is Required<EnvPlugin> => !!p.envPrefix)
    .map((p) => ({ name: p.name, head: `ROBUSTMQ_${p.envPrefix.toUpperCase()}_` }))
    .sort((a, b) => b.head.length - a.head.length);

  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith('ROBUSTMQ_') || raw === undefined || raw === '' || CLI_VARS.has(name)) continue;
    const field = byEnv.get(name);
    if (field) {
      const value = field.type === 'number' ? coerceNumber(raw) : field.type === 'boolean' ? coerceBoolean(raw) : raw;
      setPath(layer.values, field.path.split('.'), value);
      layer.sources.set(field.path, name);
      continue;
    }
    const plugin = prefixed.find((p) => name.startsWith(p.head) && name.length > p.head.length);
    if (!plugin) {
      layer.warnings.push(`environment: ${name} is not a known setting and is ignored`);
      continue;
    }
    const rest = name.slice(plugin.head.length);
    if (rest === 'ENABLED') {
      setPath(layer.values, ['plugins', plugin.name, 'enabled'], coerceBoolean(raw));
      layer.sources.set(`plugins.${plugin.name}.enabled`, name);
      continue;
    }
    const option = camelFromSnake(rest);
    const value = coerceAuto(raw);
    setPath(layer.values, ['plugins', plugin.name, 'options', option], value);
    layer.sources.set(`plugins.${plugin.name}.options.${option}`, name);
    const opts = layer.options.get(plugin.name) ?? new Map<string, EnvOption>();
    layer.options.set(plugin.name, opts);
    opts.set(option, { env: name, raw, value });
  }
  return layer;
}
