/** Batching, the read cache, retention, compaction, snapshots and garbage collection. */
import type { LogStore } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Storage } from '../src/index.js';
import { openStorage, testOptions } from './support/harness.js';
import { type S3TestServer, startS3TestServer } from './support/s3-server.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.dispose();
});

const rec = (s: string, timestamp?: number) => ({ value: Buffer.from(s), timestamp });

async function keys(storage: S3Storage, dir: string): Promise<string[]> {
  return (await storage.engine.io.list(dir)).map((o) => o.key);
}

async function allValues(store: LogStore, topic: string, partition = 0): Promise<string[]> {
  const { logStartOffset } = await store.offsets({ topic, partition });
  return (await store.read({ topic, partition }, logStartOffset, 100_000)).map((r) => r.value!.toString());
}

describe('write batching', () => {
  it('many small appends across partitions share a few PUTs, each indexed per partition', async () => {
    const storage = await openStorage(testOptions(server, { flushIntervalMs: 100 }));
    const log = storage.logStore;
    await log.createTopic('many', { partitions: 8 });
    const putsBefore = storage.stats.puts;
    await Promise.all(Array.from({ length: 400 }, (_, i) => log.append({ topic: 'many', partition: i % 8 }, [rec(`m${i}`)])));
    const puts = storage.stats.puts - putsBefore;
    expect(puts).toBeGreaterThanOrEqual(1);
    expect(puts).toBeLessThanOrEqual(3);
    for (let p = 0; p < 8; p++) {
      expect(await allValues(log, 'many', p)).toEqual(Array.from({ length: 50 }, (_, k) => `m${k * 8 + p}`));
      // One index entry per partition per object, not one per append.
      expect(storage.engine.durable.topics.get('many')!.partitions[p].entries.length).toBe(puts);
    }
    await storage.close();
  });

  it('a flush starts early once flushBytes are buffered', async () => {
    const storage = await openStorage(testOptions(server, { flushIntervalMs: 60_000, flushBytes: 64 * 1024 }));
    await storage.logStore.createTopic('big'); // an idle store flushes at once; the next flush is 60 s away…
    const started = Date.now();
    await storage.logStore.append({ topic: 'big', partition: 0 }, [{ value: Buffer.alloc(100 * 1024, 1) }]);
    expect(Date.now() - started).toBeLessThan(5_000); // …unless flushBytes are buffered
    await storage.close();
  });
});

describe('read path', () => {
  it('a cold store reads by ranged GET, then serves repeats from the LRU', async () => {
    const options = testOptions(server);
    const writer = await openStorage(options);
    await writer.logStore.createTopic('r', { partitions: 2 });
    for (let i = 0; i < 5; i++) await writer.logStore.append({ topic: 'r', partition: i % 2 }, [rec(`r${i}`)]);
    await writer.close();

    const reader = await openStorage(options);
    const getsBefore = reader.stats.gets;
    expect(await allValues(reader.logStore, 'r', 0)).toEqual(['r0', 'r2', 'r4']);
    const coldGets = reader.stats.gets - getsBefore;
    expect(coldGets).toBe(3);
    expect(await allValues(reader.logStore, 'r', 0)).toEqual(['r0', 'r2', 'r4']);
    expect(reader.stats.gets - getsBefore).toBe(coldGets);
    await reader.close();
  });
});

describe('retention, compaction and collection', () => {
  it('retentionMs and retentionBytes trim old objects, which are then deleted from the bucket', async () => {
    const storage = await openStorage(testOptions(server, { compaction: { enabled: false } }));
    const log = storage.logStore;
    const old = Date.now() - 3_600_000;
    await log.createTopic('timed', { retentionMs: 60_000 });
    await log.createTopic('sized', { retentionBytes: 1 });
    await log.createTopic('kept');
    for (let i = 0; i < 3; i++) await log.append({ topic: 'timed', partition: 0 }, [rec(`old${i}`, old)]);
    await log.append({ topic: 'timed', partition: 0 }, [rec('new')]);
    for (let i = 0; i < 3; i++) await log.append({ topic: 'sized', partition: 0 }, [rec(`s${i}`)]);
    await log.append({ topic: 'kept', partition: 0 }, [rec('k', old)]);
    const logsBefore = await keys(storage, 'log/');

    const report = await storage.maintain();
    expect(report.trimmed).toBe(2);
    expect(await log.offsets({ topic: 'timed', partition: 0 })).toEqual({ logStartOffset: 3, highWatermark: 4 });
    expect(await allValues(log, 'timed')).toEqual(['new']);
    expect(await allValues(log, 'sized')).toEqual(['s2']); // the newest object always stays
    expect(await allValues(log, 'kept')).toEqual(['k']);
    const logsAfter = await keys(storage, 'log/');
    expect(logsAfter.length).toBeLessThan(logsBefore.length);
    expect(await keys(storage, 'snapshot/')).toHaveLength(1);
    await storage.close();
  });

  it('compaction merges small objects; reads, timestamps and a restart see the same data', async () => {
    const options = testOptions(server, {
      compaction: { enabled: true, minObjects: 4, smallObjectBytes: 1 << 20, targetObjectBytes: 8 << 20 },
    });
    const storage = await openStorage(options);
    const log = storage.logStore;
    await log.createTopic('c', { partitions: 3 });
    for (let i = 0; i < 30; i++) await log.append({ topic: 'c', partition: i % 3 }, [rec(`c${i}`, 1000 + i)]);
    await log.deleteRecordsBefore({ topic: 'c', partition: 0 }, 2);
    await storage.metaStore.put('meta/k', Buffer.from('v'));
    const before = await Promise.all([0, 1, 2].map((p) => allValues(log, 'c', p)));
    const objectsBefore = storage.engine.durable.objects.size;

    const report = await storage.maintain();
    expect(report.compacted).toBe(objectsBefore);
    expect(storage.engine.durable.objects.size).toBe(1);
    expect(await keys(storage, 'data/')).toHaveLength(1);
    // Only the claim and the compaction's own log object remain of the log.
    expect((await keys(storage, 'log/')).length).toBeLessThanOrEqual(3);
    for (let p = 0; p < 3; p++) {
      expect(await allValues(log, 'c', p)).toEqual(before[p]);
      expect(storage.engine.durable.topics.get('c')!.partitions[p].entries).toHaveLength(1);
    }
    expect(await log.offsetForTimestamp({ topic: 'c', partition: 1 }, 1010)).toBe(3);
    expect((await log.append({ topic: 'c', partition: 0 }, [rec('later')])).baseOffset).toBe(10);
    await storage.close();

    const reopened = await openStorage(options);
    expect(await allValues(reopened.logStore, 'c', 0)).toEqual([...before[0], 'later']);
    expect(await allValues(reopened.logStore, 'c', 2)).toEqual(before[2]);
    expect((await reopened.metaStore.get('meta/k'))?.toString()).toBe('v');
    await reopened.close();
  });

  it('deleting a topic frees its objects; a snapshot bounds the replay at the next start', async () => {
    const options = testOptions(server, { compaction: { enabled: false }, snapshotEveryObjects: 5 });
    const storage = await openStorage(options);
    await storage.logStore.createTopic('gone');
    await storage.logStore.createTopic('stays');
    for (let i = 0; i < 4; i++) await storage.logStore.append({ topic: 'gone', partition: 0 }, [rec(`g${i}`)]);
    await storage.logStore.append({ topic: 'stays', partition: 0 }, [rec('s')]);
    await storage.logStore.deleteTopic('gone');
    const report = await storage.maintain();
    expect(report.snapshot).toBe(storage.engine.durable.seq);
    expect([...storage.engine.durable.objects.keys()]).toHaveLength(1);
    const logs = await keys(storage, 'log/');
    expect(logs.length).toBeLessThanOrEqual(2); // the claim and the object holding 'stays'
    await storage.close();

    const reopened = await openStorage(options);
    expect(reopened.engine.lastSnapshotSeq).toBeGreaterThan(0);
    expect(await reopened.logStore.listTopics()).toEqual(['stays']);
    expect(await allValues(reopened.logStore, 'stays')).toEqual(['s']);
    await reopened.close();
  });
});
