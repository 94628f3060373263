import { z } from '@robustmq/sdk';

/** Options of the storage-s3 plugin (every field defaulted except where noted). */
export const s3OptionsSchema = z.object({
  /** Custom endpoint for S3-compatible stores (MinIO, Ceph, R2, …); unset = AWS S3. */
  endpoint: z.string().url().optional(),
  region: z.string().default('us-east-1'),
  bucket: z.string().min(3).default('robustmq'),
  /** Key prefix under which this broker's objects live; two brokers on one prefix fence each other. */
  prefix: z.string().default('robustmq'),
  /** Static credentials; unset = the AWS SDK's default provider chain (env, profile, instance role). */
  credentials: z
    .object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() })
    .optional(),
  /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers. */
  forcePathStyle: z.boolean().default(false),
  /** Create the bucket when it does not exist (otherwise refuse to start). */
  createBucket: z.boolean().default(false),
  /** Upload buffered appends at least this often (ms). */
  flushIntervalMs: z.number().int().min(1).default(250),
  /** …or as soon as this many bytes are buffered. */
  flushBytes: z
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Granularity of the offset index: one entry (one ranged GET) per this many bytes of a partition. */
  indexIntervalBytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** In-memory LRU of recently written/read object ranges. */
  cacheBytes: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  retry: z
    .object({
      /** Attempts per request before the error reaches the client. */
      attempts: z.number().int().min(1).default(6),
      baseDelayMs: z.number().int().min(1).default(100),
      maxDelayMs: z.number().int().min(1).default(5000),
    })
    .default({ attempts: 6, baseDelayMs: 100, maxDelayMs: 5000 }),
  requestTimeoutMs: z.number().int().min(100).default(30_000),
  /** Retention, compaction, snapshots and garbage collection run this often (ms). */
  maintenanceIntervalMs: z.number().int().min(10).default(60_000),
  /** Write a state snapshot after this many log objects (bounds the replay at start). */
  snapshotEveryObjects: z.number().int().min(1).default(256),
  compaction: z
    .object({
      enabled: z.boolean().default(true),
      /** Objects smaller than this are compaction candidates. */
      smallObjectBytes: z
        .number()
        .int()
        .min(1)
        .default(4 * 1024 * 1024),
      /** Upper bound of a compacted object. */
      targetObjectBytes: z
        .number()
        .int()
        .min(1)
        .default(64 * 1024 * 1024),
      /** Compact only runs of at least this many small objects. */
      minObjects: z.number().int().min(2).default(8),
    })
    .default({ enabled: true, smallObjectBytes: 4 * 1024 * 1024, targetObjectBytes: 64 * 1024 * 1024, minObjects: 8 }),
});

export type S3StorageOptions = z.output<typeof s3OptionsSchema>;
/** Options as written in config (defaults not yet applied). */
export type S3StorageInput = z.input<typeof s3OptionsSchema>;
