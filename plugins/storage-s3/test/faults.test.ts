/** S3 outages, throttling and start-up refusals against the real test server. */
import net from 'node:net';
import { PluginStartError, StorageError } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, openStorage, testOptions } from './support/harness.js';
import { type S3TestServer, startS3TestServer } from './support/s3-server.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.dispose();
});

const tp = { topic: 'f', partition: 0 };
const rec = (s: string) => ({ value: Buffer.from(s) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('S3 outages', () => {
  it('server stopped mid-write and restarted: in-flight appends ride it out and nothing acknowledged is lost', async () => {
    const options = testOptions(server, { retry: { attempts: 100, baseDelayMs: 50, maxDelayMs: 300 } });
    const storage = await openStorage(options);
    await storage.logStore.createTopic('f');
    const acked: string[] = [];
    const errors: unknown[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          await storage.logStore.append(tp, [rec(`${w}-${i}`)]);
          acked.push(`${w}-${i}`);
        } catch (err) {
          errors.push(err);
          return;
        }
      }
    });
    await sleep(200);
    await server.kill();
    const ackedAtKill = acked.length;
    await sleep(600);
    await server.restart();
    await sleep(300);
    stop = true;
    await Promise.all(writers);
    expect(errors).toEqual([]);
    expect(acked.length).toBeGreaterThan(ackedAtKill);
    await storage.close();

    const reopened = await openStorage(options);
    const records = await reopened.logStore.read(tp, 0, 100_000);
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    expect(records.map((r) => r.value!.toString()).sort()).toEqual([...acked].sort());
    await reopened.close();
  });

  it('an outage longer than the retry budget fails appends with a clear error, then the store recovers', async () => {
    const options = testOptions(server, { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    const storage = await openStorage(options);
    await storage.logStore.createTopic('f');
    await storage.logStore.append(tp, [rec('before')]);
    await storage.metaStore.put('session', Buffer.from('s1'));

    await server.kill();
    const failed = await storage.logStore.append(tp, [rec('during')]).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StorageError);
    expect((failed as StorageError).code).toBe('unavailable');
    expect((failed as Error).message).toMatch(/S3 unavailable during upload .*after 2 attempts/);
    // Until the failed upload's fate is known, writes are refused at once rather than queued.
    await expect(storage.metaStore.put('session', Buffer.from('s2'))).rejects.toMatchObject({ code: 'unavailable' });
    // Reads keep working from memory and the cache.
    expect((await storage.logStore.read(tp, 0, 10)).map((r) => r.value!.toString())).toEqual(['before']);

    await server.restart();
    let after: number | undefined;
    for (let i = 0; i < 300 && after === undefined; i++) {
      after = await storage.logStore.append(tp, [rec('after')]).then(
        (r) => r.baseOffset,
        () => undefined,
      );
      if (after === undefined) await sleep(100);
    }
    expect(after).toBe(1);
    await storage.close();

    const reopened = await openStorage(options);
    expect((await reopened.logStore.read(tp, 0, 10)).map((r) => r.value!.toString())).toEqual(['before', 'after']);
    expect((await reopened.metaStore.get('session'))?.toString()).toBe('s1');
    await reopened.close();
  });

  it('close does not hang while S3 stays down', async () => {
    const storage = await openStorage(testOptions(server, { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }));
    await storage.logStore.createTopic('f');
    await server.kill();
    try {
      await expect(storage.logStore.append(tp, [rec('lost')])).rejects.toMatchObject({ code: 'unavailable' });
      const started = Date.now();
      await storage.close();
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(storage.logStore.append(tp, [rec('after close')])).rejects.toMatchObject({ code: 'closed' });
    } finally {
      await server.restart();
    }
  });

  it('throttling (503 SlowDown) is retried with backoff and the append succeeds', async () => {
    const storage = await openStorage(testOptions(server, { retry: { attempts: 6, baseDelayMs: 10, maxDelayMs: 50 } }));
    await storage.logStore.createTopic('f');
    const putsBefore = storage.stats.puts;
    await server.slowDown(3);
    expect((await storage.logStore.append(tp, [rec('x')])).baseOffset).toBe(0);
    expect(storage.stats.puts - putsBefore).toBe(4);
    // Throttled past the budget: the client gets a clear error naming the throttling.
    await server.slowDown(6);
    const err = await storage.logStore.append(tp, [rec('y')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toMatch(/after 6 attempts: HTTP 503 SlowDown/);
    await storage.close();
  });
});

describe('start-up refusals', () => {
  it('wrong credentials: refuses to start and names the credentials option', async () => {
    const err = await openStorage(testOptions(server, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'nope' } })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginStartError);
    expect((err as PluginStartError).field).toBe('credentials');
    expect((err as Error).message).toMatch(/rejected the credentials for bucket "robustmq-test".*fix: set options.credentials/);
  });

  it('no credentials anywhere: refuses to start at once, naming the credentials option', async () => {
    const saved = { ...process.env };
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[k];
    Object.assign(process.env, {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
    });
    try {
      const err = await openStorage({ ...testOptions(server), credentials: undefined }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PluginStartError);
      expect((err as PluginStartError).field).toBe('credentials');
      expect((err as Error).message).toMatch(/no AWS credentials found/);
    } finally {
      process.env = saved;
    }
  });

  it('missing bucket: refuses unless createBucket is set, then creates it', async () => {
    const bucket = `missing-${Date.now()}`;
    const err = await openStorage(testOptions(server, { bucket, createBucket: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginStartError);
    expect((err as PluginStartError).field).toBe('bucket');
    expect((err as Error).message).toMatch(/bucket ".*" does not exist.*createBucket: true/);

    const storage = await openStorage(testOptions(server, { bucket, createBucket: true }));
    await storage.metaStore.put('k', Buffer.from('v'));
    await storage.close();
    const again = await openStorage(testOptions(server, { bucket, createBucket: false, prefix: 'other' }));
    await again.close();
    expect(bucket).not.toBe(BUCKET);
  });

  it('unreachable endpoint: refuses to start after the retries, naming the endpoint', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const err = await openStorage({
      ...testOptions(server, { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } }),
      endpoint: `http://127.0.0.1:${port}`,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginStartError);
    expect((err as PluginStartError).field).toBe('endpoint');
    expect((err as Error).message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+.*ECONNREFUSED/);
  });
});
