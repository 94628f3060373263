import { type AppendResult, type BatchHeader, encodeRecordBatch, readBatchHeader } from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import { PartitionProducers, REMEMBERED } from '../src/partition-producers.js';
import { ErrorCode } from '../src/protocol/errors.js';

/** The header of a stored batch of `n` records at `offset`. */
const stored = (producerId: number, epoch: number, baseSequence: number, n: number, offset: number): BatchHeader =>
  readBatchHeader(
    encodeRecordBatch(
      Array.from({ length: n }, () => ({ value: Buffer.from('v') })),
      { baseOffset: offset, producerId, producerEpoch: epoch, baseSequence },
    ),
  );
const result = (baseOffset: number, n: number): AppendResult => ({
  baseOffset,
  lastOffset: baseOffset + n - 1,
  logAppendTime: 1,
});
const settle = () => new Promise((r) => setImmediate(r));

describe('PartitionProducers (unit)', () => {
  it('snapshot then overlapping log replay: every batch once, the last 5 kept', async () => {
    const live = new PartitionProducers('t', 0);
    for (let i = 0; i < 3; i++) live.appended(7, 0, i * 2, 2, Promise.resolve(result(i * 2, 2)));
    const failed = Promise.reject(new Error('disk'));
    live.appended(7, 0, 6, 2, failed);
    await settle();
    // The failed append is left out of the snapshot; the snapshot says "state as of offset 6".
    const snap = PartitionProducers.serialize(6, live.capture());
    expect(snap.producers).toHaveLength(1);
    expect(snap.producers[0][3].map((b) => b[2])).toEqual([0, 2, 4]);

    const back = new PartitionProducers('t', 0);
    back.restore(JSON.parse(JSON.stringify(snap)));
    // Replay from an offset before the snapshot's end (overlap) up to the log end.
    for (const h of [stored(7, 0, 4, 2, 4), stored(7, 0, 6, 2, 6), stored(9, 0, 0, 1, 8), stored(7, 0, 8, 2, 9)])
      back.replay(h, 1);
    for (let seq = 10, off = 11; seq < 20; seq += 2, off += 2) back.replay(stored(7, 0, seq, 2, off), 1);
    const seven = back.producers.get(7)!;
    expect(seven.batches).toHaveLength(REMEMBERED);
    expect(seven.batches.map((b) => b.firstSeq)).toEqual([10, 12, 14, 16, 18]);
    const dup = back.check(7, 0, 14, 2);
    expect(dup.kind).toBe('duplicate');
    if (dup.kind === 'duplicate') expect((await dup.result).baseOffset).toBe(15);
    expect(back.check(7, 0, 8, 2)).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(back.check(7, 0, 20, 2)).toEqual({ kind: 'append' });
    expect(back.check(9, 0, 1, 5)).toEqual({ kind: 'append' });
    expect(back.check(9, 0, 0, 1)).toMatchObject({ kind: 'duplicate' });
  });

  it('a newer epoch replaces the state; older epochs are refused; idle producers expire', () => {
    const s = new PartitionProducers('t', 0);
    s.replay(stored(3, 0, 0, 2, 0), 1000);
    s.replay(stored(3, 1, 0, 1, 2), 1000);
    expect(s.producers.get(3)!.batches).toHaveLength(1);
    s.replay(stored(3, 0, 2, 2, 3), 1000); // a stale epoch in the log is ignored
    expect(s.producers.get(3)!.batches).toHaveLength(1);
    expect(s.check(3, 0, 2, 2)).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
    expect(s.check(3, 1, 1, 1)).toEqual({ kind: 'append' });
    s.replay(stored(4, 0, 0, 1, 5), 5000);
    s.dirty = false;
    expect(s.expire(2000)).toBe(1);
    expect([...s.producers.keys()]).toEqual([4]);
    expect(s.dirty).toBe(true);
  });
});
