/**
 * Router benchmark: 100k subscriptions of realistic shapes, match and publish latency per message
 * (median and p99, each operation timed on its own with process.hrtime.bigint), with and without
 * share groups, subscribe/unsubscribe rate and heap per 100k subscriptions. Aedes' matcher
 * (qlobber's QlobberSub, what aedes-persistence uses to find a topic's subscribers) runs on the
 * same filters and topics as a peer column.
 *
 * Run: `node --import tsx bench/router.ts` (prints the section and writes bench/results/router.md),
 * or through `npm run bench -- router`.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createMessage, type Delivery, type Message, type Subscriber } from '@robustmq/sdk';
import { TopicRouter } from '../kernel/src/router/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const COMMAND = 'node --import tsx bench/router.ts';

const DEVICES = 25_000;
const CLIENTS = 10_000;
const CATCH_ALL = 10;
const WARMUP = 20_000;
const SAMPLES = 200_000;
const ROUNDS = 20;

/** Minimal view of qlobber's QlobberSub (CommonJS, untyped). */
interface QlobberSubLike {
  add(topic: string, val: { clientId: string; topic: string; qos: number }): void;
  remove(topic: string, val: { clientId: string; topic: string }): void;
  match(topic: string): unknown[];
}
type QlobberSubCtor = new (options: { wildcard_one: string; wildcard_some: string; separator: string }) => QlobberSubLike;

interface Sub {
  client: string;
  filter: string;
}

/** Deterministic PRNG so every run measures the same topics. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 100k subscriptions: per device a one-level wildcard, a subtree, an exact sensor topic and an
 * exact fleet status topic (minus a few), plus a handful of `#` catch-alls (monitoring clients).
 * With `shared`, the `devices/{id}/+/temp` subscriptions become `$share/workers/…` groups of four.
 */
function subscriptions(shared: boolean): Sub[] {
  const subs: Sub[] = [];
  const client = (i: number) => `client-${i % CLIENTS}`;
  for (let d = 0; d < DEVICES; d++) {
    if (shared) {
      // Groups of 4 members over the first quarter of the devices: still 25k subscriptions.
      const device = Math.floor(d / 4);
      subs.push({ client: client(d), filter: `$share/workers/devices/${device}/+/temp` });
    } else {
      subs.push({ client: client(d), filter: `devices/${d}/+/temp` });
    }
    subs.push({ client: client(d + 1), filter: `devices/${d}/#` });
    subs.push({ client: client(d + 2), filter: `devices/${d}/sensors/humidity` });
    if (d < DEVICES - CATCH_ALL) subs.push({ client: client(d + 3), filter: `fleet/eu/${d}/status` });
  }
  for (let i = 0; i < CATCH_ALL; i++) subs.push({ client: `monitor-${i}`, filter: '#' });
  return subs;
}

/** Publish topics: mostly device telemetry, some fleet status, some with no device subscriber. */
function topics(count: number, shared: boolean): string[] {
  const rnd = mulberry32(42);
  const out: string[] = [];
  const deviceRange = shared ? DEVICES / 4 : DEVICES;
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const d = Math.floor(rnd() * deviceRange);
    if (r < 0.5) out.push(`devices/${d}/sensors/temp`);
    else if (r < 0.7) out.push(`devices/${d}/sensors/humidity`);
    else if (r < 0.9) out.push(`fleet/eu/${d}/status`);
    else out.push(`other/${d}/x`);
  }
  return out;
}

const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface Stats {
  median: number;
  p99: number;
  mean: number;
}

function stats(samples: Float64Array): Stats {
  samples.sort();
  let sum = 0;
  for (const s of samples) sum += s;
  return {
    median: samples[Math.floor(samples.length / 2)],
    p99: samples[Math.floor(samples.length * 0.99)],
    mean: sum / samples.length,
  };
}

/**
 * Times each contender's `op(i)` one call at a time (ns, hrtime read cost included). Contenders
 * take turns in rounds so that load from other processes on this shared machine hits them alike.
 */
function timeInterleaved(contenders: Record<string, (i: number) => void>): Record<string, Stats> {
  const names = Object.keys(contenders);
  const perRound = SAMPLES / ROUNDS;
  const samples = Object.fromEntries(names.map((n) => [n, new Float64Array(SAMPLES)]));
  for (const name of names) for (let i = 0; i < WARMUP; i++) contenders[name](i);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order too, so no contender always runs right after a GC-heavy one.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const op = contenders[name];
      const out = samples[name];
      const base = round * perRound;
      for (let k = 0; k < perRound; k++) {
        const i = base + k;
        const t0 = process.hrtime.bigint();
        op(i);
        out[i] = Number(process.hrtime.bigint() - t0);
      }
    }
  }
  return Object.fromEntries(names.map((n) => [n, stats(samples[n])]));
}

/** Seconds `fn` takes. */
function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** A matcher under test: a way to fill it, empty it and query it. */
interface Contender {
  subscribe(): void;
  unsubscribe(): void;
  size(): number;
}

function routerContender(
  shared: boolean,
): Contender & { router: TopicRouter; messages: Message[]; topics: string[]; delivered: () => number } {
  const subs = subscriptions(shared);
  const topicList = topics(10_000, shared);
  const messages = topicList.map((topic) =>
    createMessage({ topic, payload: Buffer.from('21.5'), origin: { protocol: 'mqtt', clientId: 'publisher' } }),
  );
  let deliveries = 0;
  const router = new TopicRouter();
  // Attached once, before any measurement: the heap figure is the subscription index alone.
  for (const id of new Set(subs.map((s) => s.client))) {
    const subscriber: Subscriber = {
      id,
      deliver: (_d: Delivery) => {
        deliveries++;
        return true;
      },
    };
    router.attach(subscriber);
  }
  return {
    router,
    messages,
    topics: topicList,
    delivered: () => deliveries,
    subscribe: () => {
      for (const s of subs) router.subscribe(s.client, s.filter, { qos: 1 });
    },
    unsubscribe: () => {
      for (const s of subs) router.unsubscribe(s.client, s.filter);
    },
    size: () => router.size,
  };
}

function qlobberContender(QlobberSub: QlobberSubCtor): Contender & { trie: () => QlobberSubLike; topics: string[] } {
  const subs = subscriptions(false);
  let trie = new QlobberSub({ wildcard_one: '+', wildcard_some: '#', separator: '/' });
  let count = 0;
  return {
    trie: () => trie,
    topics: topics(10_000, false),
    subscribe: () => {
      trie = new QlobberSub({ wildcard_one: '+', wildcard_some: '#', separator: '/' });
      for (const s of subs) trie.add(s.filter, { clientId: s.client, topic: s.filter, qos: 1 });
      count = subs.length;
    },
    unsubscribe: () => {
      for (const s of subs) trie.remove(s.filter, { clientId: s.client, topic: s.filter });
      count = 0;
    },
    size: () => count,
  };
}

interface BuildCost {
  subscribeRate: number;
  unsubscribeRate: number;
  heapBytes: number;
}

/**
 * Fills and empties each contender twice in alternation (best rate kept), then fills it once more
 * measuring the heap it holds, and leaves it filled for the latency runs.
 */
function buildCosts(contenders: Record<string, Contender>, total: Record<string, number>): Record<string, BuildCost> {
  const out: Record<string, BuildCost> = {};
  for (const name of Object.keys(contenders)) out[name] = { subscribeRate: 0, unsubscribeRate: 0, heapBytes: 0 };
  for (let rep = 0; rep < 2; rep++) {
    for (const [name, c] of Object.entries(contenders)) {
      heapAfterGc();
      const sub = total[name] / seconds(() => c.subscribe());
      if (c.size() !== total[name]) throw new Error(`${name} holds ${c.size()} subscriptions, expected ${total[name]}`);
      const unsub = total[name] / seconds(() => c.unsubscribe());
      if (c.size() !== 0) throw new Error(`${name} still holds ${c.size()} subscriptions`);
      out[name].subscribeRate = Math.max(out[name].subscribeRate, sub);
      out[name].unsubscribeRate = Math.max(out[name].unsubscribeRate, unsub);
    }
  }
  for (const [name, c] of Object.entries(contenders)) {
    const before = heapAfterGc();
    c.subscribe();
    out[name].heapBytes = heapAfterGc() - before;
  }
  return out;
}

/** The cost of the timing itself: two hrtime reads around nothing. */
function timerFloor(): number {
  return timeInterleaved({ empty: () => {} }).empty.median;
}

const ns = (v: number) => `${Math.round(v).toLocaleString('en-US')}`;
const perSec = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
const mib = (v: number) => `${(v / 1024 / 1024).toFixed(1)} MiB`;
const ratio = (peer: number, ours: number) => `${(peer / ours).toFixed(2)}×`;

/** Runs the benchmark, writes bench/results/router.md and returns its markdown section. */
export async function main(): Promise<string> {
  const loadBefore = os.loadavg()[0];
  const floor = timerFloor();
  const QlobberSub = loadQlobberSub();
  const plain = routerContender(false);
  const shared = routerContender(true);
  const peer = QlobberSub === undefined ? undefined : qlobberContender(QlobberSub);
  const total = subscriptions(false).length;
  const contenders: Record<string, Contender> = peer === undefined ? { plain, shared } : { plain, shared, peer };
  const build = buildCosts(contenders, { plain: total, shared: subscriptions(true).length, peer: total });

  // Fan-out per publish, counted once outside the timed runs.
  const perPublish = (c: ReturnType<typeof routerContender>) =>
    c.messages.reduce((sum, m) => sum + c.router.publish(m).matched, 0) / c.messages.length;
  const plainFanOut = perPublish(plain);
  const sharedFanOut = perPublish(shared);
  const peerFanOut =
    peer === undefined ? 0 : peer.topics.reduce((sum, t) => sum + peer.trie().match(t).length, 0) / peer.topics.length;

  const n = plain.topics.length;
  const ops: Record<string, (i: number) => void> = {
    plainMatch: (i) => plain.router.match(plain.topics[i % n]),
    plainPublish: (i) => plain.router.publish(plain.messages[i % n]),
    sharedMatch: (i) => shared.router.match(shared.topics[i % n]),
    sharedPublish: (i) => shared.router.publish(shared.messages[i % n]),
  };
  if (peer !== undefined) ops.peerMatch = (i) => peer.trie().match(peer.topics[i % n]);
  const t = timeInterleaved(ops);
  const loadAfter = os.loadavg()[0];

  const has = peer !== undefined;
  const peerCell = (f: () => string) => (has ? f() : 'not installed');
  const timeRatio = (name: string, key: keyof Stats) => (has ? ratio(t.peerMatch[key], t[name][key]) : '–');
  const b = build;
  const lines = [
    '## router',
    '',
    `Command: \`${COMMAND}\` — ${new Date().toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ` +
      `Node ${process.version}, load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} (the machine is shared: read ratios, not absolutes).`,
    '',
    `${total.toLocaleString('en-US')} subscriptions from ${CLIENTS.toLocaleString('en-US')} clients: per device \`devices/{id}/+/temp\`, ` +
      `\`devices/{id}/#\`, \`devices/{id}/sensors/humidity\`, \`fleet/eu/{id}/status\` (${DEVICES.toLocaleString('en-US')} devices), ` +
      `plus ${CATCH_ALL} \`#\`. Publishes cycle through 10,000 seeded topics (50% \`devices/{id}/sensors/temp\`, 20% ` +
      `\`…/humidity\`, 20% fleet status, 10% matched by \`#\` only). Each operation is timed alone with \`process.hrtime.bigint\` ` +
      `(the timer itself costs ~${ns(floor)} ns, included) after ${WARMUP.toLocaleString('en-US')} warm-up calls; ` +
      `${SAMPLES.toLocaleString('en-US')} samples per row, the rows taking turns in ${ROUNDS} rounds so background load hits them alike. ` +
      `"Shared" replaces the 25k \`devices/{id}/+/temp\` subscriptions with \`$share/workers/devices/{id}/+/temp\` groups of ` +
      `four members (same subscription count). The peer is qlobber ${qlobberVersion()} \`QlobberSub\` with MQTT wildcards, the ` +
      `index aedes-persistence uses to find a topic's subscribers; it returns one entry per matching (filter, client), with ` +
      `no per-client merge and no share groups. Ratio = peer ÷ RobustMQ for times and memory, RobustMQ ÷ peer for rates: ` +
      `above 1× means RobustMQ is better.`,
    '',
    '| measure | RobustMQ TopicRouter | qlobber QlobberSub (aedes) | ratio |',
    '|---|---:|---:|---:|',
    `| match, median ns/op | ${ns(t.plainMatch.median)} | ${peerCell(() => ns(t.peerMatch.median))} | ${timeRatio('plainMatch', 'median')} |`,
    `| match, p99 ns/op | ${ns(t.plainMatch.p99)} | ${peerCell(() => ns(t.peerMatch.p99))} | ${timeRatio('plainMatch', 'p99')} |`,
    `| match, mean ns/op | ${ns(t.plainMatch.mean)} | ${peerCell(() => ns(t.peerMatch.mean))} | ${timeRatio('plainMatch', 'mean')} |`,
    `| publish to live subscribers, median / p99 ns/op | ${ns(t.plainPublish.median)} / ${ns(t.plainPublish.p99)} | – | – |`,
    `| deliveries (RobustMQ) / entries (qlobber) per publish | ${plainFanOut.toFixed(2)} | ${peerCell(() => peerFanOut.toFixed(2))} | – |`,
    `| shared: match, median / p99 ns/op | ${ns(t.sharedMatch.median)} / ${ns(t.sharedMatch.p99)} | n/a | – |`,
    `| shared: publish, median / p99 ns/op | ${ns(t.sharedPublish.median)} / ${ns(t.sharedPublish.p99)} | n/a | – |`,
    `| shared: deliveries per publish | ${sharedFanOut.toFixed(2)} | n/a | – |`,
    `| subscribe ${total.toLocaleString('en-US')} (best of 2) | ${perSec(b.plain.subscribeRate)} | ${peerCell(() => perSec(b.peer.subscribeRate))} | ${has ? ratio(b.plain.subscribeRate, b.peer.subscribeRate) : '–'} |`,
    `| unsubscribe ${total.toLocaleString('en-US')} (best of 2) | ${perSec(b.plain.unsubscribeRate)} | ${peerCell(() => perSec(b.peer.unsubscribeRate))} | ${has ? ratio(b.plain.unsubscribeRate, b.peer.unsubscribeRate) : '–'} |`,
    `| heapUsed delta for ${total.toLocaleString('en-US')} subscriptions | ${mib(b.plain.heapBytes)} | ${peerCell(() => mib(b.peer.heapBytes))} | ${has ? ratio(b.peer.heapBytes, b.plain.heapBytes) : '–'} |`,
    `| shared: subscribe / unsubscribe / heap | ${perSec(b.shared.subscribeRate)} / ${perSec(b.shared.unsubscribeRate)} / ${mib(b.shared.heapBytes)} | n/a | – |`,
    '',
    'RobustMQ `match` returns `Delivery` objects merged per subscriber (the work `publish` does before handing them out); ' +
      "`publish` adds the calls to each subscriber's `deliver` (a counter here) and, for share groups, the round robin. " +
      'Subscribers are attached before the heap baseline, so the heap figure is the subscription index (trie, per-subscription ' +
      'records, per-subscriber filter maps). RobustMQ subscribe rates include filter validation.',
    '',
  ];
  const section = lines.join('\n');
  await writeFile(path.join(here, 'results', 'router.md'), section);
  return section;
}

function loadQlobberSub(): QlobberSubCtor | undefined {
  try {
    const require = createRequire(import.meta.url);
    return require('qlobber/aedes/qlobber-sub') as QlobberSubCtor;
  } catch {
    return undefined;
  }
}

function qlobberVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('qlobber/package.json') as { version: string }).version;
  } catch {
    return '(not installed)';
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.stdout.write(`${await main()}\n`);
}
