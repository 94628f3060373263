import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { decodeRecordBatches, type StoredRecord } from '@robustmq/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileStorage } from '../src/index.js';
import { topicDirName } from '../src/paths.js';
import { open, tempDir } from './helpers.js';

const tp = { topic: 'state/compacted', partition: 0 };
const kv = (k: string | null, v: string | null) => ({
  key: k === null ? null : Buffer.from(k),
  value: v === null ? null : Buffer.from(v),
});
const view = (records: StoredRecord[]) => records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null]);

describe('storage-file compaction (cleanupPolicy compact)', () => {
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

  async function reopen(): Promise<FileStorage> {
    await storage?.close();
    storage = await open(tmp.dir, { segmentBytes: 1024, indexIntervalBytes: 128 });
    return storage;
  }

  it('keeps the latest record per key in sealed segments, with offsets, null keys and tombstones intact', async () => {
    const s = await reopen();
    await s.logStore.createTopic(tp.topic, { cleanupPolicy: 'compact' });
    // 200 updates over 10 keys, a keyless record, and a tombstone, spread over many segments.
    for (let i = 0; i < 200; i++) {
      const records = [kv(`k${i % 10}`, `v${i}-${'.'.repeat(40)}`)];
      if (i === 50) records.push(kv(null, 'no-key'));
      if (i === 120) records.push(kv('k3', null));
      await s.logStore.append(tp, records);
    }
    const before = await s.logStore.read(tp, 0, 10_000);
    const segments = s.logStore.segments(tp);
    expect(segments.length).toBeGreaterThan(5);
    const activeBase = segments[segments.length - 1].baseOffset;

    const removed = await s.logStore.compact();
    expect(removed).toBeGreaterThan(100);
    const after = await s.logStore.read(tp, 0, 10_000);
    expect(after.length).toBe(before.length - removed);

    // Expected: in sealed segments only records that are the latest of their key (or keyless);
    // everything in the active segment as it was.
    const latest = new Map<string, number>();
    for (const r of before) if (r.key) latest.set(r.key.toString(), r.offset);
    const expected = before.filter((r) => r.offset >= activeBase || r.key === null || latest.get(r.key.toString()) === r.offset);
    expect(view(after)).toEqual(view(expected));
    expect(after.some((r) => r.key === null && r.value?.toString() === 'no-key')).toBe(true);

    // Offsets, high watermark and log start are unchanged; fetch returns valid batches with gaps.
    expect(await s.logStore.offsets(tp)).toEqual({ logStartOffset: 0, highWatermark: before.at(-1)!.offset + 1 });
    const fetched = decodeRecordBatches((await s.logStore.fetch(tp, 0, 1 << 20)).batches).flatMap((b) => b.records);
    expect(fetched.map((r) => r.offset)).toEqual(after.slice(0, fetched.length).map((r) => r.offset));
    expect((await s.logStore.read(tp, 5, 1))[0].offset).toBe(after.find((r) => r.offset >= 5)?.offset);

    // Nothing newly sealed: a second pass does nothing.
    expect(await s.logStore.compact()).toBe(0);

    // Survives a restart (offset gaps accepted by recovery), and appends continue.
    const s2 = await reopen();
    expect(view(await s2.logStore.read(tp, 0, 10_000))).toEqual(view(after));
    const next = await s2.logStore.append(tp, [kv('k0', 'newest')]);
    expect(next.baseOffset).toBe(before.at(-1)!.offset + 1);
    const dir = path.join(tmp.dir, 'logs', topicDirName(tp.topic), '0');
    expect(await readdir(dir)).toContain('compacted');
    expect((await readdir(dir)).some((n) => n.endsWith('.cleaned'))).toBe(false);
  });

  it('reads running during compaction see every surviving record, in order, without errors', async () => {
    const s = await reopen();
    await s.logStore.createTopic(tp.topic, { cleanupPolicy: 'compact' });
    for (let i = 0; i < 300; i++) await s.logStore.append(tp, [kv(`k${i % 7}`, `v${i}-${'.'.repeat(40)}`)]);
    const reads = Array.from({ length: 12 }, (_, i) => s.logStore.read(tp, i * 3, 10_000));
    const removed = await s.logStore.compact();
    const results = await Promise.all(reads);
    expect(removed).toBeGreaterThan(0);
    const survivors = await s.logStore.read(tp, 0, 10_000);
    for (const [i, records] of results.entries()) {
      const offsets = records.map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(offsets.length);
      const seen = new Set(offsets);
      for (const r of survivors) if (r.offset >= i * 3) expect(seen.has(r.offset)).toBe(true);
    }
  });

  it('leaves topics with the delete policy alone', async () => {
    const s = await reopen();
    await s.logStore.createTopic('plain');
    for (let i = 0; i < 100; i++)
      await s.logStore.append({ topic: 'plain', partition: 0 }, [kv('same', `v${i}-${'.'.repeat(40)}`)]);
    expect(await s.logStore.compact()).toBe(0);
    expect(await s.logStore.read({ topic: 'plain', partition: 0 }, 0, 1000)).toHaveLength(100);
  });
});
