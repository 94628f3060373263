import { appendFile, readdir, stat, truncate } from 'node:fs/promises';
import * as path from 'node:path';
import { StorageError } from '@robustmq/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileStorage } from '../src/index.js';
import { faultyFs } from './faulty-fs.js';
import { open, tempDir } from './helpers.js';

const b = (s: string) => Buffer.from(s);

describe('storage-file meta store', () => {
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
    storage = await open(tmp.dir, extra);
    return storage;
  }

  const metaFiles = async () => (await readdir(path.join(tmp.dir, 'meta'))).sort();

  it('snapshots every N journal records, deletes covered journals, and recovers snapshot + journal', async () => {
    const s = await reopen({ metaSnapshotEvery: 10 });
    for (let i = 0; i < 35; i++) await s.metaStore.put(`k/${String(i).padStart(2, '0')}`, b(`v${i}`));
    await s.metaStore.delete('k/03');
    await s.metaStore.compareAndSet('k/04', b('v4'), b('v4-cas'));
    // Snapshots start on their own once enough journal has accumulated…
    for (let i = 0; i < 100 && !(await metaFiles()).some((f) => f.startsWith('snapshot-')); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await metaFiles()).some((f) => f.startsWith('snapshot-'))).toBe(true);
    await s.metaStore.snapshot(); // …and can be forced, which also lets the background one settle
    const files = await metaFiles();
    expect(files.filter((f) => f.startsWith('snapshot-'))).toHaveLength(1);
    expect(files.filter((f) => f.startsWith('wal-'))).toHaveLength(1);

    await s.metaStore.put('k/late', b('after-snapshot'));
    const s2 = await reopen({ metaSnapshotEvery: 10 });
    const entries = await s2.metaStore.scan('k/');
    expect(entries).toHaveLength(35);
    expect(await s2.metaStore.get('k/03')).toBeUndefined();
    expect((await s2.metaStore.get('k/04'))?.toString()).toBe('v4-cas');
    expect((await s2.metaStore.get('k/late'))?.toString()).toBe('after-snapshot');
  });

  it('survives snapshots and journal rotations racing concurrent writes', async () => {
    const s = await reopen({ metaSnapshotEvery: 5 });
    const model = new Map<string, string>();
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++) {
      const key = `r/${i % 97}`;
      if (i % 7 === 3) {
        model.delete(key);
        work.push(s.metaStore.delete(key));
      } else {
        model.set(key, `v${i}`);
        work.push(s.metaStore.put(key, b(`v${i}`)));
      }
      if (i % 100 === 50) work.push(s.metaStore.snapshot());
      if (i % 50 === 0) await Promise.resolve(); // let rounds interleave with new requests
    }
    await Promise.all(work);
    const expected = [...model.entries()].sort(([a], [c]) => (a < c ? -1 : 1));
    const dump = async (f: FileStorage) => (await f.metaStore.scan('r/')).map((e) => [e.key, e.value.toString()]);
    expect(await dump(s)).toEqual(expected);
    const s2 = await reopen({ metaSnapshotEvery: 5 });
    expect(await dump(s2)).toEqual(expected);
    expect((await metaFiles()).filter((f) => f.startsWith('snapshot-')).length).toBeLessThanOrEqual(2);
  });

  it('drops a torn record at the end of the journal and keeps everything before it', async () => {
    const s = await reopen();
    await s.metaStore.put('a', b('1'));
    await s.metaStore.batch([
      { key: 'b', value: b('2') },
      { key: 'c', value: b('3') },
    ]);
    await s.close();
    storage = undefined;
    const [wal] = (await metaFiles()).filter((f) => f.startsWith('wal-'));
    const walPath = path.join(tmp.dir, 'meta', wal);
    const size = (await stat(walPath)).size;
    await truncate(walPath, size - 3); // the batch record is now torn: dropped whole
    await appendFile(walPath, Buffer.from([1, 2])); // and some junk after it

    const s2 = await reopen();
    expect((await s2.metaStore.scan('')).map((e) => e.key)).toEqual(['a']);
    await s2.metaStore.put('d', b('4'));
    const s3 = await reopen();
    expect((await s3.metaStore.scan('')).map((e) => [e.key, e.value.toString()])).toEqual([
      ['a', '1'],
      ['d', '4'],
    ]);
  });

  it('concurrent writes are group-committed and compare-and-set stays linearizable', async () => {
    const { fs, faults } = faultyFs();
    const s = await reopen({ fs });
    const before = faults.datasyncs;
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.metaStore.put(`g/${i}`, b(String(i)))));
    expect(faults.datasyncs - before).toBeLessThan(25);
    const wins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.metaStore.compareAndSet('lock', undefined, b(`n${i}`))),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('disk full: writes fail with code disk-full and change nothing; reads work; writes recover', async () => {
    const { fs, faults } = faultyFs();
    const s = await reopen({ fs });
    await s.metaStore.put('session/1', b('one'));
    faults.write = 'ENOSPC';
    faults.partialBytes = 5;
    const err = await s.metaStore.put('session/2', b('two')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('disk-full');
    await expect(s.metaStore.compareAndSet('session/1', b('one'), b('uno'))).rejects.toMatchObject({ code: 'disk-full' });
    expect((await s.metaStore.get('session/1'))?.toString()).toBe('one');
    expect(await s.metaStore.get('session/2')).toBeUndefined();
    faults.write = undefined;
    faults.partialBytes = undefined;
    await s.metaStore.put('session/3', b('three'));
    const s2 = await reopen();
    expect((await s2.metaStore.scan('session/')).map((e) => [e.key, e.value.toString()])).toEqual([
      ['session/1', 'one'],
      ['session/3', 'three'],
    ]);
  });
});
