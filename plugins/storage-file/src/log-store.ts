/**
 * The file LogStore: one directory per topic (`topic.json` + one directory per partition), each
 * partition a {@link PartitionLog} of segment files.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import {
  type AppendResult,
  type BatchHeader,
  batchSize,
  CompressionCodec,
  CorruptBatchError,
  compressionOf,
  decodeBatchRecords,
  type FetchResult,
  type LogStore,
  type Logger,
  type PartitionOffsets,
  type RecordInput,
  StorageError,
  type StoredRecord,
  type TopicConfig,
  type TopicPartition,
  UnknownTopicError,
  validateBatch,
} from '@robustmq/sdk';
import { nodeFs, type StorageFs, toStorageError } from './fs.js';
import { StagingPool } from './staging.js';
import { type FsyncPolicy, type PartitionContext, type PartitionLimits, PartitionLog } from './partition.js';
import { TOPIC_FILE, TRASH_PREFIX, topicDirName } from './paths.js';

/** Settings of a {@link FileLogStore}. Retention, segment size and age are defaults for topics that set none. */
export interface FileLogStoreOptions {
  /** The `logs` directory. */
  dir: string;
  logger: Logger;
  fs?: StorageFs;
  now?: () => number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytes: number;
  segmentMs: number;
  retentionMs?: number;
  retentionBytes?: number;
  retentionCheckIntervalMs: number;
  indexIntervalBytes: number;
}

/**
 * Refuses batches whose offsets could not have come from a producer (offsets are assigned from
 * `lastOffsetDelta`, so a forged one would jump the log) and, when uncompressed, whose records do
 * not parse — a stored batch that cannot be decoded would poison every later read.
 */
function checkRecords(buf: Buffer, pos: number, header: BatchHeader): void {
  if (header.recordCount < 1) throw new CorruptBatchError('batch without records');
  if (header.lastOffsetDelta !== header.recordCount - 1) {
    throw new CorruptBatchError(`lastOffsetDelta ${header.lastOffsetDelta} does not match ${header.recordCount} records`);
  }
  if (compressionOf(header) !== CompressionCodec.none) return;
  const records = decodeBatchRecords(buf, pos, header);
  for (const [i, r] of records.entries()) {
    if (r.offset !== header.baseOffset + i)
      throw new CorruptBatchError(`record ${i} has offset delta ${r.offset - header.baseOffset}`);
  }
}

interface TopicState {
  name: string;
  dir: string;
  config: TopicConfig;
  partitions: PartitionLog[];
}

interface TopicFile {
  name: string;
  config: TopicConfig;
}

export class FileLogStore implements LogStore {
  private readonly topics = new Map<string, TopicState>();
  /** Memory appends are encoded into, shared by every partition's write rounds. */
  private readonly staging = new StagingPool();
  private readonly fs: StorageFs;
  private readonly now: () => number;
  private adminChain: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  private constructor(private readonly opts: FileLogStoreOptions) {
    this.fs = opts.fs ?? nodeFs;
    this.now = opts.now ?? Date.now;
  }

  /** Opens every topic under `opts.dir`, recovering partition tails, and starts the background timers. */
  static async open(opts: FileLogStoreOptions): Promise<FileLogStore> {
    const store = new FileLogStore(opts);
    await store.load();
    store.startTimers();
    return store;
  }

  private async load(): Promise<void> {
    const { dir, logger } = this.opts;
    await this.fs.mkdir(dir);
    for (const entry of await this.fs.readdir(dir)) {
      const topicDir = path.join(dir, entry);
      if (entry.startsWith(TRASH_PREFIX) || entry.endsWith('.tmp')) {
        await this.fs.rmrf(topicDir);
        continue;
      }
      let file: TopicFile;
      try {
        file = JSON.parse((await this.fs.readFile(path.join(topicDir, TOPIC_FILE))).toString('utf8')) as TopicFile;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // topic.json is written last at creation: without it the topic never existed.
          logger.warn({ dir: topicDir }, 'storage-file: removing incompletely created topic directory');
          await this.fs.rmrf(topicDir);
          continue;
        }
        throw toStorageError(err, `read ${path.join(topicDir, TOPIC_FILE)}`);
      }
      const state: TopicState = { name: file.name, dir: topicDir, config: file.config, partitions: [] };
      for (let p = 0; p < file.config.partitions; p++) state.partitions.push(await this.openPartition(state, p));
      this.topics.set(file.name, state);
    }
  }

  private startTimers(): void {
    const { fsync, fsyncIntervalMs, retentionCheckIntervalMs, logger } = this.opts;
    if (fsync === 'interval') {
      const t = setInterval(() => {
        this.flush().catch((err) => logger.error({ err: (err as Error).message }, 'storage-file: periodic fsync failed'));
      }, fsyncIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    const r = setInterval(() => {
      this.applyRetention().catch((err) => logger.error({ err: (err as Error).message }, 'storage-file: retention failed'));
    }, retentionCheckIntervalMs);
    r.unref();
    this.timers.push(r);
  }

  private limitsOf(state: TopicState): PartitionLimits {
    const c = state.config;
    // A compacted topic keeps the latest record of every key whatever its age (as Kafka's
    // cleanup.policy=compact), so time and size retention do not apply to it.
    const compacted = c.cleanupPolicy === 'compact';
    return {
      segmentBytes: c.segmentBytes ?? this.opts.segmentBytes,
      segmentMs: c.segmentMs ?? this.opts.segmentMs,
      retentionMs: compacted ? undefined : (c.retentionMs ?? this.opts.retentionMs),
      retentionBytes: compacted ? undefined : (c.retentionBytes ?? this.opts.retentionBytes),
    };
  }

  private openPartition(state: TopicState, partition: number): Promise<PartitionLog> {
    const ctx: PartitionContext = {
      fs: this.fs,
      logger: this.opts.logger,
      now: this.now,
      fsync: this.opts.fsync,
      indexIntervalBytes: this.opts.indexIntervalBytes,
      staging: this.staging,
      limits: () => this.limitsOf(state),
    };
    return PartitionLog.open({ topic: state.name, partition }, path.join(state.dir, String(partition)), ctx);
  }

  /** Runs admin operations one at a time, so topic files never race. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.adminChain.then(() => {
      this.checkOpen();
      return fn();
    });
    this.adminChain = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('storage-file log store is closed', 'closed');
  }

  private async writeTopicFile(state: TopicState): Promise<void> {
    const body: TopicFile = { name: state.name, config: state.config };
    await this.fs.writeFileAtomic(path.join(state.dir, TOPIC_FILE), Buffer.from(JSON.stringify(body, null, 2)));
  }

  createTopic(topic: string, config: Partial<TopicConfig> = {}): Promise<boolean> {
    return this.serial(async () => {
      if (this.topics.has(topic)) return false;
      const partitions = config.partitions ?? 1;
      if (!Number.isInteger(partitions) || partitions < 1)
        throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
      const state: TopicState = {
        name: topic,
        dir: path.join(this.opts.dir, topicDirName(topic)),
        config: { ...structuredClone(config), partitions },
        partitions: [],
      };
      try {
        await this.fs.rmrf(state.dir); // leftover of a create that crashed before topic.json
        await this.fs.mkdir(state.dir);
        for (let p = 0; p < partitions; p++) state.partitions.push(await this.openPartition(state, p));
        await this.writeTopicFile(state);
        await this.fs.syncDir(this.opts.dir);
      } catch (err) {
        await Promise.all(state.partitions.map((p) => p.close()));
        await this.fs.rmrf(state.dir).catch(() => {});
        throw toStorageError(err, `create topic ${topic}`);
      }
      this.topics.set(topic, state);
      return true;
    });
  }

  deleteTopic(topic: string): Promise<boolean> {
    return this.serial(async () => {
      const state = this.topics.get(topic);
      if (!state) return false;
      this.topics.delete(topic);
      await Promise.all(state.partitions.map((p) => p.close(new UnknownTopicError(topic))));
      // Rename first so a crash mid-delete never leaves a half-deleted topic that reloads.
      const trash = path.join(this.opts.dir, `${TRASH_PREFIX}${randomBytes(6).toString('hex')}`);
      try {
        await this.fs.rename(state.dir, trash);
        await this.fs.syncDir(this.opts.dir);
        await this.fs.rmrf(trash);
      } catch (err) {
        throw toStorageError(err, `delete topic ${topic}`);
      }
      return true;
    });
  }

  async listTopics(): Promise<string[]> {
    this.checkOpen();
    return [...this.topics.keys()];
  }

  async describeTopic(topic: string): Promise<TopicConfig | undefined> {
    this.checkOpen();
    const state = this.topics.get(topic);
    return state ? structuredClone(state.config) : undefined;
  }

  updateTopicConfig(topic: string, patch: Partial<Omit<TopicConfig, 'partitions'>>): Promise<void> {
    return this.serial(async () => {
      const state = this.topics.get(topic);
      if (!state) throw new UnknownTopicError(topic);
      const { partitions: _ignored, ...rest } = patch as Partial<TopicConfig>;
      const previous = state.config;
      const next: TopicConfig = { ...previous, ...structuredClone(rest), partitions: previous.partitions };
      if (previous.extra || rest.extra) next.extra = { ...previous.extra, ...rest.extra };
      state.config = next;
      try {
        await this.writeTopicFile(state);
      } catch (err) {
        state.config = previous;
        throw toStorageError(err, `update topic ${topic}`);
      }
    });
  }

  addPartitions(topic: string, total: number): Promise<void> {
    return this.serial(async () => {
      const state = this.topics.get(topic);
      if (!state) throw new UnknownTopicError(topic);
      if (total <= state.partitions.length) return;
      const added: PartitionLog[] = [];
      try {
        for (let p = state.partitions.length; p < total; p++) added.push(await this.openPartition(state, p));
        state.config = { ...state.config, partitions: total };
        await this.writeTopicFile(state);
      } catch (err) {
        state.config = { ...state.config, partitions: state.partitions.length };
        await Promise.all(added.map((p) => p.close()));
        throw toStorageError(err, `add partitions to ${topic}`);
      }
      state.partitions.push(...added);
    });
  }

  private partition(tp: TopicPartition): PartitionLog {
    this.checkOpen();
    const state = this.topics.get(tp.topic);
    if (!state) throw new UnknownTopicError(tp.topic);
    const p = Number.isInteger(tp.partition) ? state.partitions[tp.partition] : undefined;
    if (!p) throw new UnknownTopicError(tp.topic, tp.partition);
    return p;
  }

  async append(tp: TopicPartition, records: RecordInput[]): Promise<AppendResult> {
    return this.partition(tp).append(records);
  }

  async appendBatch(tp: TopicPartition, batch: Buffer): Promise<AppendResult> {
    const log = this.partition(tp);
    const headers: BatchHeader[] = [];
    let pos = 0;
    while (pos < batch.length) {
      const h = validateBatch(batch, pos);
      checkRecords(batch, pos, h);
      headers.push(h);
      pos += batchSize(h);
    }
    if (headers.length === 0) throw new CorruptBatchError('empty record set');
    // Copy: the caller's buffer is often a slice of a larger network read.
    return log.appendBatch(Buffer.from(batch), headers);
  }

  async fetch(tp: TopicPartition, offset: number, maxBytes: number): Promise<FetchResult> {
    return this.wrapRead(tp, () => this.partition(tp).fetch(offset, maxBytes));
  }

  async read(tp: TopicPartition, offset: number, maxRecords: number): Promise<StoredRecord[]> {
    return this.wrapRead(tp, () => this.partition(tp).read(offset, maxRecords));
  }

  async offsets(tp: TopicPartition): Promise<PartitionOffsets> {
    return this.partition(tp).offsets();
  }

  async offsetForTimestamp(tp: TopicPartition, timestamp: number): Promise<number | undefined> {
    return this.wrapRead(tp, () => this.partition(tp).offsetForTimestamp(timestamp));
  }

  async deleteRecordsBefore(tp: TopicPartition, offset: number): Promise<number> {
    return this.partition(tp).deleteRecordsBefore(offset);
  }

  private async wrapRead<T>(tp: TopicPartition, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStorageError(err, `read ${tp.topic}-${tp.partition}`);
    }
  }

  /**
   * Deletes segments past retention in every partition and compacts the partitions of compacted
   * topics (also run on a timer). Returns the segments deleted.
   */
  async applyRetention(): Promise<number> {
    let deleted = 0;
    for (const state of [...this.topics.values()]) {
      for (const p of state.partitions) deleted += await p.applyRetention(this.now());
    }
    await this.compact();
    return deleted;
  }

  /** Compacts by key every partition of topics with `cleanupPolicy: 'compact'`; returns the records removed. */
  async compact(): Promise<number> {
    let removed = 0;
    for (const state of [...this.topics.values()]) {
      if (state.config.cleanupPolicy !== 'compact') continue;
      for (const p of state.partitions) {
        try {
          removed += await p.compact();
        } catch (err) {
          this.opts.logger.error(
            { partition: `${state.name}-${p.tp.partition}`, err: (err as Error).message },
            'storage-file: compaction failed',
          );
        }
      }
    }
    return removed;
  }

  /** Segment layout of a partition (tests, diagnostics). */
  segments(tp: TopicPartition): Array<{ baseOffset: number; size: number }> {
    return this.partition(tp).segmentInfo();
  }

  async flush(): Promise<void> {
    this.checkOpen();
    for (const state of [...this.topics.values()]) {
      for (const p of state.partitions) await p.sync();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.adminChain;
    this.closed = true;
    await Promise.all([...this.topics.values()].flatMap((s) => s.partitions.map((p) => p.close())));
    this.topics.clear();
  }
}
