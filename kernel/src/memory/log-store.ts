import {
  type AppendResult,
  type FetchResult,
  type LogStore,
  type PartitionOffsets,
  type RecordInput,
  StorageError,
  type StoredRecord,
  type TopicConfig,
  type TopicPartition,
  UnknownTopicError,
} from '@robustmq/sdk';
import { PartitionLog } from './partition-log.js';

interface TopicState {
  config: TopicConfig;
  partitions: PartitionLog[];
}

/** The topics of a {@link MemoryLogStore}; pass it to a new store to simulate a restart in tests. */
export type MemoryLogData = Map<string, TopicState>;

/**
 * A {@link LogStore} held in memory (the kernel's `memory` storage, and the reference for the
 * conformance kit). Batches are kept as RecordBatch v2 bytes like the disk stores keep them.
 * Retention settings are stored but not enforced: nothing outlives the process anyway.
 * Every operation completes synchronously inside its promise, so appends keep call order.
 */
export class MemoryLogStore implements LogStore {
  /** The backing topics; share them with another instance to reopen over the same data. */
  readonly data: MemoryLogData;
  private closed = false;

  constructor(options: { data?: MemoryLogData } = {}) {
    this.data = options.data ?? new Map();
  }

  async createTopic(topic: string, config: Partial<TopicConfig> = {}): Promise<boolean> {
    this.checkOpen();
    if (this.data.has(topic)) return false;
    const partitions = config.partitions ?? 1;
    checkPartitionCount(partitions);
    const state: TopicState = { config: { ...cloneConfig(config), partitions }, partitions: [] };
    for (let p = 0; p < partitions; p++) state.partitions.push(new PartitionLog({ topic, partition: p }));
    this.data.set(topic, state);
    return true;
  }

  async deleteTopic(topic: string): Promise<boolean> {
    this.checkOpen();
    return this.data.delete(topic);
  }

  async listTopics(): Promise<string[]> {
    this.checkOpen();
    return [...this.data.keys()];
  }

  async describeTopic(topic: string): Promise<TopicConfig | undefined> {
    this.checkOpen();
    const state = this.data.get(topic);
    return state ? cloneConfig(state.config) : undefined;
  }

  async updateTopicConfig(topic: string, patch: Partial<Omit<TopicConfig, 'partitions'>>): Promise<void> {
    const state = this.topic(topic);
    const { partitions: _ignored, ...rest } = patch as Partial<TopicConfig>;
    const extra = patch.extra ? { ...state.config.extra, ...patch.extra } : state.config.extra;
    state.config = cloneConfig({ ...state.config, ...rest, ...(extra ? { extra } : {}) }) as TopicConfig;
  }

  async addPartitions(topic: string, total: number): Promise<void> {
    const state = this.topic(topic);
    checkPartitionCount(total);
    if (total < state.partitions.length) {
      throw new RangeError(`topic ${topic} has ${state.partitions.length} partitions; partitions can only be added, not removed`);
    }
    for (let p = state.partitions.length; p < total; p++) state.partitions.push(new PartitionLog({ topic, partition: p }));
    state.config = { ...state.config, partitions: total };
  }

  async append(tp: TopicPartition, records: RecordInput[]): Promise<AppendResult> {
    const log = this.partition(tp);
    const now = Date.now();
    return { ...log.appendRecords(records, now), logAppendTime: now };
  }

  async appendBatch(tp: TopicPartition, batch: Buffer): Promise<AppendResult> {
    const log = this.partition(tp);
    return { ...log.appendRaw(batch), logAppendTime: Date.now() };
  }

  async fetch(tp: TopicPartition, offset: number, maxBytes: number): Promise<FetchResult> {
    const log = this.partition(tp);
    return { ...log.offsets(), batches: log.fetch(offset, maxBytes) };
  }

  async read(tp: TopicPartition, offset: number, maxRecords: number): Promise<StoredRecord[]> {
    return this.partition(tp).read(offset, maxRecords);
  }

  async offsets(tp: TopicPartition): Promise<PartitionOffsets> {
    return this.partition(tp).offsets();
  }

  async offsetForTimestamp(tp: TopicPartition, timestamp: number): Promise<number | undefined> {
    return this.partition(tp).offsetForTimestamp(timestamp);
  }

  async deleteRecordsBefore(tp: TopicPartition, offset: number): Promise<number> {
    return this.partition(tp).deleteBefore(offset);
  }

  async flush(): Promise<void> {
    this.checkOpen();
  }

  /** Refuses further calls; the data stays available to a store opened over {@link data}. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('memory log store is closed', 'closed');
  }

  private topic(topic: string): TopicState {
    this.checkOpen();
    const state = this.data.get(topic);
    if (!state) throw new UnknownTopicError(topic);
    return state;
  }

  private partition(tp: TopicPartition): PartitionLog {
    const log = this.topic(tp.topic).partitions[tp.partition];
    if (!log) throw new UnknownTopicError(tp.topic, tp.partition);
    return log;
  }
}

function checkPartitionCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`partition count must be a positive integer, got ${n}`);
}

/** Configs are handed out and taken in as copies so callers cannot change stored state. */
function cloneConfig<T extends Partial<TopicConfig>>(config: T): T {
  return { ...config, ...(config.extra ? { extra: { ...config.extra } } : {}) };
}
