import type { z } from 'zod';
import type { Clock } from './clock.js';
import type { HookBus } from './hooks.js';
import type { LogStore } from './log-store.js';
import type { Logger } from './logger.js';
import type { MetaStore } from './meta-store.js';
import type { Metrics } from './metrics.js';
import type { Router } from './router.js';
import type { Token } from './tokens.js';

/** The version of the kernel API this sdk describes; plugins declare a semver range against it. */
export const KERNEL_API_VERSION = '1.0.0';

export type PluginKind = 'protocol' | 'storage' | 'auth' | 'filter' | 'extension';

/** Read-only facts about the running broker a plugin may need. */
export interface BrokerInfo {
  /** Kernel package version. */
  version: string;
  /** Root directory for on-disk state (storage plugins put their files under it). */
  dataDir: string;
  /** Host interfaces listeners bind to by default. */
  host: string;
}

/** Everything a plugin receives at setup. */
export interface PluginContext<Options = unknown> {
  /** The plugin's registry name, e.g. `protocol-mqtt`. */
  readonly name: string;
  /** Options validated against the plugin's schema, with defaults applied. */
  readonly options: Options;
  readonly logger: Logger;
  readonly hooks: HookBus;
  readonly router: Router;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly broker: BrokerInfo;
  /** The active LogStore. Throws when called from a storage plugin's own setup. */
  logStore(): LogStore;
  /** The active MetaStore. Throws when called from a storage plugin's own setup. */
  metaStore(): MetaStore;
  /** Resolves a value from the plugin's child container (falls back to the kernel's). */
  resolve<T>(token: Token): T;
  /** Registers a value in the plugin's own child container. */
  register<T>(token: Token, value: T): void;
  /**
   * Storage plugins call this to offer their stores to the kernel (kind `storage` only).
   */
  provideStorage(stores: { logStore: LogStore; metaStore: MetaStore }): void;
}

/** What setup returns: the running parts of the plugin. */
export interface PluginInstance {
  /** Opens listeners or background work. Throw {@link PluginStartError} to refuse with a fix. */
  start?(): Promise<void> | void;
  /**
   * Stops accepting new work and drains what is in flight. The kernel waits at most `deadlineMs`
   * (the signal aborts when it passes) and then moves on to the next plugin.
   */
  stop?(deadlineMs: number, signal: AbortSignal): Promise<void> | void;
  /** True once the plugin serves traffic (used by /ready). */
  ready?(): boolean;
  /** Where the plugin listens once started, e.g. `{ tcp: 1883, ws: 8083 }` (actual ports, also with port 0). */
  endpoints?(): Record<string, number>;
}

export interface PluginDefinition<Schema extends z.ZodType = z.ZodType> {
  /** Registry name, e.g. `protocol-mqtt`. */
  name: string;
  kind: PluginKind;
  /** The plugin's own semver version. */
  version: string;
  /** Semver range of {@link KERNEL_API_VERSION} the plugin works with, e.g. `^1`. */
  kernelApi: string;
  /** Zod schema of the plugin's options; every field should have a default. */
  configSchema: Schema;
  /**
   * Environment prefix for option overrides: with `MQTT`, `ROBUSTMQ_MQTT_MAX_CONNECTIONS=10` sets
   * `options.maxConnections`.
   */
  envPrefix?: string;
  setup(ctx: PluginContext<z.output<Schema>>): Promise<PluginInstance | undefined> | PluginInstance | undefined;
}

/** Declares a plugin. Identity function that gives the options their schema's type. */
export function definePlugin<Schema extends z.ZodType>(definition: PluginDefinition<Schema>): PluginDefinition<Schema> {
  return definition;
}

/**
 * A start-up refusal that names what to change. The kernel prints it as one line:
 * `plugin <plugin>: <field>: <problem>; fix: <fix>`.
 */
export class PluginStartError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${field}: ${problem}; fix: ${fix}`);
    this.name = 'PluginStartError';
  }
}
