/**
 * Rule filter benchmark: messages/s through the broker's publish pipeline (sdk publishMessage:
 * filter hooks → router → a subscriber) with no filter, the TypeScript-native filter, and the
 * WASM filter in a worker (batched) and in the broker's thread — 100 B and 4 KiB JSON payloads.
 * The load is what a protocol plugin produces under load: bursts of publishes per event-loop turn
 * (one TCP read holds many PUBLISH packets), many in flight.
 *
 *   node --import tsx bench/filters.ts      (prints the section and writes bench/results/filters.md)
 *
 * Environment: BENCH_FILTERS_WINDOW_MS (default 3000) measurement window per row.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessage, publishMessage } from '@robustmq/sdk';
import { type Broker, startBroker } from '../kernel/src/broker.js';
import { type FilterEntryInput, installFilters } from '../kernel/src/filters/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const WINDOW_MS = Number(process.env.BENCH_FILTERS_WINDOW_MS ?? 3000);
const WARMUP_MS = 500;
/** Publishes issued per event-loop turn, and the most in flight at once. */
const BURST = 64;
const MAX_IN_FLIGHT = 4096;

/** The same rule in TypeScript as the drop-debug example filter. */
const NATIVE_FILTER = `
const levels = new Set(['debug']);
export function filter(message) {
  let level;
  try { level = JSON.parse(message.payload.toString('utf8')).level; } catch {}
  return typeof level === 'string' && levels.has(level) ? { verdict: 'drop', reason: 'level=' + level } : { verdict: 'pass' };
}
`;

interface Variant {
  label: string;
  entries: (tmp: string) => FilterEntryInput[];
}

const VARIANTS: Variant[] = [
  { label: 'no filter', entries: () => [] },
  { label: 'TypeScript filter', entries: (tmp) => [{ module: path.join(tmp, 'native.mjs') }] },
  { label: 'WASM filter, worker, batch ≤ 64', entries: () => [{ wasm: 'filter-drop-debug', batchSize: 64 }] },
  {
    label: 'WASM filter, worker, batch ≤ 256',
    entries: () => [{ wasm: 'filter-drop-debug', batchSize: 256, maxPending: 20_000 }],
  },
  { label: 'WASM filter, in-thread (no watchdog)', entries: () => [{ wasm: 'filter-drop-debug', isolation: 'in-thread' }] },
];

function payloadOf(size: number, i: number): Buffer {
  const base = { level: i % 10 === 0 ? 'debug' : 'info', device: `d${i % 100}`, v: i, pad: '' };
  const bare = Buffer.byteLength(JSON.stringify(base));
  base.pad = 'x'.repeat(Math.max(0, size - bare));
  return Buffer.from(JSON.stringify(base));
}

/** Runs the load for `ms` and returns messages/s completed and the mean batch the filter saw. */
async function drive(broker: Broker, size: number, ms: number): Promise<{ rate: number; routed: number; dropped: number }> {
  const payloads = Array.from({ length: 100 }, (_, i) => payloadOf(size, i));
  let inFlight = 0;
  let done = 0;
  let routed = 0;
  let dropped = 0;
  let i = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  const settle = (o: { verdict: string }) => {
    inFlight--;
    done++;
    if (o.verdict === 'routed') routed++;
    else dropped++;
  };
  while (performance.now() < end) {
    for (let b = 0; b < BURST && inFlight < MAX_IN_FLIGHT; b++) {
      const msg = createMessage({
        topic: `bench/${i % 8}`,
        payload: payloads[i % 100],
        origin: { protocol: 'mqtt', clientId: 'bench' },
      });
      i++;
      inFlight++;
      const out = publishMessage(broker.hooks, broker.router, msg);
      if (out instanceof Promise) out.then(settle);
      else settle(out);
    }
    await new Promise((r) => setImmediate(r));
  }
  while (inFlight > 0) await new Promise((r) => setImmediate(r));
  return { rate: done / ((performance.now() - t0) / 1000), routed, dropped };
}

async function meanBatch(broker: Broker): Promise<string> {
  const text = await broker.metrics.render();
  const sum = Number(/robustmq_filter_batch_size_sum\{[^}]*\} ([\d.e+]+)/.exec(text)?.[1]);
  const count = Number(/robustmq_filter_batch_size_count\{[^}]*\} ([\d.e+]+)/.exec(text)?.[1]);
  return count ? (sum / count).toFixed(0) : '–';
}

export async function main(): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'robustmq-bench-filters-'));
  await writeFile(path.join(tmp, 'native.mjs'), NATIVE_FILTER);
  const rows: string[] = [];
  const results: Record<string, Record<number, number>> = {};
  try {
    for (const size of [100, 4096]) {
      for (const v of VARIANTS) {
        const broker = await startBroker({
          env: {},
          registryPath: path.join(ROOT, 'registry.json'),
          config: {
            storage: 'memory',
            admin: { enabled: false },
            log: { level: 'silent' },
            plugins: { 'protocol-mqtt': { enabled: false } },
          },
        });
        let delivered = 0;
        broker.router.attach({ id: 'bench-sub', deliver: () => (delivered++, true) });
        broker.router.subscribe('bench-sub', 'bench/#');
        const filters = await installFilters(v.entries(tmp), {
          hooks: broker.hooks,
          logger: broker.logger,
          metrics: broker.metrics,
          registryPath: path.join(ROOT, 'registry.json'),
          cacheDir: path.join(tmp, 'cache'),
        });
        try {
          await drive(broker, size, WARMUP_MS);
          const r = await drive(broker, size, WINDOW_MS);
          results[v.label] ??= {};
          results[v.label][size] = r.rate;
          const none = results['no filter']?.[size] ?? r.rate;
          const cost = v.label === 'no filter' ? '–' : `${Math.round((1 - r.rate / none) * 100)} %`;
          const line = `| ${v.label} | ${size === 100 ? '100 B' : '4 KiB'} | ${Math.round(r.rate).toLocaleString('en')} | ${cost} | ${v.label.startsWith('WASM') ? await meanBatch(broker) : '–'} |`;
          process.stdout.write(`${line}\n`);
          rows.push(line);
          if (delivered < r.routed) throw new Error(`subscriber got ${delivered} of ${r.routed} routed messages`);
        } finally {
          await filters.stop();
          await broker.stop();
        }
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const section = [
    '## Rule filters',
    '',
    `Command: \`node --import tsx bench/filters.ts\` — ${new Date().toISOString()}, ${os.cpus().length} cores, Node ${process.version}.`,
    `Publish pipeline in one process (filter hooks → router → one subscriber), bursts of ${BURST} publishes per`,
    `event-loop turn, at most ${MAX_IN_FLIGHT} in flight, ${WINDOW_MS} ms per row after ${WARMUP_MS} ms warm-up. Payloads are JSON,`,
    '10 % with level=debug (dropped by the filter). The WASM filter is examples/filters/drop-debug (QuickJS component);',
    'the TypeScript filter applies the same rule. Cost = throughput lost against no filter.',
    '',
    '| filter | payload | msgs/s | cost | mean batch |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  return section;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const section = await main();
  await writeFile(path.join(here, 'results/filters.md'), `${section}\n`);
  process.stdout.write(`\n${section}\n`);
}
