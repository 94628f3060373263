import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type FilterVerdict, type HookBus, isPromise, type Logger, type Message, type Metrics } from '@robustmq/sdk';
import { BatchingFilter } from './batching-filter.js';
import { InThreadRunner } from './inthread-runner.js';
import { guestLevel, LogLimiter } from './log-limit.js';
import { MemoryBudgetError, pagesFor } from './memory-limit.js';
import { counterFor, type FilterMetrics, filterMetrics } from './metrics.js';
import { loadNativeFilter } from './native.js';
import { readRegistryFilters, resolveWasm } from './registry-check.js';
import type { FilterRunner } from './runner.js';
import type { WasmModule } from './wasm-api.js';
import { type FilterEntry, type FilterEntryInput, filterEntrySchema } from './schema.js';
import { topicMatcher } from './topic-match.js';
import { compileCoreModules, sha256Hex, transpileCached } from './transpile-cache.js';
import { WorkerRunner } from './worker-runner.js';

/** What {@link installFilters} needs from the broker. */
export interface InstallFiltersDeps {
  hooks: HookBus;
  logger: Logger;
  metrics: Metrics;
  /** registry.json whose `filter` entries pin the sha256 of wasm artifacts. */
  registryPath: string;
  /** Where transpiled components are cached, keyed by content hash. */
  cacheDir: string;
}

/** Installed filters; `stop` unregisters their hooks and stops their workers. */
export interface InstalledFilters {
  stop(): Promise<void>;
}

/** A refusal to load a filter: one line naming the filter, the problem and the fix. */
export class FilterLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterLoadError';
  }
}

interface Loaded {
  name: string;
  handler: (message: Message) => FilterVerdict | Promise<FilterVerdict>;
  /** Deadline given to the hook bus: above our own watchdog, so our failure policy applies first. */
  deadlineMs: number;
  stop(): Promise<void>;
}

/**
 * Loads every filter entry (a WebAssembly component or a TypeScript module) and registers it as
 * a `filter` hook, in list order, for the topics of its entry. All or nothing: when one entry
 * cannot load, the ones already loaded are stopped and a {@link FilterLoadError} lists why.
 */
export async function installFilters(entries: readonly FilterEntryInput[], deps: InstallFiltersDeps): Promise<InstalledFilters> {
  const parsed = entries.map((e) => filterEntrySchema.parse(e));
  if (parsed.length === 0) return { stop: async () => {} };
  const metrics = filterMetrics(deps.metrics);
  const registry = parsed.some((e) => e.wasm) ? await readRegistryFilters(deps.registryPath) : [];
  const loaded: Loaded[] = [];
  try {
    for (const entry of parsed) {
      loaded.push(
        entry.wasm ? await loadWasm(entry, entry.wasm, registry, deps, metrics) : await loadNative(entry, deps, metrics),
      );
    }
  } catch (err) {
    await Promise.allSettled(loaded.map((l) => l.stop()));
    throw err;
  }
  const unregister = loaded.map((l, i) => {
    const matches = topicMatcher(parsed[i].topics);
    const handler = l.handler;
    const scoped = (message: Message) => (matches(message.topic) ? handler(message) : PASS);
    deps.logger.info({ filter: l.name, topics: parsed[i].topics }, `filter ${l.name} installed`);
    return deps.hooks.register('filter', scoped, { owner: `filter:${l.name}`, deadlineMs: l.deadlineMs });
  });
  return {
    async stop() {
      for (const u of unregister) u();
      await Promise.allSettled(loaded.map((l) => l.stop()));
    },
  };
}

const PASS: FilterVerdict = { verdict: 'pass' };

async function loadWasm(
  entry: FilterEntry,
  wasm: string,
  registry: Awaited<ReturnType<typeof readRegistryFilters>>,
  deps: InstallFiltersDeps,
  metrics: FilterMetrics,
): Promise<Loaded> {
  const target = resolveWasm(wasm, registry);
  const name = entry.name ?? target.name;
  const refuse = (problem: string, fix: string) => new FilterLoadError(`filter ${target.path}: ${problem}; fix: ${fix}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(target.path);
  } catch (err) {
    throw refuse(
      `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'build the filter or correct its wasm path',
    );
  }
  const actual = sha256Hex(bytes);
  const expected = target.expected ?? entry.sha256;
  if (expected === undefined) {
    throw refuse(
      `not listed in ${deps.registryPath} and no sha256 in its filter entry (it has sha256 ${actual})`,
      'add a registry.json entry of kind filter with its sha256, or set sha256 in the filter entry',
    );
  }
  if (actual !== expected) {
    throw refuse(
      `sha256 mismatch: expected ${expected} (${target.expected ? target.source : 'filter entry'}), actual ${actual}`,
      'rebuild the filter or update the pinned sha256',
    );
  }
  if (target.expected && entry.sha256 && entry.sha256 !== target.expected) {
    throw refuse(
      `sha256 in the filter entry (${entry.sha256}) differs from registry.json (${target.expected})`,
      'keep one of them',
    );
  }
  let modules: Record<string, WasmModule>;
  let modulePath: string;
  try {
    const t0 = performance.now();
    const transpiled = await transpileCached(bytes, actual, deps.cacheDir);
    // In the broker's thread, fuel metering is what stops a runaway filter; a worker is terminated instead.
    modules = await compileCoreModules(transpiled, pagesFor(entry.memoryBudgetMb), { fuel: entry.isolation !== 'worker' });
    modulePath = transpiled.modulePath;
    deps.logger.debug(
      { filter: name, cached: transpiled.cached, ms: Math.round(performance.now() - t0) },
      `filter ${name} ${transpiled.cached ? 'loaded from cache' : 'transpiled'}`,
    );
  } catch (err) {
    if (err instanceof MemoryBudgetError) throw refuse(err.message, 'raise memoryBudgetMb');
    throw refuse(
      `not a loadable component: ${(err as Error).message}`,
      'rebuild it against sdk/wit/filter.wit (world robustmq:filter/filter)',
    );
  }
  const limiter = new LogLimiter(deps.logger);
  const hostLog = (level: string, message: string) =>
    limiter.log(guestLevel(level), { filter: name, source: 'guest' }, `filter ${name}: ${message}`);
  const common = {
    name,
    hostLog,
    modulePath,
    modules,
    grants: entry.grants,
    config: entry.config,
    memoryBudgetBytes: pagesFor(entry.memoryBudgetMb) * 65536,
  };
  let runner: FilterRunner;
  try {
    const onRestart = () => metrics.restarts.inc({ filter: name });
    runner =
      entry.isolation !== 'worker'
        ? await InThreadRunner.start({ ...common, timeBudgetMs: entry.timeBudgetMs, onRestart })
        : await WorkerRunner.start({ ...common, timeBudgetMs: entry.timeBudgetMs, logger: deps.logger, onRestart });
  } catch (err) {
    throw refuse(
      `cannot start: ${err instanceof Error ? err.message : String(err)}`,
      'check the filter config string and its grants',
    );
  }
  const batching = new BatchingFilter({
    name,
    runner,
    failurePolicy: entry.failurePolicy,
    batchSize: entry.batchSize,
    batchDelayMs: entry.batchDelayMs,
    maxPending: entry.maxPending,
    synchronous: entry.isolation === 'in-thread',
    log: limiter,
    metrics,
  });
  return {
    name,
    handler: (m) => batching.handle(m),
    // Queueing behind a full pending list plus one restart must still end in our own verdict.
    deadlineMs: entry.timeBudgetMs * 2 + entry.batchDelayMs + 5_000,
    stop: () => batching.stop(),
  };
}

async function loadNative(entry: FilterEntry, deps: InstallFiltersDeps, metrics: FilterMetrics): Promise<Loaded> {
  const path = entry.module!;
  const name = entry.name ?? basename(path).replace(/\.[mc]?[jt]s$/, '');
  let filter: Awaited<ReturnType<typeof loadNativeFilter>>;
  try {
    filter = await loadNativeFilter(path);
    await filter.configure?.(entry.config);
  } catch (err) {
    throw new FilterLoadError(`filter ${path}: cannot load: ${(err as Error).message}; fix: check the module and its config`);
  }
  const labels = { filter: name };
  const counters = {
    pass: counterFor(metrics.messages, { filter: name, verdict: 'pass' }),
    drop: counterFor(metrics.messages, { filter: name, verdict: 'drop' }),
    transform: counterFor(metrics.messages, { filter: name, verdict: 'transform' }),
  };
  const count = (v: FilterVerdict): FilterVerdict => {
    counters[v.verdict]?.(1);
    return v;
  };
  const onError = (err: unknown): FilterVerdict => {
    metrics.failures.inc({ ...labels, kind: 'trap' });
    metrics.messages.inc({ ...labels, verdict: 'failed' });
    deps.logger.warn(
      { filter: name, err },
      `filter ${name} threw: ${(err as Error)?.message ?? String(err)}; failurePolicy ${entry.failurePolicy}`,
    );
    return entry.failurePolicy === 'drop' ? { verdict: 'drop', reason: `${name} failed (trap)` } : PASS;
  };
  return {
    name,
    handler: (m) => {
      try {
        const v = filter.filter(m);
        return isPromise(v) ? v.then(count, onError) : count(v);
      } catch (err) {
        return onError(err);
      }
    },
    deadlineMs: entry.timeBudgetMs,
    stop: async () => {},
  };
}
