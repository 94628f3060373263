import { join, resolve as resolvePath } from 'node:path';
import {
  type HookBus,
  type LogStore,
  type Logger,
  type MetaStore,
  type PluginInstance,
  type Router,
  systemClock,
  Tokens,
} from '@robustmq/sdk';
import { pino } from 'pino';
import { AdminServer, type PluginStatus } from './admin/index.js';
import type { Config } from './config/schema.js';
import { createRootContainer, type DependencyContainer } from './container.js';
import { FilterLoadError, type InstalledFilters, installFilters } from './filters/index.js';
import { KernelHookBus } from './hooks/index.js';
import { StartupError } from './loader/errors.js';
import { PluginHost } from './loader/host.js';
import { type PrepareOptions, prepare } from './loader/prepare.js';
import { MemoryLogStore, MemoryMetaStore } from './memory/index.js';
import { PromMetrics } from './metrics.js';
import { TopicRouter } from './router/index.js';
import { KERNEL_VERSION } from './version.js';

/** How to start a broker. Configuration precedence: defaults < file < `config` < env. */
export interface StartOptions {
  /** YAML or JSON config file. */
  configPath?: string;
  /** Raw config object merged over the file. */
  config?: unknown;
  /** Environment for ROBUSTMQ_* overrides; default `process.env` (pass `{}` in tests). */
  env?: Record<string, string | undefined>;
  /** Plugin registry; default the repository's registry.json. */
  registryPath?: string;
  /** Logger to use instead of a new pino logger at the configured level. */
  logger?: Logger;
}

/** A running broker. */
export interface Broker {
  readonly config: Config;
  readonly logger: Logger;
  readonly router: Router;
  readonly hooks: HookBus;
  readonly metrics: PromMetrics;
  readonly logStore: LogStore;
  readonly metaStore: MetaStore;
  /** The root DI container (plugins get children of it). */
  readonly container: DependencyContainer;
  /** Bound admin HTTP port, undefined when admin is disabled. */
  readonly adminPort?: number;
  /** Ports a running plugin listens on, e.g. `{ tcp: 1883 }`. Throws for a plugin that is not running. */
  endpoints(plugin: string): Record<string, number>;
  /** A running plugin's instance. */
  plugin(name: string): PluginInstance | undefined;
  /** Every plugin with its state, readiness and endpoints (as /api/plugins shows them). */
  plugins(): PluginStatus[];
  /** Graceful shutdown: plugins in reverse within the deadline each, then stores flushed and closed. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a broker: config, registry, plugin checks, kernel services, admin HTTP, storage, then the
 * other plugins. Any refusal is a {@link StartupError} whose lines name the plugin or field and the fix.
 */
export async function startBroker(options: StartOptions = {}): Promise<Broker> {
  const prepareOptions: PrepareOptions = {
    configPath: options.configPath,
    config: options.config,
    env: options.env,
    registryPath: options.registryPath,
  };
  const { config, plan, loaded, registry } = await prepare(prepareOptions);
  // Synchronous stdout: no log line is lost when the process exits right after shutdown.
  const logger: Logger =
    options.logger ??
    (pino({ name: 'robustmq', level: config.log.level }, pino.destination({ dest: 1, sync: true })) as unknown as Logger);
  for (const w of loaded.warnings) logger.warn(w);

  const metrics = new PromMetrics();
  const hooks = new KernelHookBus({
    logger: logger.child({ component: 'hooks' }),
    metrics,
    deadlineMs: config.hooks.deadlineMs,
    filterFailure: config.hooks.filterFailure,
  });
  const router = new TopicRouter({ queueLimit: config.router.queueLimit, dropPolicy: config.router.dropPolicy, hooks, metrics });
  const container = createRootContainer([
    [Tokens.Logger, logger],
    [Tokens.Config, config],
    [Tokens.Router, router],
    [Tokens.Hooks, hooks],
    [Tokens.Metrics, metrics],
    [Tokens.Clock, systemClock],
  ]);
  const host = new PluginHost(
    {
      logger,
      hooks,
      router,
      metrics,
      clock: systemClock,
      broker: { version: KERNEL_VERSION, dataDir: resolvePath(config.dataDir), host: config.host },
      container,
    },
    () => ({ logStore: new MemoryLogStore(), metaStore: new MemoryMetaStore() }),
  );

  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  const statuses = (): PluginStatus[] =>
    host.plugins.map((p) => ({
      name: p.name,
      kind: p.kind,
      version: p.version,
      state: p.state,
      ready: p.ready(),
      endpoints: p.endpoints(),
    }));

  // Admin first: a busy admin port is refused before any plugin opens a socket.
  const admin = config.admin.enabled
    ? await AdminServer.start(
        {
          notReady: () => (phase === 'running' ? host.notReady() : undefined),
          plugins: statuses,
          metrics,
          metricsContentType: metrics.registry.contentType,
          logger: logger.child({ component: 'admin' }),
        },
        config.admin.host,
        config.admin.port,
      )
    : undefined;

  let filters: InstalledFilters | undefined;
  try {
    // Filters first: no message may reach the router before its rule filters are in place.
    filters = await loadFilters(config, { hooks, logger, metrics, registryPath: registry.path });
    await host.start(plan, config.shutdown.deadlineMs);
  } catch (err) {
    await filters?.stop();
    await admin?.close();
    throw err;
  }
  phase = 'running';

  if (!plan.storage) logger.info('storage memory (built-in) up: not durable');
  for (const p of host.plugins) logger.info({ plugin: p.name, version: p.version }, upLine(p.name, p.version, p.endpoints()));
  if (admin) logger.info({ port: admin.port }, `admin up: http :${admin.port} on ${config.admin.host}`);
  logger.info({ version: KERNEL_VERSION }, `robustmq ${KERNEL_VERSION} started with ${host.plugins.length} plugin(s)`);

  let stopping: Promise<void> | undefined;
  const running = (name: string) => host.plugins.find((p) => p.name === name && p.state === 'started');
  return {
    config,
    logger,
    router,
    hooks,
    metrics,
    logStore: host.logStore!,
    metaStore: host.metaStore!,
    container,
    adminPort: admin?.port,
    endpoints(name) {
      const p = running(name);
      if (!p) throw new Error(`plugin ${name} is not running (running: ${host.plugins.map((x) => x.name).join(', ') || 'none'})`);
      return p.endpoints();
    },
    plugin: (name) => running(name)?.instance,
    plugins: statuses,
    stop() {
      stopping ??= (async () => {
        phase = 'stopping';
        logger.info('stopping');
        await host.stop(config.shutdown.deadlineMs);
        await filters?.stop();
        await admin?.close();
        logger.info('robustmq stopped');
      })();
      return stopping;
    },
  };
}

/** Installs `config.filters`; a filter that cannot load refuses the start like a plugin would. */
async function loadFilters(
  config: Config,
  deps: { hooks: HookBus; logger: Logger; metrics: PromMetrics; registryPath: string },
): Promise<InstalledFilters> {
  try {
    return await installFilters(config.filters, {
      ...deps,
      logger: deps.logger.child({ component: 'filters' }),
      cacheDir: join(resolvePath(config.dataDir), 'filter-cache'),
    });
  } catch (err) {
    if (err instanceof FilterLoadError) throw new StartupError(err.message.split('\n'));
    throw err;
  }
}

/** `protocol-mqtt 0.1.0 up: tcp :1883, ws :8083` */
function upLine(name: string, version: string, endpoints: Record<string, number>): string {
  const list = Object.entries(endpoints).map(([k, port]) => `${k} :${port}`);
  return `${name} ${version} up${list.length ? `: ${list.join(', ')}` : ''}`;
}
