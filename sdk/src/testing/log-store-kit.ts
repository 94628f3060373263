import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptBatchError,
  type LogStore,
  OffsetOutOfRangeError,
  type RecordInput,
  type StoredRecord,
  type TopicPartition,
  UnknownTopicError,
} from '../log-store.js';
import { batchSize, decodeRecordBatches, encodeRecordBatch, iterateBatchHeaders } from '../record-batch.js';
import { type StoreFactory, StoreUnderTest } from './harness.js';

const MiB = 1024 * 1024;

/** A record whose value (and optionally key) is the given text. */
function rec(value: string, extra: Partial<RecordInput> = {}): RecordInput {
  return { value: Buffer.from(value), ...extra };
}

function texts(records: StoredRecord[]): Array<string | null> {
  return records.map((r) => (r.value === null ? null : r.value.toString()));
}

/** Batch boundaries (base offset, size) of a fetch result. */
function batchesOf(buf: Buffer): Array<{ baseOffset: number; size: number }> {
  return [...iterateBatchHeaders(buf)].map(({ header }) => ({ baseOffset: header.baseOffset, size: batchSize(header) }));
}

/** Appends `batches` batches of `perBatch` records each, values `v<offset>`. */
async function fill(store: LogStore, tp: TopicPartition, batches: number, perBatch: number, payload = 0): Promise<void> {
  let next = (await store.offsets(tp)).highWatermark;
  for (let b = 0; b < batches; b++) {
    const records: RecordInput[] = [];
    for (let i = 0; i < perBatch; i++) records.push(rec(`v${next++}${'.'.repeat(payload)}`));
    await store.append(tp, records);
  }
}

/**
 * Registers the LogStore conformance suite (vitest) for a store implementation. Covers the whole
 * contract in `log-store.ts`: topic lifecycle and config, appends (records and raw RecordBatch v2),
 * fetch of whole stored batches under `maxBytes`, decoded reads, offsets, timestamp lookup, record
 * deletion, error types, concurrency, 1 MiB payloads and — when the factory can `reopen` —
 * durability across close + reopen.
 */
export function describeLogStore(name: string, factory: StoreFactory<LogStore>): void {
  describe(`LogStore conformance: ${name}`, () => {
    let subject: StoreUnderTest<LogStore>;
    let store: LogStore;

    beforeEach(async () => {
      subject = await StoreUnderTest.create(factory);
      store = subject.store;
    });

    afterEach(async () => {
      await subject.dispose();
    });

    describe('topics', () => {
      it('creates a topic once; a second create returns false and leaves the config unchanged', async () => {
        expect(await store.createTopic('orders', { partitions: 3, retentionMs: 60_000 })).toBe(true);
        expect(await store.createTopic('orders', { partitions: 5, retentionMs: 1 })).toBe(false);
        expect(await store.describeTopic('orders')).toMatchObject({ partitions: 3, retentionMs: 60_000 });
      });

      it('defaults to one partition and keeps every setting given at creation', async () => {
        await store.createTopic('plain');
        expect((await store.describeTopic('plain'))?.partitions).toBe(1);
        const config = {
          partitions: 2,
          retentionMs: 3_600_000,
          retentionBytes: 10 * MiB,
          segmentBytes: MiB,
          segmentMs: 600_000,
          cleanupPolicy: 'compact' as const,
          extra: { 'max.message.bytes': '2097152', 'message.timestamp.type': 'CreateTime' },
        };
        await store.createTopic('full', config);
        expect(await store.describeTopic('full')).toMatchObject(config);
      });

      it('lists topics and describes unknown ones as undefined', async () => {
        expect(await store.listTopics()).toEqual([]);
        await store.createTopic('b');
        await store.createTopic('a');
        expect((await store.listTopics()).sort()).toEqual(['a', 'b']);
        expect(await store.describeTopic('missing')).toBeUndefined();
      });

      it('keeps topics whose names differ only in / . _ - $ apart', async () => {
        const names = ['a/b', 'a_b', 'a.b', 'a-b', '$sys/a/b'];
        for (const [i, topic] of names.entries()) {
          await store.createTopic(topic, { partitions: i + 1 });
          await store.append({ topic, partition: 0 }, [rec(topic)]);
        }
        expect((await store.listTopics()).sort()).toEqual([...names].sort());
        for (const [i, topic] of names.entries()) {
          expect((await store.describeTopic(topic))?.partitions).toBe(i + 1);
          expect(texts(await store.read({ topic, partition: 0 }, 0, 10))).toEqual([topic]);
        }
      });

      it('deletes a topic and its data; recreating it starts an empty log', async () => {
        const tp = { topic: 'temp', partition: 0 };
        await store.createTopic('temp');
        await store.createTopic('stays');
        await fill(store, tp, 2, 2);
        expect(await store.deleteTopic('temp')).toBe(true);
        expect(await store.deleteTopic('temp')).toBe(false);
        expect(await store.listTopics()).toEqual(['stays']);
        expect(await store.describeTopic('temp')).toBeUndefined();
        await expect(store.append(tp, [rec('x')])).rejects.toBeInstanceOf(UnknownTopicError);
        expect(await store.createTopic('temp')).toBe(true);
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 0 });
        expect(await store.read(tp, 0, 10)).toEqual([]);
        expect((await store.append(tp, [rec('fresh')])).baseOffset).toBe(0);
      });

      it('updateTopicConfig merges settings and never changes the partition count', async () => {
        await store.createTopic('cfg', { partitions: 2, retentionMs: 1000, cleanupPolicy: 'delete' });
        await store.updateTopicConfig('cfg', { retentionBytes: 4096 });
        expect(await store.describeTopic('cfg')).toMatchObject({
          partitions: 2,
          retentionMs: 1000,
          retentionBytes: 4096,
          cleanupPolicy: 'delete',
        });
        await store.updateTopicConfig('cfg', {
          retentionMs: 5000,
          cleanupPolicy: 'compact',
          extra: { 'min.insync.replicas': '1' },
        });
        const cfg = await store.describeTopic('cfg');
        expect(cfg).toMatchObject({ partitions: 2, retentionMs: 5000, retentionBytes: 4096, cleanupPolicy: 'compact' });
        expect(cfg?.extra).toMatchObject({ 'min.insync.replicas': '1' });
        await expect(store.updateTopicConfig('missing', { retentionMs: 1 })).rejects.toBeInstanceOf(UnknownTopicError);
      });

      it('addPartitions grows a topic, the new partitions take records, and it never shrinks', async () => {
        await store.createTopic('grow');
        await store.append({ topic: 'grow', partition: 0 }, [rec('p0')]);
        await expect(store.append({ topic: 'grow', partition: 2 }, [rec('early')])).rejects.toBeInstanceOf(UnknownTopicError);
        await store.addPartitions('grow', 3);
        expect((await store.describeTopic('grow'))?.partitions).toBe(3);
        expect((await store.append({ topic: 'grow', partition: 2 }, [rec('p2')])).baseOffset).toBe(0);
        expect(texts(await store.read({ topic: 'grow', partition: 0 }, 0, 10))).toEqual(['p0']);
        // Shrinking is either refused or ignored, never applied.
        await store.addPartitions('grow', 1).catch(() => undefined);
        expect((await store.describeTopic('grow'))?.partitions).toBe(3);
        expect(texts(await store.read({ topic: 'grow', partition: 2 }, 0, 10))).toEqual(['p2']);
        await expect(store.addPartitions('missing', 4)).rejects.toBeInstanceOf(UnknownTopicError);
      });
    });

    describe('append and read', () => {
      const tp = { topic: 't', partition: 0 };
      beforeEach(async () => {
        await store.createTopic('t', { partitions: 2 });
      });

      it('append returns consecutive offsets and the append time', async () => {
        const before = Date.now();
        const first = await store.append(tp, [rec('a'), rec('b'), rec('c')]);
        const second = await store.append(tp, [rec('d')]);
        const after = Date.now();
        expect(first).toMatchObject({ baseOffset: 0, lastOffset: 2 });
        expect(second).toMatchObject({ baseOffset: 3, lastOffset: 3 });
        expect(first.logAppendTime).toBeGreaterThanOrEqual(before);
        expect(second.logAppendTime).toBeLessThanOrEqual(after);
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 4 });
        expect(texts(await store.read(tp, 0, 100))).toEqual(['a', 'b', 'c', 'd']);
        expect((await store.read(tp, 0, 100)).map((r) => r.offset)).toEqual([0, 1, 2, 3]);
      });

      it('partitions have independent offsets', async () => {
        await store.append(tp, [rec('a'), rec('b')]);
        const other = await store.append({ topic: 't', partition: 1 }, [rec('x')]);
        expect(other.baseOffset).toBe(0);
        expect(await store.offsets({ topic: 't', partition: 1 })).toEqual({ logStartOffset: 0, highWatermark: 1 });
        expect(texts(await store.read({ topic: 't', partition: 1 }, 0, 10))).toEqual(['x']);
      });

      it('read decodes keys, null keys and values, headers and timestamps', async () => {
        const before = Date.now();
        await store.append(tp, [
          {
            key: Buffer.from('k1'),
            value: Buffer.from('v1'),
            headers: [{ key: 'h', value: Buffer.from('hv') }],
            timestamp: 1_700_000_000_000,
          },
          {
            key: null,
            value: null,
            headers: [
              { key: 'n', value: null },
              { key: 'ü-utf8', value: Buffer.alloc(0) },
            ],
            timestamp: 1_700_000_000_500,
          },
          { value: Buffer.from([0, 255, 1, 254]) },
        ]);
        const after = Date.now();
        const [a, b, c] = await store.read(tp, 0, 10);
        expect(a).toEqual({
          offset: 0,
          timestamp: 1_700_000_000_000,
          key: Buffer.from('k1'),
          value: Buffer.from('v1'),
          headers: [{ key: 'h', value: Buffer.from('hv') }],
        });
        expect(b).toEqual({
          offset: 1,
          timestamp: 1_700_000_000_500,
          key: null,
          value: null,
          headers: [
            { key: 'n', value: null },
            { key: 'ü-utf8', value: Buffer.alloc(0) },
          ],
        });
        expect(c.offset).toBe(2);
        expect(c.key).toBeNull();
        expect(c.headers).toEqual([]);
        expect(c.value).toEqual(Buffer.from([0, 255, 1, 254]));
        // A record without a timestamp gets the append time.
        expect(c.timestamp).toBeGreaterThanOrEqual(before);
        expect(c.timestamp).toBeLessThanOrEqual(after);
      });

      it('read starts at the requested offset inside a batch and honours maxRecords', async () => {
        await fill(store, tp, 3, 3);
        expect((await store.read(tp, 4, 100)).map((r) => r.offset)).toEqual([4, 5, 6, 7, 8]);
        expect((await store.read(tp, 4, 2)).map((r) => r.offset)).toEqual([4, 5]);
        expect(texts(await store.read(tp, 7, 1))).toEqual(['v7']);
        expect(await store.read(tp, 9, 10)).toEqual([]);
      });

      it('appendBatch takes an encoded RecordBatch v2, reassigns its base offset and serves it back', async () => {
        await store.append(tp, [rec('a'), rec('b')]);
        const batch = encodeRecordBatch(
          [
            {
              key: Buffer.from('k'),
              value: Buffer.from('x'),
              headers: [{ key: 'trace', value: Buffer.from('1') }],
              timestamp: 1000,
            },
            { value: Buffer.from('y'), timestamp: 1001 },
            { value: Buffer.from('z'), timestamp: 1002 },
          ],
          { baseOffset: 12345 },
        );
        const result = await store.appendBatch(tp, batch);
        expect(result).toMatchObject({ baseOffset: 2, lastOffset: 4 });
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 5 });
        const records = await store.read(tp, 2, 10);
        expect(records.map((r) => r.offset)).toEqual([2, 3, 4]);
        expect(records[0]).toEqual({
          offset: 2,
          timestamp: 1000,
          key: Buffer.from('k'),
          value: Buffer.from('x'),
          headers: [{ key: 'trace', value: Buffer.from('1') }],
        });
        expect(texts(records)).toEqual(['x', 'y', 'z']);
        const fetched = await store.fetch(tp, 2, MiB);
        const decoded = decodeRecordBatches(fetched.batches);
        expect(decoded).toHaveLength(1);
        expect(decoded[0].header.baseOffset).toBe(2);
        expect(decoded[0].header.recordCount).toBe(3);
        // Next append continues after the batch.
        expect((await store.append(tp, [rec('after')])).baseOffset).toBe(5);
      });

      it('appendBatch refuses corrupt or truncated batches with CorruptBatchError and changes nothing', async () => {
        await store.append(tp, [rec('a')]);
        const good = encodeRecordBatch([rec('payload-1'), rec('payload-2')], { baseOffset: 0 });
        const flipped = Buffer.from(good);
        flipped[flipped.length - 3] ^= 0xff;
        await expect(store.appendBatch(tp, flipped)).rejects.toBeInstanceOf(CorruptBatchError);
        await expect(store.appendBatch(tp, good.subarray(0, good.length - 5))).rejects.toBeInstanceOf(CorruptBatchError);
        await expect(store.appendBatch(tp, Buffer.from('not a record batch'))).rejects.toBeInstanceOf(CorruptBatchError);
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 1 });
        expect(texts(await store.read(tp, 0, 10))).toEqual(['a']);
        expect((await store.appendBatch(tp, good)).baseOffset).toBe(1);
      });
    });

    describe('fetch', () => {
      const tp = { topic: 'f', partition: 0 };
      let sizes: Array<{ baseOffset: number; size: number }>;
      beforeEach(async () => {
        await store.createTopic('f');
        await fill(store, tp, 3, 3, 100); // batches at 0, 3, 6
        sizes = batchesOf((await store.fetch(tp, 0, 100 * MiB)).batches);
      });

      it('returns every stored batch, whole and valid, with the partition offsets', async () => {
        const all = await store.fetch(tp, 0, 100 * MiB);
        expect(all).toMatchObject({ logStartOffset: 0, highWatermark: 9 });
        expect(sizes.map((b) => b.baseOffset)).toEqual([0, 3, 6]);
        expect(all.batches.length).toBe(sizes.reduce((n, b) => n + b.size, 0));
        const records = decodeRecordBatches(all.batches).flatMap((b) => b.records);
        expect(records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        expect(records[4].value?.toString()).toBe(`v4${'.'.repeat(100)}`);
      });

      it('starts with the batch that contains the offset', async () => {
        const res = await store.fetch(tp, 4, 100 * MiB);
        expect(batchesOf(res.batches).map((b) => b.baseOffset)).toEqual([3, 6]);
        expect(batchesOf((await store.fetch(tp, 8, 100 * MiB)).batches).map((b) => b.baseOffset)).toEqual([6]);
      });

      it('respects maxBytes with whole batches, but returns at least one batch', async () => {
        const one = await store.fetch(tp, 4, 1);
        expect(batchesOf(one.batches)).toEqual([sizes[1]]);
        expect(one.batches.length).toBe(sizes[1].size);
        const exact = await store.fetch(tp, 3, sizes[1].size + sizes[2].size);
        expect(batchesOf(exact.batches).map((b) => b.baseOffset)).toEqual([3, 6]);
        const short = await store.fetch(tp, 3, sizes[1].size + sizes[2].size - 1);
        expect(batchesOf(short.batches).map((b) => b.baseOffset)).toEqual([3]);
        expect(short.batches.length).toBeLessThanOrEqual(sizes[1].size + sizes[2].size - 1);
        expect(() => decodeRecordBatches(short.batches)).not.toThrow();
      });

      it('returns no bytes at the high watermark', async () => {
        const res = await store.fetch(tp, 9, MiB);
        expect(res.batches.length).toBe(0);
        expect(res).toMatchObject({ logStartOffset: 0, highWatermark: 9 });
      });

      it('past the high watermark: refused with OffsetOutOfRangeError or empty, never other data', async () => {
        const outcome = await store.fetch(tp, 50, MiB).then(
          (r) => r,
          (e: unknown) => e,
        );
        if (outcome instanceof Error) expect(outcome).toBeInstanceOf(OffsetOutOfRangeError);
        else expect((outcome as { batches: Buffer }).batches.length).toBe(0);
      });
    });

    describe('offsets, timestamps and deletion', () => {
      const tp = { topic: 'o', partition: 0 };
      beforeEach(async () => {
        await store.createTopic('o');
      });

      it('offsets of an empty partition are zero', async () => {
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 0 });
        expect(await store.read(tp, 0, 10)).toEqual([]);
        expect((await store.fetch(tp, 0, MiB)).batches.length).toBe(0);
        expect(await store.offsetForTimestamp(tp, 0)).toBeUndefined();
      });

      it('offsetForTimestamp finds the earliest offset at or after a timestamp', async () => {
        await store.append(tp, [rec('a', { timestamp: 1000 }), rec('b', { timestamp: 1100 })]);
        await store.append(tp, [rec('c', { timestamp: 2000 }), rec('d', { timestamp: 2100 })]);
        await store.append(tp, [rec('e', { timestamp: 3000 })]);
        expect(await store.offsetForTimestamp(tp, 0)).toBe(0);
        expect(await store.offsetForTimestamp(tp, 1000)).toBe(0);
        expect(await store.offsetForTimestamp(tp, 1050)).toBe(1);
        expect(await store.offsetForTimestamp(tp, 1101)).toBe(2);
        expect(await store.offsetForTimestamp(tp, 2000)).toBe(2);
        expect(await store.offsetForTimestamp(tp, 2050)).toBe(3);
        expect(await store.offsetForTimestamp(tp, 3000)).toBe(4);
        expect(await store.offsetForTimestamp(tp, 3001)).toBeUndefined();
      });

      it('deleteRecordsBefore advances logStartOffset, never moves it back, and keeps the high watermark', async () => {
        await fill(store, tp, 3, 2); // offsets 0..5
        expect(await store.deleteRecordsBefore(tp, 3)).toBe(3);
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 3, highWatermark: 6 });
        expect((await store.read(tp, 3, 10)).map((r) => r.offset)).toEqual([3, 4, 5]);
        const fetched = await store.fetch(tp, 3, MiB);
        expect(fetched.logStartOffset).toBe(3);
        const fetchedOffsets = decodeRecordBatches(fetched.batches).flatMap((b) => b.records.map((r) => r.offset));
        expect(fetchedOffsets).toContain(3);
        expect(fetchedOffsets.at(-1)).toBe(5);
        expect(await store.deleteRecordsBefore(tp, 1)).toBe(3);
        expect((await store.offsets(tp)).logStartOffset).toBe(3);
        expect((await store.append(tp, [rec('next')])).baseOffset).toBe(6);
      });

      it('deleteRecordsBefore the high watermark empties the partition and appends continue', async () => {
        await fill(store, tp, 2, 2);
        expect(await store.deleteRecordsBefore(tp, 4)).toBe(4);
        expect(await store.offsets(tp)).toEqual({ logStartOffset: 4, highWatermark: 4 });
        expect(await store.read(tp, 4, 10)).toEqual([]);
        expect((await store.append(tp, [rec('again')])).baseOffset).toBe(4);
        expect(texts(await store.read(tp, 4, 10))).toEqual(['again']);
      });

      it('every partition operation on an unknown topic or partition throws UnknownTopicError', async () => {
        const batch = encodeRecordBatch([rec('x')], { baseOffset: 0 });
        for (const bad of [
          { topic: 'missing', partition: 0 },
          { topic: 'o', partition: 7 },
        ]) {
          await expect(store.append(bad, [rec('x')])).rejects.toBeInstanceOf(UnknownTopicError);
          await expect(store.appendBatch(bad, batch)).rejects.toBeInstanceOf(UnknownTopicError);
          await expect(store.fetch(bad, 0, MiB)).rejects.toBeInstanceOf(UnknownTopicError);
          await expect(store.read(bad, 0, 10)).rejects.toBeInstanceOf(UnknownTopicError);
          await expect(store.offsets(bad)).rejects.toBeInstanceOf(UnknownTopicError);
          await expect(store.offsetForTimestamp(bad, 0)).rejects.toBeInstanceOf(UnknownTopicError);
          await expect(store.deleteRecordsBefore(bad, 0)).rejects.toBeInstanceOf(UnknownTopicError);
        }
        expect((await store.append({ topic: 'o', partition: 0 }, [rec('fine')])).baseOffset).toBe(0);
      });
    });

    describe('load', () => {
      it('concurrent appends keep call order and get unique consecutive offsets', async () => {
        const tp = { topic: 'c', partition: 0 };
        await store.createTopic('c');
        const n = 40;
        const results = await Promise.all(Array.from({ length: n }, (_, i) => store.append(tp, [rec(`${i}-a`), rec(`${i}-b`)])));
        expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
        expect(results.map((r) => r.lastOffset)).toEqual(Array.from({ length: n }, (_, i) => 2 * i + 1));
        const records = await store.read(tp, 0, 1000);
        expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 2 * n }, (_, i) => i));
        expect(texts(records)).toEqual(Array.from({ length: n }, (_, i) => [`${i}-a`, `${i}-b`]).flat());
      });

      it('concurrent appendBatch and append calls interleave without losing or duplicating offsets', async () => {
        const tp = { topic: 'mix', partition: 0 };
        await store.createTopic('mix');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 2 === 0
              ? store.append(tp, [rec(`r${i}`)])
              : store.appendBatch(tp, encodeRecordBatch([rec(`b${i}`), rec(`b${i}+`)], { baseOffset: 0 })),
          ),
        );
        const covered = results.flatMap((r) =>
          Array.from({ length: r.lastOffset - r.baseOffset + 1 }, (_, k) => r.baseOffset + k),
        );
        expect(covered.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
        expect((await store.read(tp, 0, 100)).length).toBe(30);
      });

      it('stores and serves 1 MiB payloads', async () => {
        const tp = { topic: 'big', partition: 0 };
        await store.createTopic('big');
        const value = randomBytes(MiB);
        const key = randomBytes(1024);
        await store.append(tp, [rec('small')]);
        const res = await store.append(tp, [{ key, value }]);
        await store.appendBatch(tp, encodeRecordBatch([{ value: value.subarray(0, MiB - 1) }], { baseOffset: 0 }));
        expect(res.baseOffset).toBe(1);
        const [read] = await store.read(tp, 1, 1);
        expect(read.key?.equals(key)).toBe(true);
        expect(read.value?.equals(value)).toBe(true);
        const fetched = await store.fetch(tp, 1, 1024);
        const decoded = decodeRecordBatches(fetched.batches);
        expect(decoded).toHaveLength(1);
        expect(decoded[0].records[0].value?.equals(value)).toBe(true);
        const [last] = await store.read(tp, 2, 1);
        expect(last.value?.equals(value.subarray(0, MiB - 1))).toBe(true);
      });
    });

    it('flush keeps data readable; close + reopen keeps topics, configs, records and offsets (when the factory can reopen)', async () => {
      const p0 = { topic: 'persist', partition: 0 };
      const p1 = { topic: 'persist', partition: 1 };
      await store.createTopic('persist', { partitions: 2, retentionMs: 86_400_000, extra: { 'x.y': 'z' } });
      await store.createTopic('gone');
      await store.append(p0, [
        { key: Buffer.from('k0'), value: Buffer.from('v0'), headers: [{ key: 'h', value: Buffer.from('1') }], timestamp: 5000 },
        { key: null, value: Buffer.from('v1'), timestamp: 6000 },
      ]);
      await store.append(p0, [rec('v2', { timestamp: 7000 })]);
      await store.appendBatch(p1, encodeRecordBatch([rec('b0'), rec('b1')], { baseOffset: 77, timestamp: 8000 }));
      await store.deleteRecordsBefore(p0, 1);
      await store.deleteTopic('gone');
      await store.flush();

      const snapshot = async (s: LogStore) => ({
        topics: (await s.listTopics()).sort(),
        config: await s.describeTopic('persist'),
        offsets: [await s.offsets(p0), await s.offsets(p1)],
        records: [await s.read(p0, 1, 100), await s.read(p1, 0, 100)],
        bytes: [(await s.fetch(p0, 1, MiB)).batches, (await s.fetch(p1, 0, MiB)).batches],
        byTime: await s.offsetForTimestamp(p0, 6500),
      });
      const before = await snapshot(store);
      expect(before.topics).toEqual(['persist']);
      expect(before.offsets).toEqual([
        { logStartOffset: 1, highWatermark: 3 },
        { logStartOffset: 0, highWatermark: 2 },
      ]);
      expect(texts(before.records[0])).toEqual(['v1', 'v2']);
      expect(before.byTime).toBe(2);
      if (!subject.canReopen) return;

      store = await subject.reopen();
      const after = await snapshot(store);
      expect(after).toEqual(before);
      expect(after.config).toMatchObject({ partitions: 2, retentionMs: 86_400_000, extra: { 'x.y': 'z' } });
      expect((await store.append(p0, [rec('v3')])).baseOffset).toBe(3);
      expect((await store.append(p1, [rec('b2')])).baseOffset).toBe(2);
      await expect(store.offsets({ topic: 'gone', partition: 0 })).rejects.toBeInstanceOf(UnknownTopicError);

      // A second cycle also keeps what was appended after the first reopen.
      store = await subject.reopen();
      expect(texts(await store.read(p0, 1, 100))).toEqual(['v1', 'v2', 'v3']);
      expect(await store.offsets(p1)).toEqual({ logStartOffset: 0, highWatermark: 3 });
    });
  });
}
