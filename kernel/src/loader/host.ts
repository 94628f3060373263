import { type LogStore, type Logger, type MetaStore, type PluginInstance, PluginStartError, Tokens } from '@robustmq/sdk';
import { pluginEnvVar } from '../config/env.js';
import { type DependencyContainer, registerValue } from '../container.js';
import { createPluginContext, type KernelServices, type StoreSlot } from './context.js';
import { runWithin } from './deadline.js';
import { isStartupError, pluginRefusal, StartupError } from './errors.js';
import type { ResolvedPlugin } from './resolve.js';
import { ScopedHookBus } from './scoped-hooks.js';

/** Where a plugin is in its lifecycle. */
export type PluginState = 'loaded' | 'set-up' | 'started' | 'stopped' | 'failed';

/** A plugin the kernel runs: its definition, options, container and instance. */
export class RunningPlugin {
  state: PluginState = 'loaded';
  instance?: PluginInstance;
  readonly hooks: ScopedHookBus;
  readonly container: DependencyContainer;

  constructor(
    readonly resolved: ResolvedPlugin,
    services: KernelServices,
  ) {
    this.hooks = new ScopedHookBus(services.hooks, resolved.entry.name);
    this.container = services.container.createChildContainer();
  }

  get name(): string {
    return this.resolved.entry.name;
  }
  get kind() {
    return this.resolved.entry.kind;
  }
  get version(): string {
    return this.resolved.definition.version;
  }
  get options(): unknown {
    return this.resolved.options;
  }

  /** Actual listening ports reported by the plugin (empty when it has none or is not started). */
  endpoints(): Record<string, number> {
    if (this.state !== 'started') return {};
    try {
      return this.instance?.endpoints?.() ?? {};
    } catch {
      return {};
    }
  }

  /** True when started and its own ready() (if any) says so. */
  ready(): boolean {
    if (this.state !== 'started') return false;
    try {
      return this.instance?.ready?.() ?? true;
    } catch {
      return false;
    }
  }
}

/** What runs: the storage plugin (none = built-in memory stores) and the others in start order. */
export interface ResolvedPlan {
  storage?: ResolvedPlugin;
  others: ResolvedPlugin[];
}

/**
 * Runs plugins through their lifecycle: storage setup → start → stores registered → the other
 * plugins set up, then started, in plan order. Stops them in reverse within a deadline each,
 * then flushes and closes the stores.
 */
export class PluginHost {
  /** Every plugin, storage first, in start order. */
  readonly plugins: RunningPlugin[] = [];
  private readonly stores: StoreSlot = {};
  private readonly logger: Logger;
  private stopping?: Promise<void>;

  constructor(
    private readonly services: KernelServices,
    private readonly memoryStores: () => { logStore: LogStore; metaStore: MetaStore },
  ) {
    this.logger = services.logger;
  }

  get logStore(): LogStore | undefined {
    return this.stores.logStore;
  }
  get metaStore(): MetaStore | undefined {
    return this.stores.metaStore;
  }

  /** Starts everything in the plan; on any refusal stops what started and throws a {@link StartupError}. */
  async start(plan: ResolvedPlan, shutdownDeadlineMs: number): Promise<void> {
    try {
      await this.startStorage(plan.storage);
      const others = plan.others.map((r) => this.add(r));
      for (const p of others) await this.setup(p);
      for (const p of others) await this.startOne(p);
    } catch (err) {
      await this.stop(shutdownDeadlineMs);
      throw err;
    }
  }

  private async startStorage(storage: ResolvedPlugin | undefined): Promise<void> {
    if (storage) {
      const p = this.add(storage);
      await this.setup(p);
      await this.startOne(p);
      if (!this.stores.logStore || !this.stores.metaStore) {
        throw new StartupError(
          pluginRefusal(
            p.name,
            'provideStorage',
            'the storage plugin started without providing its stores',
            `call ctx.provideStorage({ logStore, metaStore }) in setup or start of ${p.name}, or set storage to another plugin or memory`,
          ),
        );
      }
    } else {
      const stores = this.memoryStores();
      this.stores.logStore = stores.logStore;
      this.stores.metaStore = stores.metaStore;
    }
    registerValue(this.services.container, Tokens.LogStore, this.stores.logStore);
    registerValue(this.services.container, Tokens.MetaStore, this.stores.metaStore);
  }

  private add(resolved: ResolvedPlugin): RunningPlugin {
    const p = new RunningPlugin(resolved, this.services);
    this.plugins.push(p);
    return p;
  }

  private async setup(p: RunningPlugin): Promise<void> {
    const ctx = createPluginContext({
      name: p.name,
      kind: p.kind,
      options: p.options,
      services: this.services,
      hooks: p.hooks,
      container: p.container,
      stores: this.stores,
      onProvideStorage: (provided) => {
        this.stores.logStore = provided.logStore;
        this.stores.metaStore = provided.metaStore;
      },
    });
    try {
      p.instance = (await p.resolved.definition.setup(ctx)) ?? {};
      p.state = 'set-up';
    } catch (err) {
      p.state = 'failed';
      throw this.refusal(p, 'setup', err);
    }
  }

  private async startOne(p: RunningPlugin): Promise<void> {
    try {
      await p.instance?.start?.();
      p.state = 'started';
    } catch (err) {
      p.state = 'failed';
      throw this.refusal(p, 'start', err);
    }
  }

  /** Turns whatever a plugin threw into the one-line refusal. */
  private refusal(p: RunningPlugin, phase: 'setup' | 'start', err: unknown): StartupError {
    if (isStartupError(err)) return err;
    const prefix = p.resolved.envPrefix;
    const disable = `plugins.${p.name}.enabled: false${prefix ? ` (or ROBUSTMQ_${prefix}_ENABLED=false)` : ''}`;
    if (isPluginStartError(err)) {
      const option = err.field.replace(/^options\./, '');
      const qualified = `plugins.${p.name}.options.${option}`;
      const env = prefix && /^[A-Za-z0-9]+$/.test(option) ? pluginEnvVar(prefix, option) : undefined;
      const where = `${qualified}${env ? ` (or ${env})` : ''}`;
      const field = new RegExp(`(?<![\\w.])${escapeRegExp(err.field)}(?![\\w])`);
      const fix = field.test(err.fix) ? err.fix.replace(field, where) : `${err.fix} (${where})`;
      return new StartupError(pluginRefusal(p.name, `options.${option}`, err.problem, fix));
    }
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return new StartupError(
      pluginRefusal(
        p.name,
        phase,
        `${phase} failed: ${message}`,
        `check plugins.${p.name}.options and the log above, or disable it with ${disable}`,
      ),
    );
  }

  /** Plugins that are started but not ready (for /ready). */
  notReady(): string[] {
    return this.plugins.filter((p) => p.state === 'started' && !p.ready()).map((p) => p.name);
  }

  /**
   * Stops started plugins in reverse order, each within `deadlineMs`, removes their hooks, then
   * flushes and closes the stores and finally stops the storage plugin. Safe to call twice.
   */
  stop(deadlineMs: number): Promise<void> {
    this.stopping ??= this.stopAll(deadlineMs);
    return this.stopping;
  }

  private async stopAll(deadlineMs: number): Promise<void> {
    const storage = this.plugins.find((p) => p.kind === 'storage');
    for (const p of [...this.plugins].reverse()) {
      if (p !== storage) await this.stopOne(p, deadlineMs);
    }
    for (const [what, store] of [
      ['log store', this.stores.logStore],
      ['meta store', this.stores.metaStore],
    ] as const) {
      if (!store) continue;
      const r = await runWithin(deadlineMs, async () => {
        await store.flush();
        await store.close();
      });
      if (r.outcome === 'failed') this.logger.error({ err: r.error }, `${what}: flush/close failed`);
      if (r.outcome === 'timeout') this.logger.warn(`${what}: flush/close did not finish within ${deadlineMs} ms`);
    }
    if (storage) await this.stopOne(storage, deadlineMs);
  }

  private async stopOne(p: RunningPlugin, deadlineMs: number): Promise<void> {
    p.hooks.unregisterAll();
    // A plugin whose start failed may have opened part of what it starts: let it clean up too.
    if (p.state !== 'started' && !(p.state === 'failed' && p.instance)) return;
    const stop = p.instance?.stop?.bind(p.instance);
    const r = stop ? await runWithin(deadlineMs, (signal) => stop(deadlineMs, signal)) : { outcome: 'done' as const };
    if (r.outcome === 'failed') this.logger.error({ plugin: p.name, err: r.error }, `${p.name}: stop failed`);
    if (r.outcome === 'timeout')
      this.logger.warn({ plugin: p.name }, `${p.name}: stop did not finish within ${deadlineMs} ms; moving on`);
    p.state = 'stopped';
  }
}

function isPluginStartError(err: unknown): err is PluginStartError {
  if (err instanceof PluginStartError) return true;
  const e = err as Partial<PluginStartError> | null;
  return (
    err instanceof Error &&
    e?.name === 'PluginStartError' &&
    typeof e.field === 'string' &&
    typeof e.problem === 'string' &&
    typeof e.fix === 'string'
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
