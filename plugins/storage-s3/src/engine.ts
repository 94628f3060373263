/**
 * The S3 storage engine shared by the LogStore and MetaStore facades: one write-ahead log of
 * objects (`log/<seq>`) for both, the durable state rebuilt from it, group commit, fencing and
 * recovery. Maintenance (retention, compaction, snapshots, garbage collection) is in
 * `maintenance.ts`.
 *
 * Two states are kept: `durable` (what the bucket holds, served to readers) and `pending`
 * (durable plus buffered operations, used to validate and assign offsets to new writes).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Clock, type Logger, PluginStartError, StorageError, systemClock } from '@robustmq/sdk';
import { type LogObjectHeader, decodeLogHeader, encodeLogObject, headerExtent } from './log-object.js';
import { LOG_DIR, SNAPSHOT_DIR, logKey, seqOf } from './layout.js';
import { ByteLru } from './lru.js';
import type { Op } from './ops.js';
import { type S3StorageInput, type S3StorageOptions, s3OptionsSchema } from './options.js';
import { RetriesExhaustedError, backoffDelay, describeError, isTransient, statusOf } from './retry.js';
import { S3Io } from './s3-io.js';
import { type IndexEntry, StoreState } from './state.js';
import { WriteBuffer } from './write-buffer.js';

export interface EngineDeps {
  logger: Logger;
  clock?: Clock;
}

/** Turns an S3 failure into the StorageError protocols understand. */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  if (err instanceof RetriesExhaustedError)
    return new StorageError(`S3 unavailable during ${what} (${err.message})`, 'unavailable');
  const status = statusOf(err);
  if (status === 403) return new StorageError(`S3 refused ${what}: credentials or permissions (${describeError(err)})`, 'io');
  if (isTransient(err)) return new StorageError(`S3 unavailable during ${what} (${describeError(err)})`, 'unavailable');
  return new StorageError(`S3 ${what} failed: ${describeError(err)}`, 'io');
}

const HEADER_PROBE = 64 * 1024;
const RECOVERY_ATTEMPTS = 10;
const REPLAY_CONCURRENCY = 8;

export class S3Engine {
  readonly options: S3StorageOptions;
  readonly io: S3Io;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Identifies this process's writes (object metadata) among writers on the same prefix. */
  readonly writerId = randomUUID();
  durable = new StoreState();
  pending = new StoreState();
  /** Log position of the newest snapshot in the bucket. */
  lastSnapshotSeq = 0;
  readonly cache: ByteLru;

  private buffer: WriteBuffer;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastFlushStart = 0;
  private fencedError: StorageError | undefined;
  private recovering: Promise<void> | undefined;
  private closed = false;

  private constructor(options: S3StorageOptions, deps: EngineDeps) {
    this.options = options;
    this.logger = deps.logger;
    this.clock = deps.clock ?? systemClock;
    this.io = new S3Io(options, options.retry, this.logger);
    this.cache = new ByteLru(options.cacheBytes);
    this.buffer = new WriteBuffer(options.indexIntervalBytes);
  }

  /**
   * Checks the bucket (creating it when configured), replays the log from the newest snapshot
   * and claims the prefix. Throws {@link PluginStartError} naming the option to fix.
   */
  static async open(input: S3StorageInput | S3StorageOptions, deps: EngineDeps): Promise<S3Engine> {
    const options = s3OptionsSchema.parse(input);
    const engine = new S3Engine(options, deps);
    try {
      await engine.checkBucket();
      await engine.recover();
    } catch (err) {
      engine.io.close();
      throw err;
    }
    return engine;
  }

  private async checkBucket(): Promise<void> {
    const { bucket, endpoint, createBucket } = this.options;
    const where = endpoint ?? 'AWS S3';
    try {
      await this.io.headBucket();
      return;
    } catch (err) {
      const status = statusOf(err);
      if ((err as Error).name === 'CredentialsProviderError') {
        throw new PluginStartError(
          'credentials',
          `no AWS credentials found for bucket "${bucket}" (${(err as Error).message})`,
          'set options.credentials (accessKeyId, secretAccessKey), or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role',
        );
      }
      if (status === 403 || status === 401) {
        throw new PluginStartError(
          'credentials',
          `${where} rejected the credentials for bucket "${bucket}" (${describeError(err)})`,
          'set options.credentials (accessKeyId, secretAccessKey) or the AWS_* environment to a key allowed on the bucket',
        );
      }
      if (status === 404 || (err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchBucket') {
        if (!createBucket) {
          throw new PluginStartError(
            'bucket',
            `bucket "${bucket}" does not exist at ${where}`,
            'create the bucket, or set options.createBucket: true',
          );
        }
      } else {
        throw new PluginStartError(
          'endpoint',
          `cannot reach ${where} for bucket "${bucket}" (${describeError(err)})`,
          'check options.endpoint, options.region and the network',
        );
      }
    }
    this.logger.info({ bucket }, 'creating S3 bucket');
    await this.io.createBucket();
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery and claim
  // ---------------------------------------------------------------------------------------------

  /**
   * Loads the newest snapshot and the log after it, then claims the next free log position
   * (trying position after position, so a busy old writer cannot starve the takeover), and
   * replays whatever others wrote before the claim.
   */
  private async recover(): Promise<void> {
    let claimed: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const state = await this.loadLatest(claimed);
      if (state && claimed === undefined) {
        const seq = await this.claimNext(state);
        claimed = seq;
        if (await this.replayAfter(state, seq)) return this.adopt(state);
      } else if (state && state.seq === claimed) {
        return this.adopt(state);
      }
      // Objects vanished under us (a previous owner collected them): reload from the newest snapshot.
      if (attempt >= RECOVERY_ATTEMPTS)
        throw new StorageError('could not recover S3 storage: the log kept changing underneath', 'unavailable');
      await new Promise((r) => setTimeout(r, backoffDelay(this.options.retry, attempt)));
    }
  }

  private adopt(state: StoreState): void {
    this.durable = state;
    this.pending = state.cloneWithoutIndex();
    this.logger.info({ seq: state.seq, epoch: state.epoch, topics: state.topics.size }, 'S3 storage recovered');
  }

  /** Newest snapshot (at or before `upTo`) plus the log after it; undefined when something vanished. */
  private async loadLatest(upTo?: number): Promise<StoreState | undefined> {
    const snapshots = (await this.io.list(SNAPSHOT_DIR)).filter((o) => seqOf(o.key) <= (upTo ?? Number.POSITIVE_INFINITY));
    let state = new StoreState();
    const newest = snapshots.at(-1);
    if (newest) {
      const bytes = await this.io.get(newest.key);
      if (!bytes) return undefined;
      state = StoreState.decode(bytes);
      this.lastSnapshotSeq = state.seq;
    }
    return (await this.replayAfter(state, upTo)) ? state : undefined;
  }

  /** Applies log objects after `state.seq` (up to `upTo`); false when one vanished or a gap appeared. */
  private async replayAfter(state: StoreState, upTo = Number.POSITIVE_INFINITY): Promise<boolean> {
    const logs = (await this.io.list(LOG_DIR, logKey(state.seq))).filter((o) => {
      const seq = seqOf(o.key);
      return seq > state.seq && seq <= upTo;
    });
    // Headers are fetched a few at a time (start-up latency), applied strictly in order.
    for (let i = 0; i < logs.length; i += REPLAY_CONCURRENCY) {
      const chunk = logs.slice(i, i + REPLAY_CONCURRENCY);
      const reads = await Promise.all(chunk.map((o) => this.readLogHeader(o.key)));
      for (const [j, { key, size }] of chunk.entries()) {
        const read = reads[j];
        if (!read || seqOf(key) !== state.seq + 1) return false;
        state.applyObject(state.seq + 1, key, size, read.dataStart, read.header.ops);
      }
    }
    return upTo === Number.POSITIVE_INFINITY || state.seq === upTo;
  }

  async readLogHeader(key: string): Promise<{ header: LogObjectHeader; dataStart: number } | undefined> {
    let bytes = await this.io.get(key, 0, HEADER_PROBE);
    if (!bytes) return undefined;
    const extent = headerExtent(bytes);
    if (extent > bytes.length) bytes = await this.io.get(key, 0, extent);
    return bytes ? decodeLogHeader(bytes) : undefined;
  }

  /**
   * Creates a claim object at the first free log position after `state.seq`; returns it. On a
   * collision it jumps past the newest listed object, so a busy old writer cannot outrun it.
   */
  private async claimNext(state: StoreState): Promise<number> {
    const nonce = randomBytes(8).toString('hex');
    for (let seq = state.seq + 1; ; ) {
      const ops: Op[] = [{ t: 'claim', epoch: state.epoch + 1, writer: this.writerId }];
      const { body } = encodeLogObject(this.header(seq, state.epoch + 1, ops), []);
      const taken = await this.io.putIfAbsent(logKey(seq), body, { writer: this.writerId, nonce }, false);
      if (!taken || (taken.metadata.writer === this.writerId && taken.metadata.nonce === nonce)) return seq;
      const newest = (await this.io.list(LOG_DIR, logKey(seq))).at(-1);
      seq = Math.max(seq, newest ? seqOf(newest.key) : seq) + 1;
    }
  }

  private header(seq: number, epoch: number, ops: Op[]): LogObjectHeader {
    return { v: 1, seq, epoch, writer: this.writerId, time: this.clock.now(), ops };
  }

  // ---------------------------------------------------------------------------------------------
  // Write path
  // ---------------------------------------------------------------------------------------------

  /** Throws when writes cannot be accepted now (closed, fenced, resolving an S3 failure). */
  checkWritable(): void {
    if (this.closed) throw new StorageError('S3 storage is closed', 'closed');
    if (this.fencedError) throw this.fencedError;
    if (this.recovering)
      throw new StorageError('S3 unavailable: the last upload failed and is being checked; retry shortly', 'unavailable');
  }

  /** Queues a structural or metadata operation (already validated against `pending`). */
  addOp(op: Op): void {
    this.pending.apply(op, 'pending', 0, 0, this.pending.seq);
    this.buffer.addOp(op, this.clock.now());
  }

  /** Queues a batch whose offsets were assigned from `pending`. */
  addBatch(topic: string, p: number, batch: Buffer, base: number, last: number, fts: number, mts: number): void {
    const part = this.pending.topics.get(topic)!.partitions[p];
    part.next = last + 1;
    this.buffer.addBatch(topic, p, batch, base, last, fts, mts, this.clock.now());
  }

  /** Resolves once everything queued so far is in a durable log object. */
  commit(): Promise<void> {
    const done = this.buffer.wait();
    this.schedule();
    return done;
  }

  /**
   * At most one PUT per flush interval (measured from the previous flush's start), sooner when
   * `flushBytes` are buffered; so an idle store answers fast and a busy one stays cheap.
   */
  private schedule(): void {
    if (this.buffer.empty || this.flushing) return;
    const due =
      this.buffer.bytes >= this.options.flushBytes ? 0 : this.lastFlushStart + this.options.flushIntervalMs - this.clock.now();
    if (due <= 0) {
      this.startFlush();
      return;
    }
    if (!this.timer) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, due);
      // Not unref'd: callers are waiting on this flush, so it must keep the process alive.
    }
  }

  private startFlush(): void {
    if (this.timer) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const buf = this.buffer;
    this.buffer = new WriteBuffer(this.options.indexIntervalBytes);
    this.lastFlushStart = this.clock.now();
    this.flushing = this.writeObject(buf).finally(() => {
      this.flushing = undefined;
      this.schedule();
    });
  }

  /** Forces buffered writes out now and waits for them (and any upload in flight). */
  async flush(): Promise<void> {
    while (this.flushing || !this.buffer.empty) {
      if (this.flushing) {
        await this.flushing;
        continue;
      }
      const done = this.buffer.wait();
      this.startFlush();
      await done.catch(() => undefined);
    }
  }

  private async writeObject(buf: WriteBuffer): Promise<void> {
    const seq = this.durable.seq + 1;
    const { ops, data, ranges } = buf.seal();
    const { body, dataStart } = encodeLogObject(this.header(seq, this.durable.epoch, ops), data);
    const key = logKey(seq);
    const nonce = randomBytes(8).toString('hex');
    try {
      const taken = await this.io.putIfAbsent(key, body, { writer: this.writerId, nonce });
      // A retried PUT may find its own earlier attempt; anything else means a newer writer.
      if (taken && !(taken.metadata.writer === this.writerId && taken.metadata.nonce === nonce)) {
        this.fence(seq, taken.metadata.writer, buf);
        return;
      }
    } catch (err) {
      const error = toStorageError(err, `upload of ${key}`);
      this.logger.error({ err: error.message, seq }, 'S3 log upload failed; rejecting buffered writes');
      buf.reject(error);
      this.resetPending(error);
      this.recovering = this.resolveUncertain(seq, nonce).finally(() => {
        this.recovering = undefined;
      });
      return;
    }
    this.durable.applyObject(seq, key, body.length, dataStart, ops);
    for (const r of ranges) this.cache.set(rangeKey(key, dataStart + r.rel, r.bytes.length), r.bytes);
    buf.resolve();
  }

  /** Rejects everything buffered and rebuilds `pending` from `durable`. */
  private resetPending(error: StorageError): void {
    this.buffer.reject(error);
    this.buffer = new WriteBuffer(this.options.indexIntervalBytes);
    this.pending = this.durable.cloneWithoutIndex();
  }

  private fence(seq: number, other: string | undefined, buf?: WriteBuffer): void {
    this.fencedError = new StorageError(
      `fenced: another broker (writer ${other ?? 'unknown'}) took over S3 prefix "${this.options.prefix}" at log position ${seq}`,
      'fenced',
    );
    this.logger.error({ seq, other }, 'S3 storage fenced by a newer writer; refusing writes');
    buf?.reject(this.fencedError);
    this.resetPending(this.fencedError);
  }

  /**
   * After a failed upload the object may still have landed (the answer was lost). Until that is
   * known no write is accepted; if it did land it is applied, so memory matches the bucket.
   */
  private async resolveUncertain(seq: number, nonce: string): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const head = await this.io.head(logKey(seq));
        if (head && (head.metadata.writer !== this.writerId || head.metadata.nonce !== nonce)) {
          this.fence(seq, head.metadata.writer);
        } else if (head) {
          const read = await this.readLogHeader(logKey(seq));
          if (!read) continue;
          this.durable.applyObject(seq, logKey(seq), head.size, read.dataStart, read.header.ops);
          this.pending = this.durable.cloneWithoutIndex();
          this.logger.warn({ seq }, 'a failed S3 upload had landed after all; its writes are durable');
        }
        return;
      } catch (err) {
        this.logger.warn({ err: describeError(err), attempt }, 'S3 still unavailable; will check the last upload again');
        await new Promise((r) => setTimeout(r, backoffDelay(this.options.retry, Math.min(attempt, 10))));
      }
    }
  }

  get isFenced(): boolean {
    return this.fencedError !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Read path
  // ---------------------------------------------------------------------------------------------

  /** The bytes of an index entry: from the LRU, else one ranged GET. */
  async readEntry(entry: IndexEntry): Promise<Buffer> {
    const key = rangeKey(entry.object, entry.start, entry.len);
    const hit = this.cache.get(key);
    if (hit) return hit;
    let bytes: Buffer | undefined;
    try {
      bytes = await this.io.get(entry.object, entry.start, entry.len);
    } catch (err) {
      throw toStorageError(err, `read of ${entry.object}`);
    }
    if (!bytes || bytes.length !== entry.len) throw new ObjectGoneError(entry.object);
    this.cache.set(key, bytes);
    return bytes;
  }

  /** Stops accepting writes, flushes, and releases the client. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    // A failure check in progress stops at its next attempt now that the engine is closed.
    await this.recovering;
    this.io.close();
  }
}

/** An object the index pointed at was compacted away and collected while being read. */
export class ObjectGoneError extends StorageError {
  constructor(object: string) {
    super(`object ${object} no longer exists`, 'io');
    this.name = 'ObjectGoneError';
  }
}

function rangeKey(object: string, start: number, len: number): string {
  return `${object}@${start}+${len}`;
}
