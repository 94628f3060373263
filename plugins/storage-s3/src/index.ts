/**
 * storage-s3: the broker's logs and metadata on any S3-compatible object store.
 * See README.md for the object layout and the consistency and fencing model.
 */
import { definePlugin } from '@robustmq/sdk';
import { s3OptionsSchema } from './options.js';
import { S3Storage } from './storage.js';

export { S3Storage } from './storage.js';
export { S3Engine, toStorageError } from './engine.js';
export { s3OptionsSchema, type S3StorageOptions, type S3StorageInput } from './options.js';
export type { MaintenanceReport } from './maintenance.js';

export default definePlugin({
  name: 'storage-s3',
  kind: 'storage',
  version: '0.1.0',
  kernelApi: '^1',
  configSchema: s3OptionsSchema,
  envPrefix: 'STORAGE_S3',
  async setup(ctx) {
    const logger = ctx.logger.child({ plugin: 'storage-s3' });
    // Opening here (not in start) lets the kernel hand the stores to plugins set up after us;
    // a refusal (credentials, bucket, endpoint) is a PluginStartError naming the option.
    const storage = await S3Storage.open(ctx.options, { logger, clock: ctx.clock });
    ctx.provideStorage({ logStore: storage.logStore, metaStore: storage.metaStore });
    return {
      ready: () => !storage.engine.isClosed && !storage.engine.isFenced,
      async stop() {
        await storage.close();
      },
    };
  },
});
