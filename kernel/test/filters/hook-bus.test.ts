// WASM and TypeScript rule filters against the kernel hook bus: verdicts, conversions, the
// sandbox (trap, infinite loop, memory, file access), registry pinning, batching and isolation modes.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FilterOutcome } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FilterEntryInput, FilterLoadError, installFilters } from '../../src/filters/index.js';
import { KernelHookBus } from '../../src/hooks/index.js';
import { PromMetrics } from '../../src/metrics.js';
import { type Built, committedBuilds } from './build.js';
import { captureLogger, msg, writeRegistry } from './helpers.js';

let tmp: string;
let builds: Record<string, Built>;
let registryPath: string;
let cacheDir: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'robustmq-filters-'));
  builds = await committedBuilds();
  registryPath = await writeRegistry(tmp, Object.values(builds));
  cacheDir = join(tmp, 'cache');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh bus with the given filters installed; `stop` undoes it. */
async function setup(entries: FilterEntryInput[]) {
  const logger = captureLogger();
  const metrics = new PromMetrics();
  const hooks = new KernelHookBus({ logger, metrics });
  // A generous time budget unless a test sets one: the shared test machines can be very loaded.
  const withBudget = entries.map((e) => ({ timeBudgetMs: 5_000, ...e }));
  const installed = await installFilters(withBudget, { hooks, logger, metrics, registryPath, cacheDir });
  const metric = async (name: string, labels: string) => {
    const line = (await metrics.render()).split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  return { hooks, logger, metrics, metric, stop: () => installed.stop() };
}

const payloadOf = (o: FilterOutcome) => (o.verdict === 'pass' ? o.message.payload.toString() : undefined);

describe('wasm filters on the hook bus', () => {
  it('passes, drops and transforms with the example filters', async () => {
    const f = await setup([
      { wasm: 'drop-debug', topics: ['logs/#'], config: 'debug,trace' },
      { wasm: 'route-by-field', topics: ['in/#'], config: '{"field":"site","prefix":"sites"}' },
      { wasm: 'redact', topics: ['users/#'], config: 'password,ssn' },
    ]);
    try {
      expect(await f.hooks.filter(msg('logs/app', { level: 'debug' }))).toEqual({
        verdict: 'drop',
        reason: 'drop-debug: level=debug',
      });
      expect(await f.hooks.filter(msg('logs/app', { level: 'trace' }))).toMatchObject({ verdict: 'drop' });
      const info = await f.hooks.filter(msg('logs/app', { level: 'info' }));
      expect(info).toMatchObject({ verdict: 'pass', message: { topic: 'logs/app' } });
      // Outside its topics a filter is not called at all.
      expect(await f.hooks.filter(msg('other', { level: 'debug' }))).toMatchObject({ verdict: 'pass' });

      const routed = await f.hooks.filter(msg('in/raw', { site: 'par/is', v: 1 }));
      expect(routed).toMatchObject({ verdict: 'pass', message: { topic: 'sites/par_is' } });
      expect(payloadOf(routed)).toBe('{"site":"par/is","v":1}');

      const redacted = await f.hooks.filter(msg('users/1', { name: 'a', password: 'p', nested: [{ ssn: '1' }] }));
      expect(JSON.parse(payloadOf(redacted)!)).toEqual({ name: 'a', password: '***', nested: [{ ssn: '***' }] });
      expect(await f.metric('robustmq_filter_messages_total', 'filter="drop-debug",verdict="drop"')).toBe(2);
      expect(await f.metric('robustmq_filter_messages_total', 'filter="route-by-field",verdict="transform"')).toBe(1);
    } finally {
      await f.stop();
    }
  });

  it('runs a component written in AssemblyScript like the JavaScript one, in a worker and in-thread', async () => {
    const f = await setup([
      { wasm: 'drop-debug-as', name: 'as-worker', topics: ['w/#'], config: 'debug,trace', isolation: 'worker' },
      { wasm: 'drop-debug-as', name: 'as-inline', topics: ['i/#'] },
    ]);
    try {
      expect(await f.hooks.filter(msg('w/1', { level: 'trace', x: 1 }))).toEqual({
        verdict: 'drop',
        reason: 'as-worker: level=trace',
      });
      expect(await f.hooks.filter(msg('w/1', { level: 'info' }))).toMatchObject({ verdict: 'pass' });
      expect(f.hooks.filter(msg('i/1', '{"a":1, "level" : "debug"}'))).toEqual({
        verdict: 'drop',
        reason: 'as-inline: level=debug',
      });
      expect(f.hooks.filter(msg('i/1', { level: 'trace' }))).toMatchObject({ verdict: 'pass' });
      expect(f.hooks.filter(msg('i/1', '', { payload: Buffer.from([0xff, 0x22]) }))).toMatchObject({ verdict: 'pass' });
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => f.hooks.filter(msg('w/2', { level: i % 2 ? 'debug' : 'info' }))),
      );
      expect(many.map((o) => o.verdict)).toEqual(Array.from({ length: 50 }, (_, i) => (i % 2 ? 'drop' : 'pass')));
      // The worker took them in batches, not one call per message.
      expect(await f.metric('robustmq_filter_batch_size_count', 'filter="as-worker"')).toBeLessThan(50);
    } finally {
      await f.stop();
    }
  });

  it('hands every message field to the guest and maps headers, payload and topic back', async () => {
    const f = await setup([{ wasm: 'headers', config: '!' }]);
    try {
      const m = msg('a/b', 'hi', {
        key: Buffer.from('k1'),
        headers: { 'x-text': 'hello', 'x-bytes': Buffer.from([1, 2, 3]) },
        timestamp: 1234,
      });
      const out = await f.hooks.filter(m);
      expect(out.verdict).toBe('pass');
      if (out.verdict !== 'pass') return;
      expect(out.message.topic).toBe('seen/a/b!');
      expect(JSON.parse(out.message.payload.toString())).toEqual({
        topic: 'a/b',
        payload: 'hi',
        payloadTag: 'text',
        key: 'k1',
        ts: 1234,
        protocol: 'mqtt',
        clientId: 'client-1',
        text: 'hello',
        bytesLen: 3,
      });
      expect(out.message.headers['x-text']).toBe('hello');
      expect(out.message.headers['x-filtered']).toBe('yes');
      expect(Buffer.isBuffer(out.message.headers['x-raw'])).toBe(true);
      expect([...(out.message.headers['x-raw'] as Buffer)]).toEqual([0, 255, 7]);
      expect(out.message.origin).toEqual(m.origin);
      // A payload that is not UTF-8 reaches the guest as bytes.
      const binary = await f.hooks.filter(msg('a/b', '', { payload: Buffer.from([0xff, 0xfe, 0x00]) }));
      expect(binary.verdict === 'pass' && JSON.parse(binary.message.payload.toString()).payloadTag).toBe('bytes');
    } finally {
      await f.stop();
    }
  });

  for (const isolation of ['in-thread', 'worker'] as const) {
    it(`contains a trapping filter (${isolation}): failure policy for its batch, counted, logged, next message served`, async () => {
      const f = await setup([
        { wasm: 'trap', topics: ['p/#'], failurePolicy: 'pass', isolation },
        { wasm: 'trap', name: 'trap-drop', topics: ['d/#'], failurePolicy: 'drop', isolation },
      ]);
      try {
        expect(await f.hooks.filter(msg('p/1', 'boom'))).toMatchObject({ verdict: 'pass' });
        expect(await f.hooks.filter(msg('d/1', 'boom'))).toEqual({ verdict: 'drop', reason: 'trap-drop failed (trap)' });
        expect(await f.hooks.filter(msg('d/1', 'fine'))).toMatchObject({ verdict: 'pass' });
        expect(await f.metric('robustmq_filter_failures_total', 'filter="trap",kind="trap"')).toBe(1);
        expect(await f.metric('robustmq_filter_failures_total', 'filter="trap-drop",kind="trap"')).toBe(1);
        const warn = f.logger.lines.find((l) => l.level === 'warn' && l.msg?.includes('trap-drop failed'));
        expect(warn?.msg).toMatch(/unreachable.*failurePolicy drop/);
      } finally {
        await f.stop();
      }
    });
  }

  it('fails only the message a filter throws on (error verdict), with the exception and console output logged', async () => {
    const f = await setup([{ wasm: 'throws', failurePolicy: 'drop' }]);
    try {
      const outcomes = await Promise.all([
        f.hooks.filter(msg('a', 'ok')),
        f.hooks.filter(msg('b', 'bad')),
        f.hooks.filter(msg('c', 'ok')),
      ]);
      expect(outcomes.map((o) => o.verdict)).toEqual(['pass', 'drop', 'pass']);
      expect(outcomes[1]).toEqual({ verdict: 'drop', reason: 'throws failed (error)' });
      expect(await f.metric('robustmq_filter_failures_total', 'filter="throws",kind="error"')).toBe(1);
      const failure = f.logger.lines.find((l) => l.msg?.includes('could not decide'));
      expect(failure?.msg).toContain('TypeError: cannot handle bad');
      expect(failure?.msg).toContain('on b');
      const guest = f.logger.lines.filter((l) => (l.obj as { source?: string }).source === 'guest').map((l) => l.msg);
      expect(guest).toContain('filter throws: deciding a {"n":1}');
    } finally {
      await f.stop();
    }
  });

  it('refuses to load when the filter refuses its config', async () => {
    await expect(setup([{ wasm: 'throws', config: 'refuse' }])).rejects.toThrow(/cannot start: .*config refused/);
  });

  it('stops an infinite loop in a worker with the watchdog, the broker thread free meanwhile', async () => {
    const f = await setup([{ wasm: 'loop', failurePolicy: 'drop', timeBudgetMs: 1000, isolation: 'worker' }]);
    try {
      const t0 = performance.now();
      const looping = f.hooks.filter(msg('t', 'loop'));
      // Other work on the broker's thread goes on while the filter spins in its worker.
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      expect(await looping).toEqual({ verdict: 'drop', reason: 'loop failed (timeout)' });
      clearInterval(timer);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(ticks).toBeGreaterThan(3);
      expect(await f.hooks.filter(msg('t', 'fine'))).toMatchObject({ verdict: 'pass' });
      expect(await f.metric('robustmq_filter_failures_total', 'kind="timeout"')).toBe(1);
      expect(await f.metric('robustmq_filter_restarts_total', 'filter="loop"')).toBe(1);
    } finally {
      await f.stop();
    }
  });

  it('stops an infinite loop in-thread by fuel metering after its time budget, then serves the next message', async () => {
    const f = await setup([{ wasm: 'loop', failurePolicy: 'drop', timeBudgetMs: 200 }]);
    try {
      const t0 = performance.now();
      // Synchronous: the broker's thread is held for the budget, then the metered guest is unwound.
      expect(f.hooks.filter(msg('t', 'loop'))).toEqual({ verdict: 'drop', reason: 'loop failed (timeout)' });
      const held = performance.now() - t0;
      expect(held).toBeGreaterThanOrEqual(199);
      expect(held).toBeLessThan(2_000);
      expect(f.hooks.filter(msg('t', 'fine'))).toMatchObject({ verdict: 'pass' });
      expect(await f.metric('robustmq_filter_failures_total', 'kind="timeout"')).toBe(1);
      expect(await f.metric('robustmq_filter_restarts_total', 'filter="loop"')).toBe(1);
      const warn = f.logger.lines.find((l) => l.level === 'warn' && l.msg?.includes('loop failed'));
      expect(warn?.msg).toContain('exceeded its time budget of 200 ms');
    } finally {
      await f.stop();
    }
  });

  for (const isolation of ['in-thread', 'worker'] as const) {
    it(`caps guest memory at memoryBudgetMb (${isolation})`, async () => {
      const f = await setup([{ wasm: 'memory-hog', memoryBudgetMb: 24, failurePolicy: 'drop', isolation }]);
      try {
        expect(await f.hooks.filter(msg('t', 'hog'))).toEqual({ verdict: 'drop', reason: 'memory-hog failed (memory)' });
        expect(await f.hooks.filter(msg('t', 'fine'))).toMatchObject({ verdict: 'pass' });
        expect(await f.metric('robustmq_filter_failures_total', 'kind="memory"')).toBe(1);
      } finally {
        await f.stop();
      }
    });
  }

  it('a message too large for an in-thread filter memory budget gets the failure policy as a memory failure', async () => {
    const f = await setup([{ wasm: 'drop-debug-as', memoryBudgetMb: 1, failurePolicy: 'drop' }]);
    try {
      const huge = msg('t', { level: 'info', pad: 'x'.repeat(2 * 1024 * 1024) });
      expect(f.hooks.filter(huge)).toEqual({ verdict: 'drop', reason: 'drop-debug-as failed (memory)' });
      expect(f.hooks.filter(msg('t', { level: 'debug' }))).toMatchObject({
        verdict: 'drop',
        reason: 'drop-debug-as: level=debug',
      });
      expect(f.hooks.filter(msg('t', { level: 'info' }))).toMatchObject({ verdict: 'pass' });
      expect(await f.metric('robustmq_filter_failures_total', 'kind="memory"')).toBe(1);
    } finally {
      await f.stop();
    }
  });

  it('refuses a component whose initial memory is above the budget', async () => {
    await expect(setup([{ wasm: 'drop-debug', memoryBudgetMb: 0.1 }])).rejects.toThrow(
      /above memoryBudgetMb.*fix: raise memoryBudgetMb/,
    );
  });

  it('denies file access unless the entry grants a directory', async () => {
    const dir = join(tmp, 'granted');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'secret.txt'), 'top-secret');
    const f = await setup([
      { wasm: 'read-file', name: 'denied', topics: ['denied'], config: 'secret.txt', failurePolicy: 'pass' },
      { wasm: 'read-file', name: 'granted', topics: ['granted'], config: 'secret.txt', grants: { preopens: { '/data': dir } } },
    ]);
    try {
      const denied = await f.hooks.filter(msg('denied', 'x'));
      expect(denied).toMatchObject({ verdict: 'pass' });
      expect(await f.metric('robustmq_filter_failures_total', 'filter="denied",kind="denied"')).toBe(1);
      const line = f.logger.lines.find((l) => l.msg?.includes('denied failed'));
      expect(line?.msg).toContain('capability wasi:filesystem/preopens not granted');
      // The same component reads the file once the directory is granted: the denial was the sandbox.

      expect(await f.hooks.filter(msg('granted', 'x'))).toEqual({ verdict: 'drop', reason: 'granted: read top-secret' });
    } finally {
      await f.stop();
    }
  });

  it('batches concurrent messages into one call and keeps verdicts in order', async () => {
    const f = await setup([{ wasm: 'drop-debug', batchSize: 32, isolation: 'worker' }]);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, (_, i) => f.hooks.filter(msg('t', { level: i % 2 ? 'debug' : 'info', i }))),
      );
      outcomes.forEach((o, i) => {
        expect(o.verdict).toBe(i % 2 ? 'drop' : 'pass');
        if (o.verdict === 'pass') expect(JSON.parse(o.message.payload.toString()).i).toBe(i);
      });
      const text = await f.metrics.render();
      const count = Number(/robustmq_filter_batch_size_count\{filter="drop-debug"\} (\d+)/.exec(text)?.[1]);
      expect(count).toBeGreaterThanOrEqual(4);
      expect(count).toBeLessThan(100);
    } finally {
      await f.stop();
    }
  });

  it('gives messages beyond maxPending the failure policy at once (overload)', async () => {
    const f = await setup([{ wasm: 'drop-debug', maxPending: 4, failurePolicy: 'drop', isolation: 'worker' }]);
    try {
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => f.hooks.filter(msg('t', { level: 'info' }))));
      const verdicts = outcomes.map((o) => (o.verdict === 'drop' ? o.reason : 'pass'));
      expect(verdicts.slice(0, 4)).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(verdicts.slice(4)).toEqual(Array(6).fill('drop-debug failed (overload)'));
      expect(await f.metric('robustmq_filter_failures_total', 'kind="overload"')).toBe(6);
    } finally {
      await f.stop();
    }
  });

  it('runs in-thread synchronously by default, and replaces a trapped instance before the next call', async () => {
    const f = await setup([
      { wasm: 'drop-debug', topics: ['t'] },
      { wasm: 'trap', topics: ['t'] },
      { wasm: 'drop-debug-as', name: 'batched', isolation: 'in-thread-batched', topics: ['b/#'] },
    ]);
    try {
      const out = f.hooks.filter(msg('t', { level: 'debug' }));
      expect(out).toEqual({ verdict: 'drop', reason: 'drop-debug: level=debug' });
      expect(f.hooks.filter(msg('t', 'boom'))).toMatchObject({ verdict: 'pass' });
      expect(await f.metric('robustmq_filter_failures_total', 'filter="trap",kind="trap"')).toBe(1);
      expect(f.hooks.filter(msg('t', 'fine'))).toMatchObject({ verdict: 'pass' });
      expect(await f.metric('robustmq_filter_restarts_total', 'filter="trap"')).toBe(1);
      // in-thread-batched answers with a promise, one call per event-loop turn.
      const batched = Array.from({ length: 20 }, (_, i) => f.hooks.filter(msg('b/1', { level: i % 2 ? 'debug' : 'info' })));
      expect((await Promise.all(batched)).map((o) => o.verdict)).toEqual(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? 'drop' : 'pass')),
      );
      expect(await f.metric('robustmq_filter_batch_size_count', 'filter="batched"')).toBe(1);
    } finally {
      await f.stop();
    }
  });
});

describe('registry pinning', () => {
  it('refuses a sha256 mismatch with one line naming the file, expected and actual hash', async () => {
    const wrong = 'f'.repeat(64);
    const reg = await writeRegistry(await mkdtemp(join(tmp, 'reg-')), [builds['drop-debug']], { 'drop-debug': wrong });
    const logger = captureLogger();
    const metrics = new PromMetrics();
    const hooks = new KernelHookBus({ logger, metrics });
    const err = await installFilters([{ wasm: builds['drop-debug'].path }], {
      hooks,
      logger,
      metrics,
      registryPath: reg,
      cacheDir,
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(FilterLoadError);
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain(builds['drop-debug'].path);
    expect(message).toContain(`expected ${wrong}`);
    expect(message).toContain(`actual ${builds['drop-debug'].sha256}`);
    expect(hooks.has('filter')).toBe(false);
  });

  it('refuses an unpinned file, and accepts a sha256 given in the entry', async () => {
    const reg = await writeRegistry(await mkdtemp(join(tmp, 'reg-')), []);
    const logger = captureLogger();
    const metrics = new PromMetrics();
    const hooks = new KernelHookBus({ logger, metrics });
    const deps = { hooks, logger, metrics, registryPath: reg, cacheDir };
    const b = builds['drop-debug'];
    await expect(installFilters([{ wasm: b.path }], deps)).rejects.toThrow(/not listed in .* and no sha256/);
    const ok = await installFilters([{ wasm: b.path, sha256: b.sha256 }], deps);
    expect(await hooks.filter(msg('t', { level: 'debug' }))).toMatchObject({ verdict: 'drop' });
    await ok.stop();
    expect(hooks.has('filter')).toBe(false);
  });

  it('checks the repository registry against the committed example builds', async () => {
    const logger = captureLogger();
    const metrics = new PromMetrics();
    const hooks = new KernelHookBus({ logger, metrics });
    const repoRegistry = join(import.meta.dirname, '../../../registry.json');
    const installed = await installFilters(
      [{ wasm: 'filter-drop-debug' }, { wasm: 'filter-route-by-field' }, { wasm: 'filter-redact' }],
      { hooks, logger, metrics, registryPath: repoRegistry, cacheDir },
    );
    expect(await hooks.filter(msg('t', { level: 'debug' }))).toMatchObject({ verdict: 'drop' });
    await installed.stop();
  });
});

describe('TypeScript-native filters', () => {
  it('run through the same hook with topics, config and failure policy', async () => {
    const mod = join(tmp, 'native-filter.mjs');
    await writeFile(
      mod,
      `let word = '';
export function configure(config) { word = config; }
export function filter(message) {
  const text = message.payload.toString();
  if (text === 'throw') throw new Error('native boom');
  if (text.includes(word)) return { verdict: 'drop', reason: 'has ' + word };
  return { verdict: 'transform', message: { ...message, topic: 'native/' + message.topic } };
}
`,
    );
    const f = await setup([{ module: mod, topics: ['n/#'], config: 'secret', failurePolicy: 'drop' }]);
    try {
      expect(await f.hooks.filter(msg('n/1', 'a secret'))).toEqual({ verdict: 'drop', reason: 'has secret' });
      expect(await f.hooks.filter(msg('n/1', 'hello'))).toMatchObject({ verdict: 'pass', message: { topic: 'native/n/1' } });
      expect(await f.hooks.filter(msg('x', 'a secret'))).toMatchObject({ verdict: 'pass', message: { topic: 'x' } });
      expect(await f.hooks.filter(msg('n/1', 'throw'))).toEqual({ verdict: 'drop', reason: 'native-filter failed (trap)' });
      expect(await f.metric('robustmq_filter_messages_total', 'filter="native-filter",verdict="drop"')).toBe(1);
    } finally {
      await f.stop();
    }
  });

  it('refuses an entry with both or neither of wasm and module', async () => {
    const f = setup([{ wasm: 'x', module: 'y' }]);
    await expect(f).rejects.toThrow(/exactly one of wasm/);
  });
});
