/** Storage metrics, collected at the file-system seam so every write path is covered. */
import type { Metrics } from '@robustmq/sdk';
import { type StorageFile, type StorageFs, toStorageError } from './fs.js';

export const StorageMetricNames = {
  fsyncSeconds: 'robustmq_storage_fsync_seconds',
  writtenBytes: 'robustmq_storage_written_bytes_total',
  writeErrors: 'robustmq_storage_write_errors_total',
} as const;

/** Wraps `fs` so fsync latency, bytes written and write/fsync failures (by StorageError code) are counted. */
export function instrumentFs(fs: StorageFs, metrics: Metrics): StorageFs {
  const fsync = metrics.histogram(
    StorageMetricNames.fsyncSeconds,
    'storage-file fdatasync latency',
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  const written = metrics.counter(StorageMetricNames.writtenBytes, 'bytes written by storage-file to segments and journals');
  const errors = metrics.counter(StorageMetricNames.writeErrors, 'storage-file write and fsync failures', ['code']);
  const failed = (err: unknown): never => {
    errors.inc({ code: toStorageError(err, 'write').code });
    throw err;
  };
  const wrap = (file: StorageFile): StorageFile => ({
    read: (b, o, l, p) => file.read(b, o, l, p),
    async writev(buffers, position) {
      const r = await file.writev(buffers, position).catch(failed);
      written.inc(undefined, r.bytesWritten);
      return r;
    },
    async datasync() {
      const t0 = performance.now();
      await file.datasync().catch(failed);
      fsync.observe(undefined, (performance.now() - t0) / 1000);
    },
    truncate: (len) => file.truncate(len),
    size: () => file.size(),
    close: () => file.close(),
  });
  return {
    ...fs,
    open: async (file, create) => wrap(await fs.open(file, create)),
  };
}
