/**
 * @robustmq/kernel: the microkernel. Start a broker with {@link startBroker}; the pieces are exported
 * for tests and embedding.
 */
export { AdminServer, type AdminSource, type PluginStatus } from './admin/index.js';
export { type Broker, type StartOptions, startBroker } from './broker.js';
export * from './config/index.js';
export { createRootContainer, type DependencyContainer, registerValue, resolveValue } from './container.js';
export { KernelHookBus, type KernelHookBusOptions } from './hooks/index.js';
export * from './loader/index.js';
export { MemoryLogStore, MemoryMetaStore } from './memory/index.js';
export { PromMetrics, type PromMetricsOptions } from './metrics.js';
export { TopicRouter, type TopicRouterOptions } from './router/index.js';
export { KERNEL_VERSION } from './version.js';
export { startTestBroker, type TestBrokerOptions } from './testing.js';
