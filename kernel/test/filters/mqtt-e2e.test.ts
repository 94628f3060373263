// Rule filters end to end: mqtt.js clients publish through a real broker (startTestBroker, MQTT on a
// free port) whose hook bus has WASM filters installed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { startTestBroker } from '../../src/testing.js';
import { type FilterEntryInput, type InstalledFilters, installFilters } from '../../src/filters/index.js';
import { committedBuilds } from './build.js';
import { writeRegistry } from './helpers.js';

let tmp: string;
let broker: Broker;
let filters: InstalledFilters;
let sub: MqttClient;
let pub: MqttClient;
const received: Array<{ topic: string; payload: string }> = [];

async function connect(port: number): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Publishes with QoS 1, then a marker on the same topic, and returns what arrived before the marker. */
async function publishAndCollect(topic: string, payloads: string[]): Promise<Array<{ topic: string; payload: string }>> {
  received.length = 0;
  for (const p of payloads) await pub.publishAsync(topic, p, { qos: 1 });
  const marker = `marker-${Math.random()}`;
  await pub.publishAsync(topic, marker, { qos: 1 });
  const t0 = Date.now();
  while (!received.some((r) => r.payload === marker)) {
    if (Date.now() - t0 > 10_000) throw new Error(`marker on ${topic} never arrived; got ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return received.filter((r) => r.payload !== marker);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'robustmq-filters-e2e-'));
  const builds = await committedBuilds();
  const registryPath = await writeRegistry(tmp, Object.values(builds));
  broker = await startTestBroker({ config: { plugins: { 'protocol-mqtt': { options: { port: 0, sysInterval: 0 } } } } });
  const entries: FilterEntryInput[] = [
    { wasm: 'drop-debug', topics: ['logs/#'] },
    { wasm: 'route-by-field', topics: ['ingest/#'], config: '{"field":"site","prefix":"sites"}' },
    { wasm: 'redact', topics: ['users/#'] },
    { wasm: 'trap', topics: ['trap/#'], failurePolicy: 'drop' },
    { wasm: 'loop', topics: ['loop/#'], failurePolicy: 'drop', timeBudgetMs: 1000 },
    { wasm: 'loop', name: 'loop-worker', topics: ['loopw/#'], failurePolicy: 'drop', timeBudgetMs: 1000, isolation: 'worker' },
    { wasm: 'read-file', topics: ['files/#'], config: 'etc/hostname', failurePolicy: 'pass' },
  ];
  filters = await installFilters(
    // Entries without a time budget get a generous one: the shared test machines can be very loaded.
    entries.map((e) => ({ timeBudgetMs: 5_000, ...e })),
    { hooks: broker.hooks, logger: broker.logger, metrics: broker.metrics, registryPath, cacheDir: join(tmp, 'cache') },
  );
  const port = broker.endpoints('protocol-mqtt').tcp;
  sub = await connect(port);
  pub = await connect(port);
  sub.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  await sub.subscribeAsync('#', { qos: 1 });
});

afterAll(async () => {
  await Promise.all([sub?.endAsync(), pub?.endAsync()]);
  await filters?.stop();
  await broker?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('WASM filters on MQTT publishes', () => {
  it('pass and drop', async () => {
    const got = await publishAndCollect('logs/app', [
      JSON.stringify({ level: 'info', n: 1 }),
      JSON.stringify({ level: 'debug', n: 2 }),
      'not json',
    ]);
    expect(got.map((g) => g.payload)).toEqual([JSON.stringify({ level: 'info', n: 1 }), 'not json']);
  });

  it('transform: route by a JSON field and redact a field', async () => {
    received.length = 0;
    await pub.publishAsync('ingest/raw', JSON.stringify({ site: 'lyon', t: 20 }), { qos: 1 });
    await expect
      .poll(() => received.find((r) => r.topic === 'sites/lyon')?.payload, { timeout: 10_000 })
      .toBe('{"site":"lyon","t":20}');
    expect(received.some((r) => r.topic === 'ingest/raw')).toBe(false);

    const got = await publishAndCollect('users/1', [JSON.stringify({ user: 'ann', password: 'hunter2' })]);
    expect(got.map((g) => JSON.parse(g.payload))).toEqual([{ user: 'ann', password: '***' }]);
  });

  it('a trapping filter drops its message by policy and the broker keeps serving', async () => {
    const got = await publishAndCollect('trap/x', ['boom', 'fine']);
    expect(got.map((g) => g.payload)).toEqual(['fine']);
  });

  it('an infinite-loop filter (in-thread, the default) is stopped by fuel metering; the broker serves on', async () => {
    received.length = 0;
    const t0 = performance.now();
    await pub.publishAsync('loop/x', 'loop', { qos: 1 });
    // The PUBACK came once the metered guest was stopped at its 1000 ms budget.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(999);
    const got = await publishAndCollect('loop/x', ['after']);
    expect(got.map((g) => g.payload)).toEqual(['after']);
    const other = await publishAndCollect('logs/app', [JSON.stringify({ level: 'info', after: 'loop' })]);
    expect(other).toHaveLength(1);
    const text = await broker.metrics.render();
    expect(text).toMatch(/robustmq_filter_failures_total\{filter="loop",kind="timeout"\} 1/);
  });

  it('an infinite-loop filter in a worker is stopped by the watchdog; other topics are served meanwhile', async () => {
    received.length = 0;
    const looping = pub.publishAsync('loopw/x', 'loop', { qos: 1 });
    // While the filter spins in its worker, an unrelated publish goes through.
    const other = await publishAndCollect('logs/app', [JSON.stringify({ level: 'info', during: 'loop' })]);
    expect(other).toHaveLength(1);
    await looping;
    const got = await publishAndCollect('loopw/x', ['after']);
    expect(got.map((g) => g.payload)).toEqual(['after']);
    const text = await broker.metrics.render();
    expect(text).toMatch(/robustmq_filter_failures_total\{filter="loop-worker",kind="timeout"\} 1/);
  });

  it('a filter that tries to read a file is denied', async () => {
    // Had the read worked, the filter would drop the message with the file's content as reason;
    // denied, its call fails and failurePolicy pass lets the message through unchanged.
    const got = await publishAndCollect('files/x', ['anything']);
    expect(got).toEqual([{ topic: 'files/x', payload: 'anything' }]);
    const text = await broker.metrics.render();
    expect(text).toMatch(/robustmq_filter_failures_total\{filter="read-file",kind="denied"\} [1-9]/);
  });
});
