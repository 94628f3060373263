/**
 * MQTT benchmark: RobustMQ (its CLI, own process) against Aedes 1.x and Mosquitto, one broker at a
 * time on a free port, driven by the same load generator in separate worker processes
 * (bench/peers/mqtt-load-worker.ts, hand-encoded MQTT 3.1.1 so the generator stays cheap).
 *
 *   node --import tsx bench/mqtt.ts          (prints the markdown section and writes bench/results/mqtt.md)
 *
 * Environment: BENCH_MQTT_WINDOW_MS (default 5000) measurement window per row,
 * BENCH_MQTT_PEERS (comma list of robustmq, aedes, mosquitto) to run a subset,
 * BENCH_MQTT_ROWS (comma list of row id prefixes, e.g. `fan-in,idle-mem` or `fan-in-q1-4096`; row ids
 * are `fan-in|fan-out-q<qos>-<bytes>`, `lat-q<qos>`, `idle-mem`) to run some rows only; such a partial
 * run prints its table but leaves bench/results/mqtt.md alone.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AEDES_STACK_KB,
  cpuMillis,
  LoadWorker,
  mosquittoBinary,
  type Peer,
  ROBUSTMQ_CLI,
  rssBytes,
  sleep,
  startAedes,
  startMosquitto,
  startRobustMQ,
} from './peers/launch.js';
import type { Job } from './peers/mqtt-load-worker.js';

const WINDOW_MS = Number(process.env.BENCH_MQTT_WINDOW_MS ?? 5000);
const ROWS = process.env.BENCH_MQTT_ROWS?.split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const rowWanted = (ids: string[]) => !ROWS || ids.some((id) => ROWS.some((prefix) => id.startsWith(prefix)));
const WARMUP_MS = 1000;
const IDLE_CONNECTIONS = 10_000;
const LATENCY_RATE = 1000;
/** A worker busier than this share of one core during a window may have limited the figure. */
const GENERATOR_BUSY = 0.85;

type PeerName = 'RobustMQ' | 'Aedes' | 'Mosquitto';
const PEERS: Array<{ key: string; name: PeerName; start: () => Promise<Peer> }> = [
  { key: 'robustmq', name: 'RobustMQ', start: startRobustMQ },
  { key: 'aedes', name: 'Aedes', start: startAedes },
  { key: 'mosquitto', name: 'Mosquitto', start: startMosquitto },
];

interface Scenario {
  id: string;
  label: string;
  unit: string;
  /** true when a bigger figure is better (throughput), false for latency and memory. */
  higherIsBetter: boolean;
}

/** One measured figure, with the CPU picture of the window it came from. */
interface Figure {
  value: number;
  /** Throughput rows: share of the published messages (times the fan-out) that reached subscribers. */
  deliveredShare?: number;
  brokerCpu?: number;
  generatorCpu?: number;
  note?: string;
}

const THROUGHPUT: Array<{ shape: 'fan-in' | 'fan-out'; qos: 0 | 1; size: number }> = [];
for (const shape of ['fan-in', 'fan-out'] as const)
  for (const qos of [0, 1] as const) for (const size of [64, 4096]) THROUGHPUT.push({ shape, qos, size });

const sizeLabel = (n: number) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);
const SCENARIOS: Scenario[] = [
  ...THROUGHPUT.map((t) => ({
    id: `${t.shape}-q${t.qos}-${t.size}`,
    label: `${t.shape === 'fan-in' ? 'fan-in 100→1' : 'fan-out 1→100'}, QoS ${t.qos}, ${sizeLabel(t.size)}`,
    unit: 'msgs/s delivered',
    higherIsBetter: true,
  })),
  ...([0, 1] as const).flatMap((qos) => [
    { id: `lat-q${qos}-p50`, label: `latency p50, QoS ${qos}, ${LATENCY_RATE} msgs/s, 64 B`, unit: 'ms', higherIsBetter: false },
    { id: `lat-q${qos}-p99`, label: `latency p99, QoS ${qos}, ${LATENCY_RATE} msgs/s, 64 B`, unit: 'ms', higherIsBetter: false },
  ]),
  {
    id: 'idle-mem',
    label: `memory per idle connection (${IDLE_CONNECTIONS / 1000}k connections)`,
    unit: 'KiB',
    higherIsBetter: false,
  },
];

const log = (msg: string) => process.stderr.write(`[bench mqtt] ${msg}\n`);

/** Starts jobs, lets them run past the warm-up, and measures deliveries over the window. */
async function throughput(peer: Peer, workers: LoadWorker[], t: (typeof THROUGHPUT)[number], run: number): Promise<Figure> {
  const [w0, w1, w2] = workers;
  const id = `r${run}`;
  const subs: Array<[LoadWorker, Job]> = [];
  const pubs: Array<[LoadWorker, Job]> = [];
  const pub = (count: number, suffix: string, topic: string, inflight: number): Job => ({
    kind: 'publish',
    port: peer.port,
    count,
    topic,
    qos: t.qos,
    payloadSize: t.size,
    inflight,
    idPrefix: `${id}-pub${suffix}`,
  });
  const sub = (count: number, suffix: string, filter: string): Job => ({
    kind: 'subscribe',
    port: peer.port,
    count,
    filter,
    qos: t.qos,
    idPrefix: `${id}-sub${suffix}`,
  });
  if (t.shape === 'fan-in') {
    // 100 publishers on two workers, each to its own topic; one subscriber to all of them.
    subs.push([w0, sub(1, 'a', `bench/${id}/in/+`)]);
    pubs.push([w1, pub(50, 'a', `bench/${id}/in/a%i`, 10)], [w2, pub(50, 'b', `bench/${id}/in/b%i`, 10)]);
  } else {
    // One publisher; 100 subscribers on two workers.
    subs.push([w0, sub(50, 'a', `bench/${id}/out`)], [w2, sub(50, 'b', `bench/${id}/out`)]);
    pubs.push([w1, pub(1, 'a', `bench/${id}/out`, 100)]);
  }
  const all = [...subs, ...pubs];
  try {
    for (const [w, job] of subs) {
      const r = await w.request({ cmd: 'job', job }, 'ready');
      if (r.connected !== (job as { count: number }).count)
        throw new Error(`only ${r.connected} subscribers connected (${r.firstError})`);
    }
    for (const [w, job] of pubs) {
      const r = await w.request({ cmd: 'job', job }, 'ready');
      if (r.connected !== (job as { count: number }).count)
        throw new Error(`only ${r.connected} publishers connected (${r.firstError})`);
    }
    for (const [w] of pubs) w.send({ cmd: 'go' });
    await sleep(WARMUP_MS);
    const before = await Promise.all(all.map(([w]) => w.request({ cmd: 'mark' }, 'mark')));
    const cpu0 = await cpuMillis(peer.pid);
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const after = await Promise.all(all.map(([w]) => w.request({ cmd: 'mark' }, 'mark')));
    const cpu1 = await cpuMillis(peer.pid);
    const elapsed = performance.now() - t0;
    let delivered = 0;
    let published = 0;
    let generatorCpu = 0;
    let errors = 0;
    let firstError: string | undefined;
    for (let i = 0; i < all.length; i++) {
      if (all[i][1].kind === 'subscribe') delivered += after[i].received - before[i].received;
      else published += after[i].sent - before[i].sent;
      generatorCpu = Math.max(generatorCpu, (after[i].cpuMicros - before[i].cpuMicros) / 1000 / elapsed);
      errors += after[i].errors;
      firstError ??= after[i].firstError;
    }
    const fanOut = t.shape === 'fan-out' ? 100 : 1;
    return {
      value: (delivered * 1000) / elapsed,
      deliveredShare: published > 0 ? delivered / (published * fanOut) : undefined,
      brokerCpu: (cpu1 - cpu0) / elapsed,
      generatorCpu,
      note: errors > 0 ? `${errors} connection errors (first: ${firstError})` : undefined,
    };
  } finally {
    await Promise.all(workers.map((w) => w.request({ cmd: 'stop' }, 'stopped')));
  }
}

async function latency(peer: Peer, worker: LoadWorker, qos: 0 | 1): Promise<{ p50: Figure; p99: Figure }> {
  const job: Job = {
    kind: 'latency',
    port: peer.port,
    qos,
    rate: LATENCY_RATE,
    warmupMs: 500,
    durationMs: WINDOW_MS,
    idPrefix: `lat${qos}`,
  };
  try {
    await worker.request({ cmd: 'job', job }, 'ready');
    const cpu0 = await cpuMillis(peer.pid);
    const gen0 = await cpuMillis(worker.pid);
    const t0 = performance.now();
    const r = await worker.request({ cmd: 'go' }, 'latency', WINDOW_MS + 30_000);
    const elapsed = performance.now() - t0;
    const brokerCpu = ((await cpuMillis(peer.pid)) - cpu0) / elapsed;
    const generatorCpu = ((await cpuMillis(worker.pid)) - gen0) / elapsed;
    const expected = (LATENCY_RATE * WINDOW_MS) / 1000;
    const note = r.samples < expected * 0.95 ? `only ${r.samples}/${expected} samples arrived` : undefined;
    return { p50: { value: r.p50, brokerCpu, generatorCpu, note }, p99: { value: r.p99, brokerCpu, generatorCpu, note } };
  } finally {
    await worker.request({ cmd: 'stop' }, 'stopped');
  }
}

async function idleMemory(peer: Peer, workers: LoadWorker[]): Promise<Figure> {
  const half = IDLE_CONNECTIONS / 2;
  try {
    await sleep(500);
    const before = await rssBytes(peer.pid);
    const results = await Promise.all(
      workers
        .slice(0, 2)
        .map((w, i) =>
          w.request(
            { cmd: 'job', job: { kind: 'idle', port: peer.port, count: half, concurrency: 100, idPrefix: `idle${i}` } },
            'ready',
            120_000,
          ),
        ),
    );
    const connected = results.reduce((n, r) => n + r.connected, 0);
    // Let the broker finish per-connection setup and the allocator settle.
    await sleep(2000);
    const after = await rssBytes(peer.pid);
    return {
      value: (after - before) / connected / 1024,
      note: connected < IDLE_CONNECTIONS ? `only ${connected} connections accepted` : undefined,
    };
  } finally {
    await Promise.all(workers.slice(0, 2).map((w) => w.request({ cmd: 'stop' }, 'stopped', 30_000)));
  }
}

/** Waits (at most 10 s) until the broker is nearly idle, so one row's leftovers do not weigh on the next. */
async function settle(peer: Peer): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (peer.alive() && Date.now() < deadline) {
    const c0 = await cpuMillis(peer.pid);
    await sleep(250);
    if (!peer.alive() || (await cpuMillis(peer.pid)) - c0 <= 25) return;
  }
  if (peer.alive()) log(`${peer.name}: still busy 10 s after the row`);
}

/** Runs every row against one broker; a row that fails is recorded, and a crashed broker is restarted. */
async function runPeer(start: () => Promise<Peer>, workers: LoadWorker[], into: Map<string, Figure>): Promise<void> {
  let peer = await start();
  const steps: Array<{ ids: string[]; run: (p: Peer) => Promise<void> }> = [
    { ids: ['idle-mem'], run: async (p) => void into.set('idle-mem', await idleMemory(p, workers)) },
    ...THROUGHPUT.map((t, run) => {
      const id = `${t.shape}-q${t.qos}-${t.size}`;
      return { ids: [id], run: async (p: Peer) => void into.set(id, await throughput(p, workers, t, run)) };
    }),
    ...([0, 1] as const).map((qos) => ({
      ids: [`lat-q${qos}-p50`, `lat-q${qos}-p99`],
      run: async (p: Peer) => {
        const r = await latency(p, workers[0], qos);
        into.set(`lat-q${qos}-p50`, r.p50);
        into.set(`lat-q${qos}-p99`, r.p99);
      },
    })),
  ];
  try {
    for (const step of steps) {
      if (!rowWanted(step.ids)) continue;
      log(`${peer.name}: ${step.ids.join(', ')}`);
      let failure: string | undefined;
      try {
        await step.run(peer);
      } catch (err) {
        failure = (err as Error).message;
      }
      await settle(peer);
      if (!peer.alive())
        failure = `${failure ? `${failure}; ` : ''}${peer.name} crashed (${peer.output()}); restarted for the next rows`;
      if (failure) {
        log(`${peer.name}: ${failure}`);
        for (const id of step.ids) into.set(id, { value: Number.NaN, note: failure });
      }
      if (!peer.alive()) {
        await peer.stop();
        peer = await start();
      }
    }
  } finally {
    await peer.stop();
  }
}

function fmt(n: number | undefined, unit: string): string {
  if (n === undefined) return '—';
  if (Number.isNaN(n)) return 'failed';
  if (unit === 'ms') return n < 10 ? n.toFixed(2) : n.toFixed(1);
  if (unit === 'KiB') return n.toFixed(1);
  return Math.round(n).toLocaleString('en-US');
}

function ratio(a: Figure | undefined, b: Figure | undefined): string {
  if (!a || !b || !(b.value > 0) || Number.isNaN(a.value)) return '—';
  return `${(a.value / b.value).toFixed(2)}×`;
}

function render(
  results: Map<PeerName, Map<string, Figure>>,
  missing: Map<PeerName, string>,
  startedAt: Date,
  seconds: number,
  load: { start: number; end: number },
): string {
  const get = (p: PeerName, id: string) => results.get(p)?.get(id);
  /** A peer that could not run at all says so in its column header (details in the notes). */
  const head = (p: PeerName) => (missing.has(p) && !results.has(p) ? `${p} (not measured)` : p);
  const cell = (p: PeerName, s: Scenario) => {
    const f = get(p, s.id);
    if (!f) return missing.has(p) ? 'n/a' : '—';
    const busy = f.generatorCpu !== undefined && f.generatorCpu >= GENERATOR_BUSY ? ' ‡' : '';
    return `${fmt(f.value, s.unit)}${busy}${f.note ? ' †' : ''}`;
  };
  const lines = [
    '## MQTT: RobustMQ vs Aedes vs Mosquitto',
    '',
    `Command: \`node --import tsx bench/mqtt.ts\` — ${startedAt.toISOString()}, ${os.cpus().length} cores (nproc), ` +
      `${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
      `run took ${Math.round(seconds)} s; 1-minute load average ${load.start.toFixed(1)} at the start, ${load.end.toFixed(1)} at the end ` +
      '(above the core count, other processes competed for the CPU and every figure is pessimistic).',
    '',
    `Each broker runs alone in its own process on 127.0.0.1 (RobustMQ: \`${path.relative(process.cwd(), ROBUSTMQ_CLI) || ROBUSTMQ_CLI} start\` with memory ` +
      `storage; Aedes 1.x: bench/peers/aedes-server.ts with a ${AEDES_STACK_KB} KB V8 stack; Mosquitto: ${mosquittoBinary() ?? 'not installed'} with persistence off). ` +
      `The load comes from three worker processes speaking hand-encoded MQTT 3.1.1 (bench/peers/mqtt-load-worker.ts). ` +
      `Throughput: ${WARMUP_MS} ms warm-up, then messages received by the subscribers over a ${WINDOW_MS / 1000} s window ` +
      `(QoS 0 publishers write as fast as TCP drains; QoS 1 publishers keep 10 (fan-in, each) or 100 (fan-out) PUBLISHes unacknowledged). ` +
      `Latency: one publisher at a fixed ${LATENCY_RATE} msgs/s to one subscriber in the same process, send time in the payload. ` +
      `Memory: broker RSS growth after ${IDLE_CONNECTIONS.toLocaleString('en-US')} idle clean-session connections, divided by the connections.`,
    '',
    `| scenario | unit | ${head('RobustMQ')} | ${head('Aedes')} | ${head('Mosquitto')} | RobustMQ/Aedes | RobustMQ/Mosquitto |`,
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of SCENARIOS) {
    const r = get('RobustMQ', s.id);
    lines.push(
      `| ${s.label} | ${s.unit}${s.higherIsBetter ? '' : ' (lower is better)'} | ${cell('RobustMQ', s)} | ${cell('Aedes', s)} | ${cell('Mosquitto', s)} | ` +
        `${ratio(r, get('Aedes', s.id))} | ${ratio(r, get('Mosquitto', s.id))} |`,
    );
  }
  lines.push(
    '',
    'During each throughput window: broker CPU / busiest generator worker CPU (share of one core) / delivered share ' +
      '(messages received ÷ (messages published × subscribers per message); below 100% the broker dropped or still queued them; QoS 0 publishers count what they hand to TCP, so with kernel buffers full from the warm-up a window can deliver more than was written in it).',
    '',
  );
  lines.push('| scenario | RobustMQ | Aedes | Mosquitto |', '|---|---:|---:|---:|');
  for (const s of SCENARIOS.filter((x) => x.id !== 'idle-mem')) {
    const c = (p: PeerName) => {
      const f = get(p, s.id);
      if (f?.brokerCpu === undefined) return 'n/a';
      const share = f.deliveredShare === undefined ? '—' : `${Math.round(f.deliveredShare * 100)}%`;
      const generator = f.generatorCpu === undefined ? '—' : `${Math.round(f.generatorCpu * 100)}%`;
      return `${Math.round(f.brokerCpu * 100)}% / ${generator} / ${share}`;
    };
    lines.push(`| ${s.label} | ${c('RobustMQ')} | ${c('Aedes')} | ${c('Mosquitto')} |`);
  }
  lines.push('');
  const notes: string[] = [];
  for (const [p, why] of missing) notes.push(`- ${p}: not measured — ${why}.`);
  for (const [p, m] of results)
    for (const [id, f] of m) if (f.note) notes.push(`- † ${p}, ${SCENARIOS.find((s) => s.id === id)?.label}: ${f.note}.`);
  const busiest = Math.max(0, ...[...results.values()].flatMap((m) => [...m.values()].map((f) => f.generatorCpu ?? 0)));
  notes.push(
    `- Generator check: the busiest load-generator worker used at most ${Math.round(busiest * 100)}% of a core in any window ` +
      (busiest < GENERATOR_BUSY
        ? "(it batches writes and only scans packet boundaries), so the figures are the brokers' limits, not the generator's."
        : '; the rows marked ‡ may be limited by the generator.'),
  );
  notes.push(
    `- ‡ marks a figure where a generator worker used ≥ ${GENERATOR_BUSY * 100}% of a core: the generator may have limited it. ` +
      'The machine has only 2 cores, so the broker and the three workers share them; absolute figures are noisy, ratios less so.',
  );
  lines.push('Notes:', '', ...notes, '');
  return lines.join('\n');
}

/** Runs the whole comparison and returns the markdown section (also written to bench/results/mqtt.md). */
export async function main(): Promise<string> {
  const startedAt = new Date();
  const loadStart = os.loadavg()[0];
  const t0 = performance.now();
  const wanted = process.env.BENCH_MQTT_PEERS?.split(',').map((s) => s.trim().toLowerCase());
  const results = new Map<PeerName, Map<string, Figure>>();
  const missing = new Map<PeerName, string>();
  const workers = [new LoadWorker('worker-0'), new LoadWorker('worker-1'), new LoadWorker('worker-2')];
  try {
    for (const spec of PEERS) {
      if (wanted && !wanted.includes(spec.key)) {
        missing.set(spec.name, 'left out by BENCH_MQTT_PEERS');
        continue;
      }
      const figures = new Map<string, Figure>();
      try {
        await runPeer(spec.start, workers, figures);
        results.set(spec.name, figures);
      } catch (err) {
        log(`${spec.name}: ${(err as Error).message}`);
        if (figures.size > 0) results.set(spec.name, figures);
        missing.set(spec.name, (err as Error).message);
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
  const section = render(results, missing, startedAt, (performance.now() - t0) / 1000, {
    start: loadStart,
    end: os.loadavg()[0],
  });
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (!ROWS) await writeFile(path.join(here, 'results/mqtt.md'), `${section}`);
  return section;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (section) => process.stdout.write(`${section}\n`),
    (err: Error) => {
      process.stderr.write(`bench mqtt failed: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
