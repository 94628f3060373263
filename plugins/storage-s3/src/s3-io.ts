/**
 * The few S3 operations the store needs, each retried with backoff and jitter on transient
 * failures. Keys passed in are relative to the configured prefix.
 */
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Logger } from '@robustmq/sdk';
import type { S3StorageOptions } from './options.js';
import { type RetryPolicy, describeError, statusOf, withRetry } from './retry.js';

/** What a conditional create found when the key was already taken. */
export interface ExistingObject {
  metadata: Record<string, string>;
}

export class S3Io {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;
  /** Counters for benchmarks and tests. */
  readonly stats = { puts: 0, gets: 0, lists: 0, deletes: 0, heads: 0, bytesPut: 0, bytesGot: 0 };

  constructor(
    options: S3StorageOptions,
    private readonly retry: RetryPolicy,
    private readonly logger: Logger,
  ) {
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Retries are ours (one policy, visible in logs); the SDK makes one attempt per call.
      maxAttempts: 1,
      // Checksums only where S3 requires them: S3-compatible servers differ in what they accept.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: Math.min(options.requestTimeoutMs, 5000) },
    });
    this.bucket = options.bucket;
    this.root = options.prefix.replace(/\/+$/, '');
  }

  /** Full object key for a key relative to the prefix. */
  fullKey(key: string): string {
    return this.root ? `${this.root}/${key}` : key;
  }

  private run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(this.retry, fn, (err, attempt, delay) =>
      this.logger.warn({ err: describeError(err), attempt, delayMs: Math.round(delay) }, `S3 ${what} failed, retrying`),
    );
  }

  /** HEAD on the bucket: resolves, or rejects with the SDK error (403, 404, network). */
  headBucket(): Promise<void> {
    return this.run('HeadBucket', async () => {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    });
  }

  createBucket(): Promise<void> {
    return this.run('CreateBucket', async () => {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    });
  }

  /**
   * Creates `key` only if it does not exist (`If-None-Match: *`). Returns undefined on success,
   * or the existing object's metadata when the key was taken (HTTP 412). A 412 after a retried
   * attempt may be our own first attempt, so the metadata is then read back (HEAD) for the caller
   * to compare; with `identify` it is read back always (to name the other writer).
   */
  async putIfAbsent(
    key: string,
    body: Buffer,
    metadata: Record<string, string>,
    identify = true,
  ): Promise<ExistingObject | undefined> {
    let attempts = 0;
    try {
      await this.run('PutObject', async () => {
        attempts++;
        this.stats.puts++;
        this.stats.bytesPut += body.length;
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: body, IfNoneMatch: '*', Metadata: metadata }),
        );
      });
      return undefined;
    } catch (err) {
      if (statusOf(err) !== 412) throw err;
      if (attempts === 1 && !identify) return { metadata: {} };
      const head = await this.head(key);
      return { metadata: head?.metadata ?? {} };
    }
  }

  /** Unconditional PUT (snapshots, whose names are unique per log position). */
  put(key: string, body: Buffer): Promise<void> {
    return this.run('PutObject', async () => {
      this.stats.puts++;
      this.stats.bytesPut += body.length;
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: body }));
    });
  }

  /** Metadata and size of `key`, or undefined when it does not exist. */
  async head(key: string): Promise<{ size: number; metadata: Record<string, string> } | undefined> {
    try {
      return await this.run('HeadObject', async () => {
        this.stats.heads++;
        const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
        return { size: out.ContentLength ?? 0, metadata: out.Metadata ?? {} };
      });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** The object, or the bytes [start, start + length) of it. Undefined when it does not exist. */
  async get(key: string, start?: number, length?: number): Promise<Buffer | undefined> {
    try {
      return await this.run('GetObject', async () => {
        this.stats.gets++;
        const range = start === undefined ? undefined : `bytes=${start}-${start + (length ?? 1) - 1}`;
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Range: range }));
        const bytes = Buffer.from(await out.Body!.transformToByteArray());
        this.stats.bytesGot += bytes.length;
        return bytes;
      });
    } catch (err) {
      if (statusOf(err) === 404 || (err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /** Keys (relative to the prefix) under `dir`, ascending, optionally only those after `startAfter`. */
  async list(dir: string, startAfter?: string): Promise<Array<{ key: string; size: number }>> {
    const out: Array<{ key: string; size: number }> = [];
    let token: string | undefined;
    const prefix = this.fullKey(dir);
    const cut = this.root ? this.root.length + 1 : 0;
    do {
      const page = await this.run('ListObjectsV2', () => {
        this.stats.lists++;
        return this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            StartAfter: token ? undefined : startAfter ? this.fullKey(startAfter) : undefined,
          }),
        );
      });
      for (const o of page.Contents ?? []) out.push({ key: o.Key!.slice(cut), size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Deletes keys in batches of 1000 (missing keys are not an error). */
  async deleteMany(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      await this.run('DeleteObjects', async () => {
        this.stats.deletes += chunk.length;
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: chunk.map((k) => ({ Key: this.fullKey(k) })), Quiet: true },
          }),
        );
      });
    }
  }

  close(): void {
    this.client.destroy();
  }
}
