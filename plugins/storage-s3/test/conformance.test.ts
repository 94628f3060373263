/** The sdk conformance kits, unchanged, against storage-s3 on a real S3-compatible server. */
import type { LogStore, MetaStore } from '@robustmq/sdk';
import { describeLogStore, describeMetaStore } from '@robustmq/sdk/testing';
import { afterAll, beforeAll } from 'vitest';
import { openStorage, testOptions } from './support/harness.js';
import { type S3TestServer, startS3TestServer } from './support/s3-server.js';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.dispose();
});

describeLogStore('storage-s3', async () => {
  const options = testOptions(server);
  const storage = await openStorage(options);
  return {
    store: storage.logStore,
    reopen: async (): Promise<LogStore> => (await openStorage(options)).logStore,
  };
});

describeMetaStore('storage-s3', async () => {
  const options = testOptions(server);
  const storage = await openStorage(options);
  return {
    store: storage.metaStore,
    reopen: async (): Promise<MetaStore> => (await openStorage(options)).metaStore,
  };
});
