/**
 * `@robustmq/kernel/testing`: start a broker for a test with only the plugins it names.
 * The registry turns several protocols on by default, each on its fixed well-known port; a test
 * that started them all would collide with every other test running in parallel.
 */
import { type Broker, type StartOptions, startBroker } from './broker.js';
import { readRegistry } from './loader/registry.js';

type PluginSections = Record<string, { enabled?: boolean; options?: Record<string, unknown> }>;

/** Test-friendly defaults: memory storage, no admin HTTP, silent logs, no ROBUSTMQ_* env. */
export interface TestBrokerOptions extends Omit<StartOptions, 'config'> {
  /** Raw config; `plugins` lists the only plugins that run (besides the selected storage). */
  config?: Record<string, unknown> & { plugins?: PluginSections };
}

/**
 * Starts a broker in which every registry-default plugin the config does not mention is disabled,
 * so a test gets exactly the listeners it asked for (give them `port: 0`).
 */
export async function startTestBroker(options: TestBrokerOptions = {}): Promise<Broker> {
  const config = options.config ?? {};
  const plugins: PluginSections = { ...(config.plugins ?? {}) };
  const registry = await readRegistry(options.registryPath);
  const storage = typeof config.storage === 'string' ? config.storage : 'memory';
  for (const entry of registry.entries) {
    if (entry.default && entry.kind !== 'storage' && !(entry.name in plugins)) plugins[entry.name] = { enabled: false };
  }
  return startBroker({
    env: {},
    ...options,
    config: {
      admin: { enabled: false },
      log: { level: 'silent' },
      ...config,
      storage,
      plugins,
    },
  });
}
