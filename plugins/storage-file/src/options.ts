/** The plugin's options (all defaulted). */
import { z } from '@robustmq/sdk';

const MiB = 1024 * 1024;
const DAY = 24 * 60 * 60 * 1000;

export const storageFileOptionsSchema = z.object({
  /** Data directory; default: the broker's `dataDir`. */
  dir: z.string().min(1).optional(),
  /** When an append is acknowledged: after fsync (`always`), after the write with an fsync every `fsyncIntervalMs` (`interval`), or after the write leaving flushing to the OS (`never`). */
  fsync: z.enum(['always', 'interval', 'never']).default('always'),
  fsyncIntervalMs: z.number().int().positive().default(1000),
  /** Roll to a new segment file past this size (topic `segmentBytes` overrides). */
  segmentBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * MiB)
    .default(64 * MiB),
  /** Roll to a new segment file past this age (topic `segmentMs` overrides). */
  segmentMs: z
    .number()
    .int()
    .positive()
    .default(7 * DAY),
  /** Default time retention of topics that set none; unset keeps data forever. */
  retentionMs: z.number().int().positive().optional(),
  /** Default size retention per partition of topics that set none; unset keeps data forever. */
  retentionBytes: z.number().int().positive().optional(),
  retentionCheckIntervalMs: z.number().int().positive().default(60_000),
  /** Bytes of log between two entries of the sparse offset and time indexes. */
  indexIntervalBytes: z.number().int().min(64).default(4096),
  /** Metadata journal records between two snapshots. */
  metaSnapshotEvery: z.number().int().positive().default(10_000),
});

export type StorageFileOptions = z.output<typeof storageFileOptionsSchema>;
