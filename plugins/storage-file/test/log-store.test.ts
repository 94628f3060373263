import { appendFile, readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { CompressionCodec, decodeRecordBatches, encodeRecordBatch, StorageError, type TopicPartition } from '@robustmq/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PromMetrics } from '@robustmq/kernel';
import { type FileStorage, instrumentFs } from '../src/index.js';
import { topicDirName } from '../src/paths.js';
import { faultyFs } from './faulty-fs.js';
import { open, rec, tempDir } from './helpers.js';

const tp: TopicPartition = { topic: 'events/a', partition: 0 };
const partitionDir = (dir: string, t = tp) => path.join(dir, 'logs', topicDirName(t.topic), String(t.partition));
const values = async (s: FileStorage, from = 0) => (await s.logStore.read(tp, from, 100_000)).map((r) => r.value?.toString());

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(partitionDir(dir))).filter((n) => n.endsWith('.log')).sort();
}

describe('storage-file log store', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  let storage: FileStorage | undefined;

  beforeEach(async () => {
    tmp = await tempDir();
  });

  afterEach(async () => {
    await storage?.close();
    storage = undefined;
    await tmp.remove();
  });

  async function reopen(extra = {}): Promise<FileStorage> {
    await storage?.close();
    storage = await open(tmp.dir, { segmentBytes: 2048, indexIntervalBytes: 128, ...extra });
    return storage;
  }

  it('rolls segments by size, writes indexes for sealed ones, and reads across them after reopen', async () => {
    const s = await reopen();
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 200; i++)
      await s.logStore.append(tp, [{ value: Buffer.from(`value-${i}`.padEnd(40, '.')), timestamp: 1000 + i }]);
    const segments = s.logStore.segments(tp);
    expect(segments.length).toBeGreaterThan(4);
    for (const seg of segments.slice(0, -1)) expect(seg.size).toBeLessThanOrEqual(2048);
    await s.logStore.flush(); // sealing (fsync + index files) runs in the background; flush waits for it
    const files = await readdir(partitionDir(tmp.dir));
    for (const seg of segments.slice(0, -1)) {
      const base = String(seg.baseOffset).padStart(20, '0');
      expect(files).toContain(`${base}.index`);
      expect(files).toContain(`${base}.timeindex`);
    }

    const s2 = await reopen();
    expect(s2.logStore.segments(tp)).toEqual(segments);
    const all = await values(s2);
    expect(all).toHaveLength(200);
    expect(all[137]).toBe('value-137'.padEnd(40, '.'));
    expect((await s2.logStore.read(tp, 151, 3)).map((r) => r.offset)).toEqual([151, 152, 153]);
    expect(await s2.logStore.offsetForTimestamp(tp, 1000 + 123)).toBe(123);
    expect(await s2.logStore.offsetForTimestamp(tp, 5000)).toBeUndefined();
    const fetched = await s2.logStore.fetch(tp, 60, 100_000);
    const offsets = decodeRecordBatches(fetched.batches).flatMap((b) => b.records.map((r) => r.offset));
    expect(offsets[0]).toBe(60);
    expect(offsets.at(-1)).toBe(199);
  });

  it('rebuilds missing or stale index files', async () => {
    const s = await reopen();
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 120; i++)
      await s.logStore.append(tp, [{ value: Buffer.from(`v${i}`.padEnd(50, '-')), timestamp: 10 * i }]);
    await s.close();
    storage = undefined;
    const dir = partitionDir(tmp.dir);
    const indexes = (await readdir(dir)).filter((n) => n.endsWith('.index')).sort();
    expect(indexes.length).toBeGreaterThan(1);
    await unlink(path.join(dir, indexes[0]));
    // Stale: an index that claims to cover a different log size.
    const stale = await readFile(path.join(dir, indexes[1]));
    stale.writeBigUInt64BE(1n, 8);
    await writeFile(path.join(dir, indexes[1]), stale);

    const s2 = await reopen();
    expect(await values(s2)).toHaveLength(120);
    expect((await s2.logStore.read(tp, 77, 1))[0].value?.toString()).toBe('v77'.padEnd(50, '-'));
    expect(await s2.logStore.offsetForTimestamp(tp, 455)).toBe(46);
    const rebuilt = (await readdir(dir)).filter((n) => n.endsWith('.index'));
    expect(rebuilt.length).toBeGreaterThanOrEqual(indexes.length - 1);
  });

  it('writes index files again for sealed segments that had to be scanned; under fsync never it writes none', async () => {
    const s = await reopen({ fsync: 'never' });
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 100; i++) await s.logStore.append(tp, [{ value: Buffer.from(`n${i}`.padEnd(60, '.')) }]);
    await s.logStore.flush();
    const dir = partitionDir(tmp.dir);
    const indexCount = async () => (await readdir(dir)).filter((n) => n.endsWith('.index')).length;
    expect((await segmentFiles(tmp.dir)).length).toBeGreaterThan(2);
    expect(await indexCount()).toBe(0); // nothing synced, so nothing may be trusted without a CRC scan

    const s2 = await reopen({ fsync: 'never' });
    expect(await values(s2)).toHaveLength(100);
    await s2.logStore.flush();
    expect(await indexCount()).toBe(0);

    const s3 = await reopen({ fsync: 'always' });
    await s3.logStore.flush(); // waits for the background seal of the scanned segments
    expect(await indexCount()).toBe((await segmentFiles(tmp.dir)).length - 1);
    expect(await values(s3)).toHaveLength(100);
  });

  it('truncates a torn batch at the tail on start (torn-write test) and continues the offsets', async () => {
    const s = await reopen({ segmentBytes: 1024 * 1024 });
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 10; i++) await s.logStore.append(tp, [rec(`a${i}`), rec(`b${i}`)]);
    await s.close();
    storage = undefined;

    const [file] = await segmentFiles(tmp.dir);
    const logPath = path.join(partitionDir(tmp.dir), file);
    const full = (await stat(logPath)).size;
    const batch = full / 10; // identical-size batches
    // Cut the last batch in half: a write torn by a crash.
    await truncate(logPath, full - Math.floor(batch / 2));

    const s2 = await reopen({ segmentBytes: 1024 * 1024 });
    expect(await s2.logStore.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 18 });
    expect(await values(s2)).toEqual(Array.from({ length: 9 }, (_, i) => [`a${i}`, `b${i}`]).flat());
    expect((await stat(logPath)).size).toBe(batch * 9);
    expect((await s2.logStore.append(tp, [rec('after')])).baseOffset).toBe(18);
    expect((await s2.logStore.read(tp, 18, 5)).map((r) => r.value?.toString())).toEqual(['after']);
  });

  it('drops a batch whose CRC no longer matches, and garbage after the last batch', async () => {
    const s = await reopen({ segmentBytes: 1024 * 1024 });
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 5; i++) await s.logStore.append(tp, [rec(`x${i}`)]);
    await s.close();
    storage = undefined;
    const [file] = await segmentFiles(tmp.dir);
    const logPath = path.join(partitionDir(tmp.dir), file);
    const bytes = await readFile(logPath);
    const batch = bytes.length / 5;
    bytes[batch * 3 + 65] ^= 0xff; // inside the 4th batch's records (CRC-covered)
    await writeFile(logPath, bytes);
    await appendFile(logPath, Buffer.from('garbage after the tail'));

    const s2 = await reopen({ segmentBytes: 1024 * 1024 });
    expect(await values(s2)).toEqual(['x0', 'x1', 'x2']);
    expect((await s2.logStore.append(tp, [rec('x3-again')])).baseOffset).toBe(3);
  });

  it('rolls by age (segmentMs) using the injected clock', async () => {
    let now = 1_000_000;
    const s = await reopen({ segmentBytes: 1024 * 1024, segmentMs: 60_000, now: () => now });
    await s.logStore.createTopic(tp.topic);
    await s.logStore.append(tp, [rec('old')]);
    now += 30_000;
    await s.logStore.append(tp, [rec('still-first')]);
    expect(s.logStore.segments(tp)).toHaveLength(1);
    now += 31_000;
    await s.logStore.append(tp, [rec('second')]);
    expect(s.logStore.segments(tp).map((x) => x.baseOffset)).toEqual([0, 2]);
  });

  it('retention deletes whole sealed segments by time and by size; the log start survives reopen', async () => {
    const s = await reopen({ segmentBytes: 1024 });
    await s.logStore.createTopic(tp.topic);
    const old = Date.now() - 10 * 60_000;
    for (let i = 0; i < 60; i++)
      await s.logStore.append(tp, [{ value: Buffer.alloc(100, 1), timestamp: i < 30 ? old : Date.now() }]);
    const before = s.logStore.segments(tp);
    expect(before.length).toBeGreaterThan(4);

    await s.logStore.updateTopicConfig(tp.topic, { retentionMs: 60_000 });
    const byTime = await s.logStore.applyRetention();
    expect(byTime).toBeGreaterThan(0);
    const start = (await s.logStore.offsets(tp)).logStartOffset;
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(30);
    const remaining = await s.logStore.read(tp, 0, 1000);
    expect(remaining[0].offset).toBe(start);
    expect(remaining.at(-1)?.offset).toBe(59);

    await s.logStore.updateTopicConfig(tp.topic, { retentionBytes: 2048 });
    await s.logStore.applyRetention();
    const after = s.logStore.segments(tp);
    expect(after.reduce((n, x) => n + x.size, 0) - after[0].size).toBeLessThan(2048);
    expect(after.at(-1)).toEqual(before.at(-1)); // the active segment is never deleted
    const files = await segmentFiles(tmp.dir);
    expect(files).toHaveLength(after.length);

    const startAfter = (await s.logStore.offsets(tp)).logStartOffset;
    const s2 = await reopen({ segmentBytes: 1024 });
    expect(await s2.logStore.offsets(tp)).toEqual({ logStartOffset: startAfter, highWatermark: 60 });
  });

  it('time retention also clears an expired active segment (rolled first) and appends continue', async () => {
    let now = 10_000_000;
    const s = await reopen({ segmentBytes: 1024 * 1024, now: () => now });
    await s.logStore.createTopic(tp.topic, { retentionMs: 60_000 });
    for (let i = 0; i < 10; i++) await s.logStore.append(tp, [rec(`old-${i}`)]);
    expect(await s.logStore.applyRetention()).toBe(0); // nothing expired yet
    now += 61_000;
    expect(await s.logStore.applyRetention()).toBe(1);
    expect(await s.logStore.offsets(tp)).toEqual({ logStartOffset: 10, highWatermark: 10 });
    expect(await s.logStore.read(tp, 0, 100)).toEqual([]);
    expect(await segmentFiles(tmp.dir)).toEqual(['00000000000000000010.log']);
    expect((await s.logStore.append(tp, [rec('new')])).baseOffset).toBe(10);
    const s2 = await reopen({ segmentBytes: 1024 * 1024, now: () => now });
    expect(await s2.logStore.offsets(tp)).toEqual({ logStartOffset: 10, highWatermark: 11 });
    expect(await values(s2, 10)).toEqual(['new']);

    // A compacted topic is exempt from time retention (nothing compacts it yet, so it keeps all).
    const compacted = { topic: 'compacted', partition: 0 };
    await s2.logStore.createTopic(compacted.topic, { retentionMs: 60_000, cleanupPolicy: 'compact' });
    await s2.logStore.append(compacted, [{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    now += 120_000;
    await s2.logStore.applyRetention();
    expect(await s2.logStore.offsets(compacted)).toEqual({ logStartOffset: 0, highWatermark: 1 });
  });

  it('deleteRecordsBefore removes whole segments below the new log start', async () => {
    const s = await reopen({ segmentBytes: 1024 });
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 40; i++) await s.logStore.append(tp, [{ value: Buffer.alloc(100, 2) }]);
    const segs = s.logStore.segments(tp);
    const target = segs[3].baseOffset + 1;
    expect(await s.logStore.deleteRecordsBefore(tp, target)).toBe(target);
    expect(s.logStore.segments(tp)[0].baseOffset).toBe(segs[3].baseOffset);
    expect((await s.logStore.read(tp, 0, 1))[0].offset).toBe(target);
    await expect(s.logStore.fetch(tp, target - 1, 1000)).rejects.toMatchObject({ code: 'offset-out-of-range' });
    const s2 = await reopen({ segmentBytes: 1024 });
    expect((await s2.logStore.offsets(tp)).logStartOffset).toBe(target);
  });

  it('group commit: concurrent appends under fsync always share fsyncs', async () => {
    const { fs, faults } = faultyFs();
    const s = await reopen({ segmentBytes: 64 * 1024 * 1024, fs });
    await s.logStore.createTopic(tp.topic);
    const before = faults.datasyncs;
    const n = 200;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => s.logStore.append(tp, [rec(`g${i}`)])));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: n }, (_, i) => i));
    const syncs = faults.datasyncs - before;
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(n / 4);
  });

  it('fsync never and interval acknowledge without an fsync per append', async () => {
    for (const fsync of ['never', 'interval'] as const) {
      const { fs, faults } = faultyFs();
      const s = await reopen({ fs, fsync, fsyncIntervalMs: 20 });
      await s.logStore.createTopic(`t-${fsync}`);
      const before = faults.datasyncs;
      for (let i = 0; i < 20; i++) await s.logStore.append({ topic: `t-${fsync}`, partition: 0 }, [rec(`n${i}`)]);
      const afterAppends = faults.datasyncs - before;
      expect(afterAppends).toBeLessThan(5);
      if (fsync === 'interval') {
        await new Promise((r) => setTimeout(r, 80));
        expect(faults.datasyncs - before).toBeGreaterThan(afterAppends);
      }
      await s.logStore.flush();
      expect((await s.logStore.offsets({ topic: `t-${fsync}`, partition: 0 })).highWatermark).toBe(20);
    }
  });

  it('disk full: appends fail with code disk-full, reads keep working, appends recover afterwards', async () => {
    const { fs, faults } = faultyFs();
    const s = await reopen({ fs });
    await s.logStore.createTopic(tp.topic);
    await s.logStore.append(tp, [rec('before-1'), rec('before-2')]);

    faults.write = 'ENOSPC';
    faults.partialBytes = 30; // part of the batch reaches the file before the error
    const err = await s.logStore.append(tp, [rec('lost')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('disk-full');
    expect((err as Error).message).toMatch(/disk full/);
    // Several appends waiting together all fail, none is half-acknowledged.
    const many = await Promise.allSettled([s.logStore.append(tp, [rec('x')]), s.logStore.append(tp, [rec('y')])]);
    expect(many.every((r) => r.status === 'rejected')).toBe(true);
    expect(await values(s)).toEqual(['before-1', 'before-2']);
    expect(await s.logStore.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 2 });

    faults.write = 'EIO';
    faults.partialBytes = undefined;
    await expect(s.logStore.append(tp, [rec('io')])).rejects.toMatchObject({ code: 'io' });

    faults.write = undefined;
    faults.sync = 'EIO';
    await expect(s.logStore.append(tp, [rec('unsynced')])).rejects.toMatchObject({ code: 'io' });

    faults.sync = undefined;
    expect((await s.logStore.append(tp, [rec('after')])).baseOffset).toBe(2);
    expect(await values(s)).toEqual(['before-1', 'before-2', 'after']);
    const s2 = await reopen();
    expect(await values(s2)).toEqual(['before-1', 'before-2', 'after']);
  });

  it('counts write failures by code, fsyncs and bytes in the broker metrics', async () => {
    const { fs, faults } = faultyFs();
    const metrics = new PromMetrics();
    const s = await reopen({ fs: instrumentFs(fs, metrics) });
    await s.logStore.createTopic(tp.topic);
    await s.logStore.append(tp, [rec('ok')]);
    faults.write = 'ENOSPC';
    await expect(s.logStore.append(tp, [rec('no space')])).rejects.toMatchObject({ code: 'disk-full' });
    await expect(s.metaStore.put('k', Buffer.from('v'))).rejects.toMatchObject({ code: 'disk-full' });
    faults.write = 'EIO';
    await expect(s.logStore.append(tp, [rec('broken')])).rejects.toMatchObject({ code: 'io' });
    const text = await metrics.render();
    expect(text).toContain('robustmq_storage_write_errors_total{code="disk-full"} 2');
    expect(text).toContain('robustmq_storage_write_errors_total{code="io"} 1');
    expect(text).toMatch(/robustmq_storage_fsync_seconds_count [1-9]/);
  });

  it('a failed segment roll fails the append and the next one succeeds', async () => {
    const { fs, faults } = faultyFs();
    const s = await reopen({ fs, segmentBytes: 1024 });
    await s.logStore.createTopic(tp.topic);
    let i = 0;
    while (s.logStore.segments(tp)[0].size < 900) await s.logStore.append(tp, [{ value: Buffer.alloc(100, i++) }]);
    faults.create = 'ENOSPC';
    await expect(s.logStore.append(tp, [{ value: Buffer.alloc(200) }])).rejects.toMatchObject({ code: 'disk-full' });
    faults.create = undefined;
    expect((await s.logStore.append(tp, [{ value: Buffer.alloc(200) }])).baseOffset).toBe(i);
    expect(s.logStore.segments(tp)).toHaveLength(2);
  });

  it('removes a topic directory left without topic.json by a crashed create', async () => {
    const s = await reopen();
    await s.logStore.createTopic('kept');
    await s.close();
    storage = undefined;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(tmp.dir, 'logs', 'half-created', '0'), { recursive: true });
    const s2 = await reopen();
    expect(await s2.logStore.listTopics()).toEqual(['kept']);
    expect((await readdir(path.join(tmp.dir, 'logs'))).sort()).toEqual(['kept']);
  });

  it('stores topics whose names are too long for a directory name, and unicode names', async () => {
    const long = `very/long/${'x'.repeat(300)}`;
    const other = `very/long/${'x'.repeat(299)}y`;
    const s = await reopen();
    for (const name of [long, other, 'température/ü/日本']) {
      await s.logStore.createTopic(name);
      await s.logStore.append({ topic: name, partition: 0 }, [rec(name.slice(-5))]);
    }
    const s2 = await reopen();
    expect((await s2.logStore.listTopics()).sort()).toEqual([long, other, 'température/ü/日本'].sort());
    expect((await s2.logStore.read({ topic: other, partition: 0 }, 0, 10))[0].value?.toString()).toBe('xxxxy');
    for (const entry of await readdir(path.join(tmp.dir, 'logs'))) expect(entry.length).toBeLessThanOrEqual(200);
  });

  it('appendBatch refuses forged offset deltas and unparsable records, and stores compressed batches as received', async () => {
    const s = await reopen();
    await s.logStore.createTopic(tp.topic);
    const withCrc = (buf: Buffer) => {
      buf.writeUInt32BE(crc32c(buf.subarray(21)) >>> 0, 17);
      return buf;
    };
    const forged = encodeRecordBatch([rec('a'), rec('b')], { baseOffset: 0 });
    forged.writeInt32BE(1_000_000, 23); // lastOffsetDelta: would jump the log by a million offsets
    await expect(s.logStore.appendBatch(tp, withCrc(forged))).rejects.toThrow(/lastOffsetDelta/);
    const garbled = encodeRecordBatch([rec('abc')], { baseOffset: 0 });
    garbled[61] = 0x7f; // record length varint now points past the batch
    await expect(s.logStore.appendBatch(tp, withCrc(garbled))).rejects.toMatchObject({ code: 'corrupt' });
    expect((await s.logStore.offsets(tp)).highWatermark).toBe(0);

    const plain = encodeRecordBatch([rec('zipped-1'), rec('zipped-2')], { baseOffset: 0, timestamp: 5 });
    const gz = Buffer.concat([plain.subarray(0, 61), gzipSync(plain.subarray(61))]);
    gz.writeInt32BE(gz.length - 12, 8);
    gz.writeInt16BE(CompressionCodec.gzip, 21);
    await s.logStore.append(tp, [rec('first')]);
    expect(await s.logStore.appendBatch(tp, withCrc(gz))).toMatchObject({ baseOffset: 1, lastOffset: 2 });
    const fetched = await s.logStore.fetch(tp, 1, 1 << 20);
    expect(fetched.batches.subarray(12).equals(gz.subarray(12))).toBe(true); // stored bytes as received, new base offset
    expect(await values(s)).toEqual(['first', 'zipped-1', 'zipped-2']);
  });

  it('reads racing a topic deletion end with data or UnknownTopicError, never an I/O error', async () => {
    const s = await reopen({ segmentBytes: 1024 });
    await s.logStore.createTopic(tp.topic);
    for (let i = 0; i < 50; i++) await s.logStore.append(tp, [{ value: Buffer.alloc(100, i) }]);
    const reads = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0 ? s.logStore.fetch(tp, i, 4096) : s.logStore.read(tp, i, 10),
    ).map((p) =>
      p.then(
        () => 'ok',
        (e: StorageError) => e.code,
      ),
    );
    const deleted = s.logStore.deleteTopic(tp.topic);
    const outcomes = await Promise.all(reads);
    expect(await deleted).toBe(true);
    for (const o of outcomes) expect(['ok', 'unknown-topic']).toContain(o);
  });

  it('a closed store refuses work with code closed', async () => {
    const s = await reopen();
    await s.logStore.createTopic(tp.topic);
    await s.close();
    storage = undefined;
    await expect(s.logStore.append(tp, [rec('late')])).rejects.toMatchObject({ code: 'closed' });
    await expect(s.metaStore.put('k', Buffer.from('v'))).rejects.toMatchObject({ code: 'closed' });
  });
});
