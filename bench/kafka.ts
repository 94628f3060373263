/**
 * Kafka benchmark: produce and consume throughput against RobustMQ (its CLI, own process, storage-file
 * with fsync every second) with kafkajs and with kcat, for 100-byte and 1 KiB records, acks 1 and all,
 * beside two limits measured in the same run: the storage-file append limit (the same batches
 * appended straight to a FileLogStore) and the loopback socket limit (bytes through a 127.0.0.1
 * socket into a sink process).
 *
 *   node --import tsx bench/kafka.ts     (prints the markdown section and writes bench/results/kafka.md)
 *
 * Environment: BENCH_KAFKA_WINDOW_MS (default 3000) measurement window per kafkajs produce row.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRecordBatch } from '@robustmq/sdk';
import { Kafka, logLevel } from 'kafkajs';
import { openFileStorage } from '../plugins/storage-file/src/index.js';
import { freePort, ROBUSTMQ_CLI, waitForPort, writeRobustMQConfig } from './peers/launch.js';

const WINDOW_MS = Number(process.env.BENCH_KAFKA_WINDOW_MS ?? 3000);
/** Records per kafkajs send() (one batch) and sends kept in flight. */
const BATCH = 500;
const IN_FLIGHT = 4;
const SIZES = [100, 1024];
const ACKS = [1, -1] as const;

const log = (msg: string) => process.stderr.write(`[bench kafka] ${msg}\n`);
const sizeLabel = (n: number) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

interface Figure {
  records: number;
  ms: number;
  size: number;
}
const rps = (f: Figure) => f.records / (f.ms / 1000);
const mbps = (f: Figure) => mb(f.records * f.size, f.ms);

/** RobustMQ through its CLI: Kafka only, storage-file with fsync every second. */
async function startBroker(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const config = path.join(dir, 'robustmq.yaml');
  await writeRobustMQConfig(config, {
    dataDir: path.join(dir, 'data'),
    storage: 'storage-file',
    protocol: 'protocol-kafka',
    port,
    extra: ['  storage-file: { options: { fsync: interval } }'],
  });
  const child = spawn(process.execPath, [ROBUSTMQ_CLI, 'start', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child, 'robustmq');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function kafkajsProduce(kafka: Kafka, topic: string, size: number, acks: 1 | -1): Promise<Figure> {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const messages = Array.from({ length: BATCH }, () => ({ value: Buffer.alloc(size, 120) }));
  await producer.send({ topic, acks, messages }); // warm-up (creates the topic)
  let records = 0;
  const t0 = performance.now();
  const end = t0 + WINDOW_MS;
  const lane = async () => {
    while (performance.now() < end) {
      await producer.send({ topic, acks, messages });
      records += BATCH;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const ms = performance.now() - t0;
  await producer.disconnect();
  return { records, ms, size };
}

async function kafkajsConsume(kafka: Kafka, topic: string, size: number, total: number): Promise<Figure> {
  const consumer = kafka.consumer({
    groupId: `bench-${topic}`,
    maxBytes: 16 << 20,
    maxBytesPerPartition: 8 << 20,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let records = 0;
  // From run() (group join and the first fetch included) to the last batch.
  const first = performance.now();
  let last = first;
  const done = new Promise<void>((resolve) => {
    consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        records += batch.messages.length;
        last = performance.now();
        if (records >= total) resolve();
      },
    });
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 60000))]);
  await consumer.disconnect();
  return { records, ms: Math.max(1, last - first), size };
}

function runKcat(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`kcat exited ${code}: ${err.slice(-300)}`)),
    );
  });
}

async function highWatermark(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const o = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return o.reduce((n, p) => n + Number(p.high), 0);
}

/** kcat produces a file of `count` records (one per line) with librdkafka batching. */
async function kcatProduce(
  bootstrap: string,
  dir: string,
  topic: string,
  size: number,
  acks: 1 | -1,
  count: number,
): Promise<Figure> {
  const file = path.join(dir, `lines-${size}.txt`);
  await writeFile(file, `${'y'.repeat(size)}\n`.repeat(count));
  const ms = await runKcat([
    '-b',
    bootstrap,
    '-P',
    '-t',
    topic,
    '-l',
    file,
    '-X',
    `acks=${acks === -1 ? 'all' : '1'}`,
    '-X',
    'linger.ms=5',
    '-X',
    'batch.num.messages=10000',
    '-X',
    'queue.buffering.max.messages=1000000',
  ]);
  return { records: count, ms, size };
}

async function kcatConsume(bootstrap: string, topic: string, size: number, count: number): Promise<Figure> {
  const ms = await runKcat(['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-c', String(count)]);
  return { records: count, ms, size };
}

/** The same batches appended straight to a FileLogStore (fsync every second), IN_FLIGHT appends at a time. */
async function storageLimit(dir: string, size: number): Promise<Figure> {
  const storage = await openFileStorage({ dir: path.join(dir, `limit-${size}`), fsync: 'interval' });
  try {
    const tp = { topic: 'limit', partition: 0 };
    await storage.logStore.createTopic('limit', { partitions: 1 });
    const batch = encodeRecordBatch(
      Array.from({ length: BATCH }, () => ({ value: Buffer.alloc(size, 120) })),
      { baseOffset: 0 },
    );
    await storage.logStore.appendBatch(tp, Buffer.from(batch));
    let records = 0;
    const t0 = performance.now();
    const end = t0 + WINDOW_MS;
    const lane = async () => {
      while (performance.now() < end) {
        await storage.logStore.appendBatch(tp, Buffer.from(batch));
        records += BATCH;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    return { records, ms: performance.now() - t0, size };
  } finally {
    await storage.close();
  }
}

/** Bytes per second through a loopback socket into a sink process. */
async function loopbackLimit(): Promise<number> {
  const sink = spawn(
    process.execPath,
    [
      '-e',
      "require('net').createServer((s)=>s.on('data',()=>{})).listen(0,'127.0.0.1',function(){console.log(this.address().port)})",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => sink.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const chunk = Buffer.alloc(64 * 1024, 1);
  let bytes = 0;
  const t0 = performance.now();
  const end = t0 + Math.min(WINDOW_MS, 2000);
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (performance.now() < end) {
        bytes += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      resolve();
    };
    pump();
  });
  const ms = performance.now() - t0;
  socket.destroy();
  sink.kill('SIGKILL');
  return mb(bytes, ms);
}

export async function main(): Promise<string> {
  const startedAt = new Date().toISOString();
  const load0 = os.loadavg()[0];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-kafka-'));
  const broker = await startBroker(dir);
  const bootstrap = `127.0.0.1:${broker.port}`;
  const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const rows: string[] = [];
  const limits = new Map<number, number>();
  try {
    const loopback = await loopbackLimit();
    log(`loopback ${loopback.toFixed(0)} MB/s`);
    for (const size of SIZES) {
      const limit = await storageLimit(dir, size);
      limits.set(size, mbps(limit));
      log(`storage-file limit ${sizeLabel(size)}: ${fmt(rps(limit))} records/s`);
      const row = (client: string, op: string, acks: string, f: Figure) => {
        const m = mbps(f);
        rows.push(
          `| ${client} | ${op} | ${sizeLabel(size)} | ${acks} | ${fmt(rps(f))} | ${m.toFixed(1)} | ${(mbps(limit) / m).toFixed(1)}× | ${(loopback / m).toFixed(0)}× |`,
        );
        log(`${client} ${op} ${sizeLabel(size)} acks ${acks}: ${fmt(rps(f))} records/s, ${m.toFixed(1)} MB/s`);
      };
      for (const acks of ACKS) {
        const topic = `kjs-${size}-${acks === -1 ? 'all' : 1}`;
        row('kafkajs', 'produce', acks === -1 ? 'all' : '1', await kafkajsProduce(kafka, topic, size, acks));
      }
      const consumeTopic = `kjs-${size}-1`;
      const total = await highWatermark(kafka, consumeTopic);
      row('kafkajs', 'consume', '–', await kafkajsConsume(kafka, consumeTopic, size, total));
      const count = size >= 1024 ? 100_000 : 300_000;
      for (const acks of ACKS) {
        const topic = `kcat-${size}-${acks === -1 ? 'all' : 1}`;
        const f = await kcatProduce(bootstrap, dir, topic, size, acks, count);
        const stored = await highWatermark(kafka, topic);
        if (stored !== count) throw new Error(`kcat produced ${count} records but ${stored} are stored`);
        row('kcat', 'produce', acks === -1 ? 'all' : '1', f);
      }
      row('kcat', 'consume', '–', await kcatConsume(bootstrap, `kcat-${size}-1`, size, count));
    }
    rows.unshift(
      `| limit: storage-file append | – | 100 B | – | ${fmt((limits.get(100)! * 1e6) / 100)} | ${limits.get(100)!.toFixed(1)} | 1.0× | ${(loopback / limits.get(100)!).toFixed(0)}× |`,
      `| limit: storage-file append | – | 1 KiB | – | ${fmt((limits.get(1024)! * 1e6) / 1024)} | ${limits.get(1024)!.toFixed(1)} | 1.0× | ${(loopback / limits.get(1024)!).toFixed(0)}× |`,
      `| limit: loopback socket | – | – | – | – | ${loopback.toFixed(0)} | – | 1× |`,
    );
  } finally {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const section = [
    '## kafka',
    '',
    `Command: \`node --import tsx bench/kafka.ts\` — ${startedAt}, ${os.cpus().length} cores, Node ${process.version}, load average ${load0.toFixed(1)} → ${os.loadavg()[0].toFixed(1)} (shared machine: read ratios, not absolutes).`,
    '',
    `RobustMQ runs through its CLI in its own process: Kafka plugin only, storage-file with \`fsync: interval\` (1 s), one partition per topic. kafkajs 2.2.4 sends ${BATCH} records per request with ${IN_FLIGHT} requests in flight for ${WINDOW_MS} ms; kafkajs consumes the acks=1 topic from the beginning (from run(), group join included, to the last batch). kcat (librdkafka 2.0.2) produces a file of records (\`linger.ms=5\`, up to 10,000 per batch) and consumes it to the end. MB/s counts record values. The limits are measured in the same run: the storage-file append limit is the same ${BATCH}-record batches appended straight to a FileLogStore with ${IN_FLIGHT} appends in flight; the loopback limit is 64 KiB writes through a 127.0.0.1 socket into a sink process. "gap" = limit ÷ measured MB/s.`,
    '',
    '| client | operation | record | acks | records/s | MB/s | gap to storage-file | gap to loopback |',
    '|---|---|---:|---|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  const here = path.dirname(fileURLToPath(import.meta.url));
  await writeFile(path.join(here, 'results/kafka.md'), section);
  return section;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (section) => process.stdout.write(`${section}\n`),
    (err: Error) => {
      process.stderr.write(`bench kafka failed: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
