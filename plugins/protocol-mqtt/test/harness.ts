import type { MetaStore, PluginContext, PluginInstance } from '@robustmq/sdk';
import { systemClock } from '@robustmq/sdk';
import { pino } from 'pino';
import { KernelHookBus, MemoryLogStore, MemoryMetaStore, PromMetrics, TopicRouter } from '@robustmq/kernel';
import plugin, { type MqttOptions, mqttOptionsSchema } from '../src/index.js';

/** The plugin alone on kernel parts built here, over MetaStore data that can outlive it (a "restart"). */
export interface PluginHarness {
  instance: PluginInstance;
  port: number;
  metaStore: MemoryMetaStore;
  hooks: KernelHookBus;
  router: TopicRouter;
  metrics: PromMetrics;
  stop(): Promise<void>;
}

/** Starts the plugin; pass the same `metaData` map again to restart over the same MetaStore. */
export async function startPlugin(
  options: Partial<MqttOptions> = {},
  metaData: Map<string, Buffer> = new Map(),
  /** Wraps the MetaStore the plugin sees (to slow it down, for example). */
  wrapMeta: (store: MetaStore) => MetaStore = (store) => store,
): Promise<PluginHarness> {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const metrics = new PromMetrics();
  const hooks = new KernelHookBus({ logger, metrics });
  const router = new TopicRouter({ hooks, metrics });
  const metaStore = new MemoryMetaStore({ data: metaData });
  const logStore = new MemoryLogStore();
  const seenMeta = wrapMeta(metaStore);
  const values = new Map<unknown, unknown>();
  const ctx: PluginContext<MqttOptions> = {
    name: 'protocol-mqtt',
    options: mqttOptionsSchema.parse({ port: 0, host: '127.0.0.1', sysInterval: 0, ...options }),
    logger,
    hooks,
    router,
    metrics,
    clock: systemClock,
    broker: { version: 'test', dataDir: '/nonexistent', host: '127.0.0.1' },
    logStore: () => logStore,
    metaStore: () => seenMeta,
    resolve: <T>(token: unknown) => values.get(token) as T,
    register: (token, value) => void values.set(token, value),
    provideStorage: () => {
      throw new Error('not a storage plugin');
    },
  };
  const instance = (await plugin.setup(ctx)) as PluginInstance;
  await instance.start?.();
  const port = instance.endpoints?.().tcp as number;
  return {
    instance,
    port,
    metaStore,
    hooks,
    router,
    metrics,
    stop: async () => {
      await instance.stop?.(5000, new AbortController().signal);
    },
  };
}
