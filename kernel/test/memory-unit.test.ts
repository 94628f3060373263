import { encodeRecordBatch, OffsetOutOfRangeError, readBatchHeader, StorageError } from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import { MemoryLogStore, MemoryMetaStore } from '../src/memory/index.js';

// Behaviour of the memory stores beyond what the conformance kits pin down.
describe('MemoryLogStore specifics', () => {
  const tp = { topic: 't', partition: 0 };

  it('appendBatch accepts several batches back to back, assigns consecutive offsets, and leaves the caller buffer alone', async () => {
    const store = new MemoryLogStore();
    await store.createTopic('t');
    const raw = Buffer.concat([
      encodeRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }], { baseOffset: 500 }),
      encodeRecordBatch([{ value: Buffer.from('c') }], { baseOffset: 900 }),
    ]);
    const copy = Buffer.from(raw);
    expect(await store.appendBatch(tp, raw)).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    expect(raw.equals(copy)).toBe(true);
    expect(readBatchHeader(raw).baseOffset).toBe(500);
    const records = await store.read(tp, 0, 10);
    expect(records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('a batch with a bad tail is refused as a whole', async () => {
    const store = new MemoryLogStore();
    await store.createTopic('t');
    const good = encodeRecordBatch([{ value: Buffer.from('a') }], { baseOffset: 0 });
    await expect(store.appendBatch(tp, Buffer.concat([good, Buffer.from('junk')]))).rejects.toMatchObject({ code: 'corrupt' });
    expect(await store.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: 0 });
  });

  it('read, fetch and deleteRecordsBefore outside [logStartOffset, highWatermark] throw OffsetOutOfRangeError', async () => {
    const store = new MemoryLogStore();
    await store.createTopic('t');
    await store.append(tp, [{ value: Buffer.from('a') }, { value: Buffer.from('b') }, { value: Buffer.from('c') }]);
    await store.append(tp, [{ value: Buffer.from('d') }]);
    await store.deleteRecordsBefore(tp, 2);
    await expect(store.read(tp, 1, 10)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(store.fetch(tp, 5, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(store.deleteRecordsBefore(tp, 5)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    // The batch holding offsets 0-2 is kept whole while offset 2 is still readable.
    expect((await store.read(tp, 2, 10)).map((r) => r.offset)).toEqual([2, 3]);
    expect(await store.offsetForTimestamp(tp, 0)).toBe(2);
  });

  it('refuses to shrink, bad partition counts and empty appends', async () => {
    const store = new MemoryLogStore();
    await store.createTopic('t', { partitions: 2 });
    await expect(store.addPartitions('t', 1)).rejects.toThrow(/only be added/);
    await expect(store.createTopic('zero', { partitions: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(store.append(tp, [])).rejects.toBeInstanceOf(RangeError);
  });

  it('hands out copies of topic configs', async () => {
    const store = new MemoryLogStore();
    await store.createTopic('t', { extra: { a: '1' } });
    const cfg = await store.describeTopic('t');
    cfg!.extra!.a = 'changed';
    cfg!.partitions = 99;
    expect(await store.describeTopic('t')).toEqual({ partitions: 1, extra: { a: '1' } });
  });

  it('refuses calls once closed; a new store over the same data serves them', async () => {
    const store = new MemoryLogStore();
    await store.createTopic('t');
    await store.close();
    await expect(store.listTopics()).rejects.toBeInstanceOf(StorageError);
    await expect(store.append(tp, [{ value: null }])).rejects.toMatchObject({ code: 'closed' });
    expect(await new MemoryLogStore({ data: store.data }).listTopics()).toEqual(['t']);
  });
});

describe('MemoryMetaStore specifics', () => {
  it('a batch with an invalid op changes nothing', async () => {
    const store = new MemoryMetaStore();
    await store.put('k', Buffer.from('v'));
    await expect(
      store.batch([
        { key: 'k', value: undefined },
        { key: 'x', value: 'not a buffer' as unknown as Buffer },
      ]),
    ).rejects.toBeInstanceOf(TypeError);
    expect((await store.get('k'))?.toString()).toBe('v');
    expect(await store.get('x')).toBeUndefined();
  });

  it('refuses calls once closed', async () => {
    const store = new MemoryMetaStore();
    await store.close();
    await expect(store.get('k')).rejects.toMatchObject({ code: 'closed' });
  });
});
