/** The plugin definition: identity, option defaults, setup providing both stores, stop closing them. */
import { type LogStore, type MetaStore, type PluginContext, systemClock } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plugin, { type S3StorageOptions, s3OptionsSchema } from '../src/index.js';
import { silentLogger, testOptions } from './support/harness.js';
import { type S3TestServer, startS3TestServer } from './support/s3-server.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.dispose();
});

describe('storage-s3 plugin', () => {
  it('declares itself as a storage plugin for kernel API ^1 with defaulted options', () => {
    expect(plugin).toMatchObject({
      name: 'storage-s3',
      kind: 'storage',
      version: '0.1.0',
      kernelApi: '^1',
      envPrefix: 'STORAGE_S3',
    });
    const defaults = s3OptionsSchema.parse({});
    expect(defaults).toMatchObject({
      region: 'us-east-1',
      bucket: 'robustmq',
      prefix: 'robustmq',
      forcePathStyle: false,
      createBucket: false,
      flushIntervalMs: 250,
      flushBytes: 8 * 1024 * 1024,
      retry: { attempts: 6 },
      compaction: { enabled: true },
    });
    expect(s3OptionsSchema.safeParse({ endpoint: 'not a url' }).success).toBe(false);
  });

  it('setup provides a LogStore and MetaStore over the bucket; stop flushes and closes them', async () => {
    let provided: { logStore: LogStore; metaStore: MetaStore } | undefined;
    const options = s3OptionsSchema.parse(testOptions(server));
    const ctx = {
      name: 'storage-s3',
      options,
      logger: silentLogger,
      clock: systemClock,
      provideStorage: (stores: { logStore: LogStore; metaStore: MetaStore }) => {
        provided = stores;
      },
    } as unknown as PluginContext<S3StorageOptions>;
    const instance = await plugin.setup(ctx);
    expect(provided).toBeDefined();
    expect(instance?.ready?.()).toBe(true);
    await provided!.logStore.createTopic('p');
    await provided!.metaStore.put('k', Buffer.from('v'));
    await instance?.stop?.(1000, new AbortController().signal);
    await expect(provided!.metaStore.put('k', Buffer.from('w'))).rejects.toMatchObject({ code: 'closed' });
    expect(instance?.ready?.()).toBe(false);
  });
});
