import type {
  BrokerInfo,
  Clock,
  HookBus,
  LogStore,
  Logger,
  MetaStore,
  Metrics,
  PluginContext,
  PluginKind,
  Router,
  Token,
} from '@robustmq/sdk';
import { type DependencyContainer, registerValue, resolveValue } from '../container.js';
import type { ScopedHookBus } from './scoped-hooks.js';

/** The kernel services every plugin context is built from. */
export interface KernelServices {
  logger: Logger;
  hooks: HookBus;
  router: Router;
  metrics: Metrics;
  clock: Clock;
  broker: BrokerInfo;
  /** The broker's root container; each plugin gets a child of it. */
  container: DependencyContainer;
}

/** The active stores, filled in once storage is up. */
export interface StoreSlot {
  logStore?: LogStore;
  metaStore?: MetaStore;
}

/** Builds the {@link PluginContext} one plugin receives at setup. */
export function createPluginContext(args: {
  name: string;
  kind: PluginKind;
  options: unknown;
  services: KernelServices;
  hooks: ScopedHookBus;
  container: DependencyContainer;
  stores: StoreSlot;
  onProvideStorage(stores: { logStore: LogStore; metaStore: MetaStore }): void;
}): PluginContext {
  const { name, kind, services, stores } = args;
  const unavailable = (what: string) =>
    new Error(
      kind === 'storage'
        ? `${what}() is not available to the storage plugin ${name}: it provides the stores`
        : `${what}() is not available yet to ${name}: storage is not up`,
    );
  return {
    name,
    options: args.options,
    logger: services.logger.child({ plugin: name }),
    hooks: args.hooks,
    router: services.router,
    metrics: services.metrics,
    clock: services.clock,
    broker: services.broker,
    logStore() {
      if (!stores.logStore || kind === 'storage') throw unavailable('logStore');
      return stores.logStore;
    },
    metaStore() {
      if (!stores.metaStore || kind === 'storage') throw unavailable('metaStore');
      return stores.metaStore;
    },
    resolve<T>(token: Token): T {
      return resolveValue<T>(args.container, token);
    },
    register<T>(token: Token, value: T): void {
      registerValue(args.container, token, value);
    },
    provideStorage(provided) {
      if (kind !== 'storage') throw new Error(`provideStorage() is only for storage plugins; ${name} is a ${kind} plugin`);
      if (!provided?.logStore || !provided?.metaStore) throw new Error('provideStorage() needs both logStore and metaStore');
      args.onProvideStorage(provided);
    },
  };
}
