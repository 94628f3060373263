import type { LogStore, MetaStore } from '@robustmq/sdk';
import { describeLogStore, describeMetaStore } from '@robustmq/sdk/testing';
import type { FileStorage } from '../src/index.js';
import { open, tempDir } from './helpers.js';

/**
 * Each harness opens the whole storage (lock + both stores); the kit closes the store it tests and
 * the other one is closed here so the directory lock is released before reopening.
 */
function harness<S extends LogStore | MetaStore>(pick: (s: FileStorage) => S, other: (s: FileStorage) => LogStore | MetaStore) {
  return async () => {
    const tmp = await tempDir();
    // Small segments and index intervals so the kit's data spans several segments and index entries.
    const options = { segmentBytes: 4096, indexIntervalBytes: 256, metaSnapshotEvery: 7 };
    let storage = await open(tmp.dir, options);
    return {
      store: pick(storage),
      async reopen() {
        await other(storage).close();
        storage = await open(tmp.dir, options);
        return pick(storage);
      },
      async cleanup() {
        await storage.close();
        await tmp.remove();
      },
    };
  };
}

describeLogStore(
  'storage-file',
  harness(
    (s) => s.logStore,
    (s) => s.metaStore,
  ),
);

describeMetaStore(
  'storage-file',
  harness(
    (s) => s.metaStore,
    (s) => s.logStore,
  ),
);
