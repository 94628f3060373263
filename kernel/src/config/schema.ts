import { z } from 'zod';
import { filterEntrySchema } from '../filters/schema.js';

/** Log levels pino accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.number().int().min(0).max(65535);

/** A plugin's section: `enabled` (undefined = the registry default) and its raw options. */
const pluginSection = z.preprocess(
  (v) => (v === null ? {} : v),
  z.strictObject({
    enabled: z.boolean().optional(),
    /** Validated later against the plugin's own configSchema. */
    options: z.preprocess((v) => (v === null ? {} : v), z.record(z.string(), z.unknown())).default({}),
  }),
);

/**
 * The kernel configuration. Every field has a default so `robustmq start` works without a file;
 * unknown keys are refused at every level (except plugin options, which the plugin validates).
 */
export const configSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data'),
  host: z.string().min(1).default('0.0.0.0'),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
  admin: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(8080),
    })
    .prefault({}),
  storage: z.string().min(1).default('storage-file'),
  router: z
    .strictObject({
      queueLimit: z.number().int().min(1).default(1000),
      dropPolicy: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
    })
    .prefault({}),
  hooks: z
    .strictObject({
      deadlineMs: z.number().int().min(1).default(1000),
      filterFailure: z.enum(['pass', 'drop']).default('pass'),
    })
    .prefault({}),
  shutdown: z.strictObject({ deadlineMs: z.number().int().min(0).default(10_000) }).prefault({}),
  plugins: z.preprocess((v) => (v === null ? {} : v), z.record(z.string(), pluginSection)).default({}),
  /** Rule filters (WebAssembly components or TypeScript modules) on the `filter` hook, in order. */
  filters: z.array(filterEntrySchema).default([]),
});

/** The effective kernel configuration (defaults applied). */
export type Config = z.output<typeof configSchema>;
/** One plugin's section of the configuration. */
export type PluginConfig = Config['plugins'][string];

/** How a kernel field is set from the environment and what a valid value looks like. */
export interface ConfigField {
  path: string;
  env: string;
  type: 'string' | 'number' | 'boolean';
  /** Shown in errors after "expected" and in the fix. */
  expected: string;
  default: string;
  doc: string;
}

/** Every kernel (non-plugin) field: drives env overrides, error messages and the README table. */
export const CONFIG_FIELDS: readonly ConfigField[] = [
  {
    path: 'dataDir',
    env: 'ROBUSTMQ_DATA_DIR',
    type: 'string',
    expected: 'a non-empty directory path',
    default: './data',
    doc: 'root directory for on-disk state',
  },
  {
    path: 'host',
    env: 'ROBUSTMQ_HOST',
    type: 'string',
    expected: 'a non-empty host address',
    default: '0.0.0.0',
    doc: 'default bind address for plugin listeners',
  },
  {
    path: 'log.level',
    env: 'ROBUSTMQ_LOG_LEVEL',
    type: 'string',
    expected: `one of ${LOG_LEVELS.join(', ')}`,
    default: 'info',
    doc: 'pino log level',
  },
  {
    path: 'admin.enabled',
    env: 'ROBUSTMQ_ADMIN_ENABLED',
    type: 'boolean',
    expected: 'true or false',
    default: 'true',
    doc: 'serve the admin HTTP endpoints',
  },
  {
    path: 'admin.host',
    env: 'ROBUSTMQ_ADMIN_HOST',
    type: 'string',
    expected: 'a non-empty host address',
    default: '0.0.0.0',
    doc: 'admin HTTP bind address',
  },
  {
    path: 'admin.port',
    env: 'ROBUSTMQ_ADMIN_PORT',
    type: 'number',
    expected: 'a number between 0 and 65535',
    default: '8080',
    doc: 'admin HTTP port (0 = any free port)',
  },
  {
    path: 'storage',
    env: 'ROBUSTMQ_STORAGE',
    type: 'string',
    expected: 'a storage plugin name from the registry or "memory"',
    default: 'storage-file',
    doc: 'registry name of the storage plugin, or `memory` (built-in, not durable)',
  },
  {
    path: 'router.queueLimit',
    env: 'ROBUSTMQ_ROUTER_QUEUE_LIMIT',
    type: 'number',
    expected: 'a whole number of at least 1',
    default: '1000',
    doc: 'deliveries queued per paused subscriber',
  },
  {
    path: 'router.dropPolicy',
    env: 'ROBUSTMQ_ROUTER_DROP_POLICY',
    type: 'string',
    expected: 'drop-oldest or drop-newest',
    default: 'drop-oldest',
    doc: 'what a full subscriber queue drops',
  },
  {
    path: 'hooks.deadlineMs',
    env: 'ROBUSTMQ_HOOKS_DEADLINE_MS',
    type: 'number',
    expected: 'a whole number of milliseconds, at least 1',
    default: '1000',
    doc: 'time an async hook handler may take',
  },
  {
    path: 'hooks.filterFailure',
    env: 'ROBUSTMQ_HOOKS_FILTER_FAILURE',
    type: 'string',
    expected: 'pass or drop',
    default: 'pass',
    doc: 'verdict when a filter hook throws or times out',
  },
  {
    path: 'shutdown.deadlineMs',
    env: 'ROBUSTMQ_SHUTDOWN_DEADLINE_MS',
    type: 'number',
    expected: 'a whole number of milliseconds, at least 0',
    default: '10000',
    doc: 'time each plugin gets to stop',
  },
];

/** Looks up a kernel field by its dotted path. */
export function configField(path: string): ConfigField | undefined {
  return CONFIG_FIELDS.find((f) => f.path === path);
}
