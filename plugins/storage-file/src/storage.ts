/** Opens the whole file storage of a data directory: lock, log store and metadata store. */
import * as path from 'node:path';
import type { Logger } from '@robustmq/sdk';
import type { StorageFs } from './fs.js';
import { DirLock } from './lock.js';
import { FileLogStore } from './log-store.js';
import { FileMetaStore } from './meta-store.js';
import { type StorageFileOptions, storageFileOptionsSchema } from './options.js';
import { LOGS_DIR, META_DIR } from './paths.js';
import { silentLogger } from './silent-logger.js';

export interface OpenFileStorageOptions extends Partial<Omit<StorageFileOptions, 'dir'>> {
  /** The data directory (locked while open). */
  dir: string;
  logger?: Logger;
  /** File-system seam (fault injection in tests). */
  fs?: StorageFs;
  /** Clock for append times and retention. */
  now?: () => number;
}

export interface FileStorage {
  readonly dir: string;
  readonly logStore: FileLogStore;
  readonly metaStore: FileMetaStore;
  /** Closes both stores and releases the directory lock. */
  close(): Promise<void>;
}

/**
 * Locks `dir` and opens both stores under it, recovering any torn tail left by a crash. The lock is
 * released once both stores are closed (by {@link FileStorage.close} or each store's own `close`).
 */
export async function openFileStorage(options: OpenFileStorageOptions): Promise<FileStorage> {
  const { dir, fs, now } = options;
  const logger = options.logger ?? silentLogger;
  const opts = storageFileOptionsSchema.parse({ ...options, logger: undefined, fs: undefined, now: undefined, dir });
  const lock = await DirLock.acquire(dir);
  let logStore: FileLogStore | undefined;
  let metaStore: FileMetaStore | undefined;
  try {
    logStore = await FileLogStore.open({
      dir: path.join(dir, LOGS_DIR),
      logger,
      fs,
      now,
      fsync: opts.fsync,
      fsyncIntervalMs: opts.fsyncIntervalMs,
      segmentBytes: opts.segmentBytes,
      segmentMs: opts.segmentMs,
      retentionMs: opts.retentionMs,
      retentionBytes: opts.retentionBytes,
      retentionCheckIntervalMs: opts.retentionCheckIntervalMs,
      indexIntervalBytes: opts.indexIntervalBytes,
    });
    metaStore = await FileMetaStore.open({
      dir: path.join(dir, META_DIR),
      logger,
      fs,
      fsync: opts.fsync,
      fsyncIntervalMs: opts.fsyncIntervalMs,
      snapshotEvery: opts.metaSnapshotEvery,
    });
  } catch (err) {
    await logStore?.close().catch(() => {});
    await lock.release();
    throw err;
  }
  let open = 2;
  const closedOne = async () => {
    if (--open === 0) await lock.release();
  };
  const log = logStore;
  const meta = metaStore;
  wrapClose(log, closedOne);
  wrapClose(meta, closedOne);
  logger.info({ dir, fsync: opts.fsync }, 'storage-file: opened');
  return {
    dir,
    logStore: log,
    metaStore: meta,
    async close() {
      await log.close();
      await meta.close();
    },
  };
}

/** Makes `store.close()` run `after` exactly once, after the first successful close. */
function wrapClose(store: { close(): Promise<void> }, after: () => Promise<void>): void {
  const original = store.close.bind(store);
  let done = false;
  store.close = async () => {
    await original();
    if (done) return;
    done = true;
    await after();
  };
}
