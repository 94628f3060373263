/** Unit tests of the small modules: retry policy, LRU, state replay and the write buffer. */
import { describe, expect, it } from 'vitest';
import { encodeLogObject, decodeLogHeader } from '../src/log-object.js';
import { logKey, seqOf, snapshotKey } from '../src/layout.js';
import { ByteLru } from '../src/lru.js';
import type { Op } from '../src/ops.js';
import { RetriesExhaustedError, backoffDelay, isTransient, withRetry } from '../src/retry.js';
import { StoreState } from '../src/state.js';
import { WriteBuffer } from '../src/write-buffer.js';

const httpError = (status: number, name = 'Error') =>
  Object.assign(new Error('x'), { name, $metadata: { httpStatusCode: status } });

describe('retry', () => {
  it('classifies network errors, 5xx, 429 and throttling codes as transient, other 4xx as final', () => {
    expect(isTransient(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransient(httpError(503))).toBe(true);
    expect(isTransient(httpError(429))).toBe(true);
    expect(isTransient(httpError(400, 'RequestTimeout'))).toBe(true);
    for (const status of [403, 404, 412]) expect(isTransient(httpError(status))).toBe(false);
  });

  it('backs off exponentially with full jitter under the cap', () => {
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 200; i++) {
      expect(backoffDelay(policy, 1)).toBeLessThan(100);
      expect(backoffDelay(policy, 3)).toBeLessThan(400);
      expect(backoffDelay(policy, 9)).toBeLessThan(1000);
    }
    const samples = Array.from({ length: 200 }, () => backoffDelay(policy, 4));
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(100); // jittered, not fixed
  });

  it('retries transient failures, gives up after the budget, and rethrows final errors at once', async () => {
    const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
    let calls = 0;
    expect(await withRetry(policy, async () => (++calls < 3 ? Promise.reject(httpError(500)) : 'ok'))).toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    const exhausted = await withRetry(policy, async () => {
      calls++;
      throw httpError(503);
    }).catch((e: unknown) => e);
    expect(exhausted).toBeInstanceOf(RetriesExhaustedError);
    expect((exhausted as Error).message).toMatch(/after 3 attempts: HTTP 503/);
    calls = 0;
    await expect(
      withRetry(policy, async () => {
        calls++;
        throw httpError(403);
      }),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(calls).toBe(1);
  });
});

describe('ByteLru', () => {
  it('evicts least recently used entries beyond its byte budget', () => {
    const lru = new ByteLru(10);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    lru.get('a');
    lru.set('c', Buffer.alloc(4));
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBeDefined();
    expect(lru.get('c')).toBeDefined();
    expect(lru.size).toBe(8);
    lru.set('huge', Buffer.alloc(11));
    expect(lru.get('huge')).toBeUndefined();
  });
});

describe('layout and log objects', () => {
  it('names sort by position and round-trip', () => {
    expect(logKey(12) < logKey(100)).toBe(true);
    expect(seqOf(logKey(12345))).toBe(12345);
    expect(seqOf(snapshotKey(7))).toBe(7);
    expect(seqOf('log/garbage')).toBeNaN();
  });

  it('a log object carries its header and data', () => {
    const ops: Op[] = [{ t: 'put', k: 'a', v: 'AA==' }];
    const { body, dataStart } = encodeLogObject({ v: 1, seq: 3, epoch: 1, writer: 'w', time: 1, ops }, [Buffer.from('data')]);
    const decoded = decodeLogHeader(body);
    expect(decoded.dataStart).toBe(dataStart);
    expect(decoded.header.ops).toEqual(ops);
    expect(body.subarray(dataStart).toString()).toBe('data');
    expect(() => decodeLogHeader(Buffer.from('nope-nope'))).toThrow(/not a storage-s3 log object/);
  });
});

describe('StoreState', () => {
  const apply = (state: StoreState, seq: number, ops: Op[]) => state.applyObject(seq, logKey(seq), 1000, 100, ops);
  const range = { fts: 1, mts: 2 };

  it('replays appends, trims, compactions and deletions deterministically, and snapshots round-trip', () => {
    const state = new StoreState();
    apply(state, 1, [{ t: 'claim', epoch: 1, writer: 'w' }]);
    apply(state, 2, [
      { t: 'topic', topic: 't', id: 'i1', config: { partitions: 1 } },
      { t: 'append', topic: 't', p: 0, base: 0, last: 4, start: 0, len: 50, ...range },
    ]);
    apply(state, 3, [{ t: 'append', topic: 't', p: 0, base: 5, last: 9, start: 0, len: 50, ...range }]);
    expect(state.topics.get('t')!.partitions[0].next).toBe(10);
    expect([...state.objects.keys()]).toEqual([logKey(2), logKey(3)]);

    apply(state, 4, [
      {
        t: 'compact',
        object: 'data/x',
        size: 100,
        lo: 2,
        hi: 3,
        sources: [logKey(2), logKey(3)],
        entries: [{ topic: 't', id: 'i1', p: 0, base: 0, last: 9, start: 0, len: 100, ...range }],
      },
    ]);
    expect([...state.objects.keys()]).toEqual(['data/x']);
    expect(state.topics.get('t')!.partitions[0].entries).toHaveLength(1);

    const copy = StoreState.decode(state.encode());
    expect(copy.toJSON()).toEqual(state.toJSON());

    apply(state, 5, [{ t: 'trim', topic: 't', p: 0, start: 10 }]);
    expect(state.objects.size).toBe(0);
    expect(state.topics.get('t')!.partitions[0]).toMatchObject({ logStart: 10, next: 10, entries: [] });
    expect(state.claims).toEqual([1]);
  });

  it('a compaction of a topic that was deleted and re-created meanwhile leaves the new topic alone', () => {
    const state = new StoreState();
    apply(state, 1, [
      { t: 'topic', topic: 't', id: 'old', config: { partitions: 1 } },
      { t: 'append', topic: 't', p: 0, base: 0, last: 0, start: 0, len: 10, ...range },
      { t: 'untopic', topic: 't' },
      { t: 'topic', topic: 't', id: 'new', config: { partitions: 1 } },
    ]);
    apply(state, 2, [
      {
        t: 'compact',
        object: 'data/y',
        size: 10,
        lo: 1,
        hi: 1,
        sources: [logKey(1)],
        entries: [{ topic: 't', id: 'old', p: 0, base: 0, last: 0, start: 0, len: 10, ...range }],
      },
    ]);
    expect(state.topics.get('t')!.partitions[0].entries).toEqual([]);
    expect(state.objects.size).toBe(0);
  });
});

describe('WriteBuffer', () => {
  it('lays out a partition’s batches back to back and splits index ranges at the interval', () => {
    const buf = new WriteBuffer(25);
    const b = (n: number) => Buffer.alloc(10, n);
    buf.addBatch('t', 0, b(1), 0, 0, 5, 5, 0);
    buf.addBatch('t', 1, b(2), 0, 0, 5, 5, 0);
    buf.addBatch('t', 0, b(3), 1, 1, 3, 7, 0);
    buf.addBatch('t', 0, b(4), 2, 2, 6, 6, 0); // 30 bytes > 25: a new range
    buf.addOp({ t: 'trim', topic: 't', p: 0, start: 1 }, 0);
    buf.addBatch('t', 0, b(5), 3, 3, 6, 6, 0); // after a structural op: a new range
    const { ops, data } = buf.seal();
    expect(ops.map((o) => (o.t === 'append' ? `${o.p}:${o.base}-${o.last}@${o.start}+${o.len}` : o.t))).toEqual([
      '0:0-1@0+20',
      '1:0-0@20+10',
      '0:2-2@30+10',
      'trim',
      '0:3-3@40+10',
    ]);
    expect(ops[0]).toMatchObject({ fts: 3, mts: 7 });
    expect(Buffer.concat(data)).toEqual(Buffer.concat([b(1), b(3), b(2), b(4), b(5)]));
  });
});
