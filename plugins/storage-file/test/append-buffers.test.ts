/**
 * The append encoding path: the store's own encoder (byte-identical to the sdk's), staging memory
 * reused across write rounds, and the guarantee that a caller may reuse its buffers once an append
 * has resolved.
 */
import { randomBytes } from 'node:crypto';
import { encodeRecordBatch, type RecordInput, type TopicPartition, validateBatch } from '@robustmq/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sizeBatch, writeBatch } from '../src/batch-encoder.js';
import { type FileStorage, nodeFs, type StorageFs } from '../src/index.js';
import { StagingPool } from '../src/staging.js';
import { open, tempDir } from './helpers.js';

function encodeHere(records: RecordInput[], baseOffset: number, now: number): Buffer {
  const sized = sizeBatch(records, now);
  const out = Buffer.alloc(sized.size);
  const header = writeBatch(sized, baseOffset, out);
  expect(header.crc).toBe(out.readUInt32BE(17));
  return out;
}

describe('batch encoder', () => {
  const now = 1_764_000_000_000;
  const cases: Array<[string, RecordInput[], number]> = [
    ['one small record', [{ value: Buffer.from('x') }], 0],
    [
      'null value and key',
      [
        { key: Buffer.from('k'), value: null },
        { key: null, value: Buffer.alloc(0) },
      ],
      7,
    ],
    [
      'headers, including a null value and a non-ASCII key',
      [
        {
          value: Buffer.from('v'),
          headers: [
            { key: 'a', value: Buffer.from('1') },
            { key: 'é€', value: null },
          ],
        },
      ],
      2 ** 40,
    ],
    [
      'own timestamps out of order and far apart',
      [
        { value: Buffer.from('a'), timestamp: now - 5_000_000_000 },
        { value: Buffer.from('b'), timestamp: now + 1 },
        { value: Buffer.from('c') },
      ],
      12345,
    ],
    [
      'many records of mixed sizes',
      Array.from({ length: 300 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: randomBytes((i * 37) % 3000) })),
      99,
    ],
  ];

  for (const [name, records, base] of cases) {
    it(`writes the same bytes as the sdk encoder: ${name}`, () => {
      const expected = encodeRecordBatch(records, { baseOffset: base, timestamp: now });
      const actual = encodeHere(records, base, now);
      expect(actual.equals(expected)).toBe(true);
      expect(() => validateBatch(actual, 0)).not.toThrow();
    });
  }

  it('rejects an empty batch and a target of the wrong size', () => {
    expect(() => sizeBatch([], now)).toThrow(RangeError);
    const sized = sizeBatch([{ value: Buffer.from('abc') }], now);
    expect(() => writeBatch(sized, 0, Buffer.alloc(sized.size + 1))).toThrow(RangeError);
  });
});

describe('staging pool', () => {
  it('hands out disjoint memory per batch and keeps a bounded number of idle buffers', () => {
    const pool = new StagingPool(64 * 1024, 2);
    const stage = pool.acquire();
    const a = stage.take(5000);
    const b = stage.take(5000);
    const small = stage.take(100); // Node's own small-buffer pool
    const big = stage.take(100_000); // over the largest class: its own memory
    a.fill(1);
    b.fill(2);
    small.fill(3);
    big.fill(4);
    const other = pool.acquire().take(5000); // another round while this one is in flight
    other.fill(9);
    expect(a.every((x) => x === 1) && b.every((x) => x === 2) && small.every((x) => x === 3)).toBe(true);
    expect([a.length, b.length, small.length, big.length]).toEqual([5000, 5000, 100, 100_000]);
    expect(pool.idle).toBe(0);
    stage.release();
    expect(pool.idle).toBe(2); // a and b (8 KiB class)
    const again = pool.acquire();
    const reused = again.take(6000);
    expect(reused.buffer === a.buffer || reused.buffer === b.buffer).toBe(true);
    const s1 = pool.acquire();
    const s2 = pool.acquire();
    const s3 = pool.acquire();
    for (const s of [s1, s2, s3]) s.take(20_000);
    s1.release();
    s2.release();
    s3.release();
    expect(pool.idle).toBe(1 + 2); // one 8 KiB left idle, at most 2 of the 32 KiB class
  });
});

describe('append buffers', () => {
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

  /** An fs whose writes to topic `slow` wait first, so other partitions' rounds run meanwhile. */
  function slowFs(delayMs: number): StorageFs {
    return {
      ...nodeFs,
      async open(file, create) {
        const f = await nodeFs.open(file, create);
        const slow = file.includes('slow');
        return {
          read: (b, o, l, p) => f.read(b, o, l, p),
          async writev(buffers, position) {
            if (slow) await new Promise((r) => setTimeout(r, delayMs));
            return f.writev(buffers, position);
          },
          datasync: () => f.datasync(),
          truncate: (len) => f.truncate(len),
          size: () => f.size(),
          close: () => f.close(),
        };
      },
    };
  }

  it('stores intact batches when callers overwrite their buffers right after each append resolves', async () => {
    storage = await open(tmp.dir, { fsync: 'never', fs: slowFs(20) });
    const tps: TopicPartition[] = [
      { topic: 'slow', partition: 0 },
      { topic: 'fast', partition: 0 },
      { topic: 'fast', partition: 1 },
    ];
    await storage.logStore.createTopic('slow');
    await storage.logStore.createTopic('fast', { partitions: 2 });
    const s = storage;
    const expected = new Map<string, string[]>();
    // Appends of small records (Node's pool), of ~300 KB (a staging class) and of more than the largest class.
    const groups = [[10, 1000, 10], [300_000], [1_200_000]];
    const appends = 9;
    await Promise.all(
      tps.map(async (tp) => {
        const key = `${tp.topic}-${tp.partition}`;
        const hashes: string[] = [];
        expected.set(key, hashes);
        // Several producers per partition so rounds hold more than one append (group commit).
        await Promise.all(
          Array.from({ length: 3 }, async (_, producer) => {
            const buffers = groups.map((g) => g.map((n) => Buffer.alloc(n)));
            for (let i = 0; i < appends; i++) {
              const group = buffers[(i + producer) % groups.length];
              for (const [j, b] of group.entries()) b.fill(`${key}/${producer}/${i}/${j}|`);
              const { baseOffset } = await s.logStore.append(
                tp,
                group.map((value) => ({ value })),
              );
              for (const [j, b] of group.entries()) hashes[baseOffset + j] = b.toString('latin1', 0, 64);
              for (const b of group) b.fill(0xee); // reuse right away
            }
          }),
        );
      }),
    );

    const check = async (st: FileStorage) => {
      for (const tp of tps) {
        const hashes = expected.get(`${tp.topic}-${tp.partition}`) as string[];
        let n = 0;
        while (n < hashes.length) {
          const recs = await st.logStore.read(tp, n, 1000);
          expect(recs.length).toBeGreaterThan(0);
          for (const rec of recs) {
            expect(rec.offset).toBe(n);
            expect(rec.value?.toString('latin1', 0, 64)).toBe(hashes[n]);
            expect(rec.value?.includes(0xee)).toBe(false);
            n++;
          }
        }
        expect(n).toBe(3 * (appends / groups.length) * groups.reduce((sum, g) => sum + g.length, 0));
      }
    };
    await check(s);
    await s.close();
    // Recovery CRC-checks every batch of the active segments.
    storage = await open(tmp.dir, { fsync: 'never' });
    await check(storage);
  });
});
