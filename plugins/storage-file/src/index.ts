/**
 * @robustmq/storage-file — the default storage: segmented RecordBatch v2 logs and a journaled
 * metadata store on local disk. See README.md for the on-disk layout and durability rules.
 */
import { definePlugin } from '@robustmq/sdk';
import { nodeFs } from './fs.js';
import { instrumentFs } from './metrics.js';
import { storageFileOptionsSchema } from './options.js';
import { type FileStorage, openFileStorage } from './storage.js';

export { type StorageFile, type StorageFs, nodeFs, toStorageError } from './fs.js';
export { DirLock } from './lock.js';
export { FileLogStore, type FileLogStoreOptions } from './log-store.js';
export { FileMetaStore, type FileMetaStoreOptions } from './meta-store.js';
export { instrumentFs, StorageMetricNames } from './metrics.js';
export { type StorageFileOptions, storageFileOptionsSchema } from './options.js';
export { type FileStorage, type OpenFileStorageOptions, openFileStorage } from './storage.js';

export default definePlugin({
  name: 'storage-file',
  kind: 'storage',
  version: '0.1.0',
  kernelApi: '^1',
  envPrefix: 'STORAGE_FILE',
  configSchema: storageFileOptionsSchema,
  async setup(ctx) {
    const { dir, ...options } = ctx.options;
    const storage: FileStorage = await openFileStorage({
      ...options,
      dir: dir ?? ctx.broker.dataDir,
      logger: ctx.logger,
      fs: instrumentFs(nodeFs, ctx.metrics),
      now: () => ctx.clock.now(),
    });
    ctx.provideStorage({ logStore: storage.logStore, metaStore: storage.metaStore });
    return {
      ready: () => true,
      // The kernel flushes and closes the stores before stopping this plugin; closing again is a no-op.
      stop: () => storage.close(),
    };
  },
});
