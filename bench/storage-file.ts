/**
 * storage-file benchmark: append throughput (records/s, MB/s of payload) for 100-byte and 1 KiB
 * records in batches of 1, 10 and 100 under each fsync policy, each next to the physical limit
 * measured in the same run — a plain node:fs sequential write of the same number of writes of the
 * same encoded bytes with the same fsync pattern. Then group commit (concurrent producers under
 * fsync always) and read throughput (raw fetch, decoded read, plain sequential read).
 *
 * Run: `node --import tsx bench/storage-file.ts` (prints the section and writes
 * bench/results/storage-file.md), or through `npm run bench -- storage-file`.
 * `BENCH_STORAGE_FILE_ROWS=never:1024:100,never:100:10` runs only those append rows
 * (policy:recordBytes:batch, comma-separated), skips group commit and reads, and writes no file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeRecordBatch, type RecordInput } from '@robustmq/sdk';
import { nodeFs, openFileStorage, type StorageFs } from '../plugins/storage-file/src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const COMMAND = 'node --import tsx bench/storage-file.ts';
const WINDOW_MS = 1000;
const MIN_OPS = 30;
const ROUNDS = 10;
const INTERVAL_MS = 1000;
const POLICIES = ['always', 'interval', 'never'] as const;
type Policy = (typeof POLICIES)[number];

interface Row {
  policy: Policy;
  size: number;
  batch: number;
  ops: number;
  storeMs: number;
  plainMs: number;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function records(size: number, count: number): RecordInput[] {
  return Array.from({ length: count }, () => ({ value: randomBytes(size) }));
}

/**
 * One row: the store appends one batch after another (one in flight) for a slice of WINDOW_MS,
 * then the plain writer does the same number of writes; ROUNDS short alternations so that background
 * load on the shared machine hits both sides alike.
 */
async function measureRow(root: string, policy: Policy, size: number, batch: number): Promise<Row> {
  const dir = path.join(root, `store-${policy}-${size}-${batch}`);
  const storage = await openFileStorage({ dir, fsync: policy, fsyncIntervalMs: INTERVAL_MS });
  const plainFile = path.join(root, `plain-${policy}-${size}-${batch}`);
  const fh = await open(plainFile, 'w');
  try {
    const tp = { topic: 'bench', partition: 0 };
    await storage.logStore.createTopic(tp.topic);
    const input = records(size, batch);
    const bytes = encodeRecordBatch(input, { baseOffset: 0 }).length;
    const plainBuf = randomBytes(bytes);
    for (let i = 0; i < 5; i++) await storage.logStore.append(tp, input); // warm-up
    let ops = 0;
    let storeMs = 0;
    let plainMs = 0;
    let pos = 0;
    let lastSync = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      let n = 0;
      const t0 = performance.now();
      while (n < MIN_OPS / ROUNDS || performance.now() - t0 < WINDOW_MS / ROUNDS) {
        await storage.logStore.append(tp, input);
        n++;
      }
      storeMs += performance.now() - t0;
      ops += n;
      const t1 = performance.now();
      for (let i = 0; i < n; i++, pos += bytes) {
        await fh.write(plainBuf, 0, bytes, pos);
        if (policy === 'always') await fh.datasync();
        else if (policy === 'interval' && performance.now() - lastSync >= INTERVAL_MS) {
          await fh.datasync();
          lastSync = performance.now();
        }
      }
      plainMs += performance.now() - t1;
    }
    return { policy, size, batch, ops, storeMs, plainMs };
  } finally {
    await fh.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
    await rm(plainFile, { force: true });
  }
}

/** Counts datasync calls so group commit can be shown as fsyncs per record. */
function countingFs(): { fs: StorageFs; syncs: () => number } {
  let n = 0;
  const fs: StorageFs = {
    ...nodeFs,
    async open(file, create) {
      const f = await nodeFs.open(file, create);
      return {
        ...f,
        read: f.read.bind(f),
        writev: f.writev.bind(f),
        truncate: f.truncate.bind(f),
        size: f.size.bind(f),
        close: f.close.bind(f),
        datasync: () => {
          n++;
          return f.datasync();
        },
      };
    },
  };
  return { fs, syncs: () => n };
}

async function measureGroupCommit(dir: string, producers: number): Promise<{ recordsPerSec: number; syncsPerRecord: number }> {
  const { fs, syncs } = countingFs();
  const storage = await openFileStorage({ dir, fsync: 'always', fs });
  try {
    const tp = { topic: 'group', partition: 0 };
    await storage.logStore.createTopic(tp.topic);
    const input = records(100, 1);
    let done = 0;
    const s0 = syncs();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: producers }, async () => {
        while (performance.now() - t0 < WINDOW_MS) {
          await storage.logStore.append(tp, input);
          done++;
        }
      }),
    );
    const ms = performance.now() - t0;
    return { recordsPerSec: (done / ms) * 1000, syncsPerRecord: (syncs() - s0) / done };
  } finally {
    await storage.close();
  }
}

async function measureReads(dir: string): Promise<string[]> {
  const tp = { topic: 'reads', partition: 0 };
  const storage = await openFileStorage({ dir, fsync: 'never' });
  const total = 40_000;
  const input = records(1024, 100);
  try {
    await storage.logStore.createTopic(tp.topic);
    for (let i = 0; i < total / 100; i++) await storage.logStore.append(tp, input);
    await storage.logStore.flush();
    const payloadMB = (total * 1024) / 1e6;

    const fetchAll = async () => {
      let offset = 0;
      let fetched = 0;
      while (offset < total) {
        const res = await storage.logStore.fetch(tp, offset, 1024 * 1024);
        fetched += res.batches.length;
        offset = res.highWatermark === offset ? total : offset + Math.max(1, countRecords(res.batches));
      }
      return fetched;
    };
    const readAll = async () => {
      let n = 0;
      for (let next = 0; next < total; ) {
        const recs = await storage.logStore.read(tp, next, 1000);
        n += recs.length;
        next = recs[recs.length - 1].offset + 1;
      }
      return n;
    };
    await fetchAll(); // warm-up (JIT, page cache)
    await readAll();
    let t0 = performance.now();
    const bytes = await fetchAll();
    const fetchMs = performance.now() - t0;
    t0 = performance.now();
    const read = await readAll();
    const readMs = performance.now() - t0;

    const partDir = path.join(dir, 'logs', 'reads', '0');
    const files = (await readdir(partDir)).filter((n) => n.endsWith('.log')).sort();
    // Fresh 1 MiB buffer per read, as fetch returns a new buffer per call.
    const readPlain = async () => {
      let n = 0;
      for (const name of files) {
        const fh = await open(path.join(partDir, name), 'r');
        try {
          for (let pos = 0; ; ) {
            const chunk = Buffer.allocUnsafe(1024 * 1024);
            const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
            if (bytesRead === 0) break;
            pos += bytesRead;
            n += bytesRead;
          }
        } finally {
          await fh.close();
        }
      }
      return n;
    };
    await readPlain();
    t0 = performance.now();
    const plainBytes = await readPlain();
    const plainMs = performance.now() - t0;
    const mbps = (b: number, ms: number) => fmt(b / 1e6 / (ms / 1000), 0);
    return [
      '| read path | records/s | MB/s (stored bytes) | vs plain read |',
      '|---|---:|---:|---:|',
      `| fetch (raw batches, 1 MiB per call) | ${fmt((total / fetchMs) * 1000)} | ${mbps(bytes, fetchMs)} | ${fmt(fetchMs / plainMs, 2)}× the time |`,
      `| read (decoded records, 1000 per call) | ${fmt((read / readMs) * 1000)} | ${mbps(bytes, readMs)} | ${fmt(readMs / plainMs, 2)}× the time |`,
      `| plain node:fs sequential read, 1 MiB chunks | ${fmt((total / plainMs) * 1000)} | ${mbps(plainBytes, plainMs)} | 1× |`,
      '',
      `Read data: ${fmt(total)} records of 1 KiB (${fmt(payloadMB, 0)} MB of payload, ${fmt(bytes / 1e6, 0)} MB stored) in 100-record batches, page cache warm; each path runs once as warm-up before it is timed.`,
    ];
  } finally {
    await storage.close();
  }
}

function countRecords(batches: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + 61 <= batches.length; pos += 12 + batches.readInt32BE(pos + 8)) n += batches.readInt32BE(pos + 57);
  return n;
}

/** Append rows selected by BENCH_STORAGE_FILE_ROWS (all when unset). */
function rowFilter(): ((policy: Policy, size: number, batch: number) => boolean) | undefined {
  const spec = process.env.BENCH_STORAGE_FILE_ROWS?.trim();
  if (!spec) return undefined;
  const wanted = new Set(spec.split(',').map((r) => r.trim()));
  return (policy, size, batch) => wanted.has(`${policy}:${size}:${batch}`);
}

export async function main(): Promise<string> {
  const only = rowFilter();
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-storage-file-'));
  const load0 = os.loadavg()[0];
  const rows: Row[] = [];
  try {
    for (const policy of POLICIES) {
      for (const size of [100, 1024]) {
        for (const batch of [1, 10, 100]) {
          if (!only || only(policy, size, batch)) rows.push(await measureRow(root, policy, size, batch));
        }
      }
    }
    if (only) {
      return rows
        .map((r) => `${r.policy} ${r.size} B × ${r.batch}: vs plain ${fmt(r.storeMs / r.plainMs, 2)}× (${r.ops} appends)`)
        .join('\n');
    }
    const group: string[] = [];
    for (const producers of [1, 8, 64]) {
      const r = await measureGroupCommit(path.join(root, `group-${producers}`), producers);
      group.push(`| ${producers} | ${fmt(r.recordsPerSec)} | ${fmt(r.syncsPerRecord, 3)} |`);
    }
    const reads = await measureReads(path.join(root, 'reads'));
    const load1 = os.loadavg()[0];

    const lines = [
      '## storage-file',
      '',
      `Command: \`${COMMAND}\` — ${new Date().toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}, ` +
        `data in ${os.tmpdir()} (ext4/virtio disk), load average ${fmt(load0, 1)} → ${fmt(load1, 1)} (the machine is shared: read ratios, not absolutes).`,
      '',
      `Appends: one producer, one append in flight, ~${WINDOW_MS} ms per row after 5 warm-up appends, in ${ROUNDS} slices alternating with the plain writer so machine load hits both alike. MB/s counts record payload. ` +
        'The plain limit is the same number of sequential `FileHandle.write` calls of the same encoded batch size with the same fsync ' +
        `pattern (\`datasync\` after every write for always, every ${INTERVAL_MS} ms for interval, none for never). ` +
        '"vs plain" = store time ÷ plain time for the same work (target: ≤ 2× for batched appends).',
      '',
      '| fsync | record | batch | records/s | MB/s | plain-write records/s | vs plain |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const recs = r.ops * r.batch;
        const perSec = (recs / r.storeMs) * 1000;
        const mbps = (perSec * r.size) / 1e6;
        const plainPerSec = (recs / r.plainMs) * 1000;
        return `| ${r.policy} | ${r.size === 100 ? '100 B' : '1 KiB'} | ${r.batch} | ${fmt(perSec)} | ${fmt(mbps, 1)} | ${fmt(plainPerSec)} | ${fmt(r.storeMs / r.plainMs, 2)}× |`;
      }),
      '',
      'Reading the table: under `always` (the default) both sides wait for the same number of fsyncs and the store is at the ' +
        'plain limit (differences are disk noise). Under `interval`/`never` the plain limit is one memcpy into the page cache, ' +
        'while an append also encodes the batch (one copy of the records into reused staging memory, so a caller may reuse its ' +
        'buffers once the append resolves) and computes its CRC32C in one pass, plus the append pipeline (promise, writer ' +
        'loop, index). On this shared 2-core machine the ratios of those rows move by ±0.3–0.5× between runs with the ' +
        'background load; the load average of the run is in the header.',
      '',
      '### Group commit (fsync always, 100-byte records, one record per append, concurrent producers)',
      '',
      '| producers | records/s | fsyncs per record |',
      '|---:|---:|---:|',
      ...group,
      '',
      'Appends that arrive while an fsync is in flight share the next one, so `always` scales with concurrency instead of being capped at one record per fsync.',
      '',
      '### Reads',
      '',
      ...reads,
      '',
    ];
    const section = lines.join('\n');
    await writeFile(path.join(here, 'results', 'storage-file.md'), section);
    return section;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.stdout.write(`${await main()}\n`);
}
