/** Two brokers on one prefix: the newer one fences the older, and nothing acknowledged is lost. */
import { type LogStore, StorageError } from '@robustmq/sdk';
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

const tp = { topic: 'events', partition: 0 };
const rec = (s: string) => ({ value: Buffer.from(s) });

async function values(store: LogStore): Promise<string[]> {
  const records = await store.read(tp, 0, 100_000);
  expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
  return records.map((r) => r.value!.toString());
}

async function closeQuietly(...storages: S3Storage[]): Promise<void> {
  for (const s of storages) await s.close().catch(() => undefined);
}

describe('fencing', () => {
  it('a second writer takes over; the first one is refused with a fenced error on its next write', async () => {
    const options = testOptions(server);
    const a = await openStorage(options);
    await a.logStore.createTopic('events');
    await a.logStore.append(tp, [rec('a1'), rec('a2')]);
    await a.metaStore.put('k', Buffer.from('from-a'));

    const b = await openStorage(options);
    expect(await values(b.logStore)).toEqual(['a1', 'a2']);
    expect((await b.metaStore.get('k'))?.toString()).toBe('from-a');

    const refused = await a.logStore.append(tp, [rec('a3')]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as StorageError).code).toBe('fenced');
    expect((refused as Error).message).toMatch(/another broker/);
    await expect(a.metaStore.put('k', Buffer.from('late'))).rejects.toMatchObject({ code: 'fenced' });
    expect(a.engine.isFenced).toBe(true);

    await b.logStore.append(tp, [rec('b1')]);
    const c = await openStorage(options);
    expect(await values(c.logStore)).toEqual(['a1', 'a2', 'b1']);
    expect((await c.metaStore.get('k'))?.toString()).toBe('from-a');
    await closeQuietly(a, b, c);
  });

  it('racing writers never corrupt the log: every acknowledged append survives exactly once', async () => {
    const options = testOptions(server, { flushIntervalMs: 2 });
    const a = await openStorage(options);
    await a.logStore.createTopic('events');
    const acked: string[] = [];
    const refusals: string[] = [];
    let stop = false;
    const writer = async (store: LogStore, name: string) => {
      for (let i = 0; !stop; i++) {
        const value = `${name}-${i}`;
        try {
          await store.append(tp, [rec(value)]);
          acked.push(value);
        } catch (err) {
          refusals.push((err as StorageError).code);
          return;
        }
      }
    };
    const runA = Promise.all([writer(a.logStore, 'a0'), writer(a.logStore, 'a1')]);
    await new Promise((r) => setTimeout(r, 150));
    const b = await openStorage(options); // takes over while A is mid-stream
    const runB = writer(b.logStore, 'b');
    // Run until both of A's writers have been refused and B has written a few (bounded wait).
    for (let i = 0; i < 500 && (refusals.length < 2 || acked.filter((v) => v.startsWith('b')).length < 5); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await Promise.all([runA, runB]);
    expect(a.engine.isFenced).toBe(true);
    expect(refusals).toEqual(['fenced', 'fenced']); // both of A's writers, and never B
    await b.logStore.flush();

    const c = await openStorage(options);
    const stored = await values(c.logStore);
    expect(new Set(stored).size).toBe(stored.length);
    expect(new Set(stored)).toEqual(new Set(acked));
    expect(acked.some((v) => v.startsWith('a'))).toBe(true);
    expect(acked.some((v) => v.startsWith('b'))).toBe(true);
    await closeQuietly(a, b, c);
  });

  it('a stale writer stays fenced after the new owner snapshots and collects old log objects', async () => {
    const options = testOptions(server);
    const a = await openStorage(options);
    await a.logStore.createTopic('events');
    await a.logStore.append(tp, [rec('a1')]);
    const b = await openStorage(options);
    for (let i = 0; i < 5; i++) await b.metaStore.put(`m/${i}`, Buffer.from('x'));
    const report = await b.maintain({ snapshot: true });
    expect(report.deleted).toBeGreaterThan(0);
    // The claim object A would write next is kept, so A collides with it instead of writing into a hole.
    await expect(a.logStore.append(tp, [rec('a2')])).rejects.toMatchObject({ code: 'fenced' });
    const c = await openStorage(options);
    expect(await values(c.logStore)).toEqual(['a1']);
    expect((await c.metaStore.scan('m/')).length).toBe(5);
    await closeQuietly(a, b, c);
  });
});
