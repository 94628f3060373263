/**
 * The durable partitioned log contract. Batches are stored in Kafka's RecordBatch v2 format
 * (see `record-batch.ts`), so a Kafka fetch can be served from stored bytes.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record to append. */
export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Create time in epoch ms; defaults to the append time. */
  timestamp?: number;
}

/** A record read back, with its assigned offset. */
export interface StoredRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export type CleanupPolicy = 'delete' | 'compact';

/** Per-topic settings. Unset retention means keep forever. */
export interface TopicConfig {
  partitions: number;
  retentionMs?: number;
  retentionBytes?: number;
  segmentBytes?: number;
  segmentMs?: number;
  cleanupPolicy?: CleanupPolicy;
  /** Free-form protocol settings (Kafka topic configs) persisted with the topic. */
  extra?: Record<string, string>;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** Broker time the batch was appended (epoch ms). */
  logAppendTime: number;
}

export interface PartitionOffsets {
  /** First offset still readable. */
  logStartOffset: number;
  /** Offset the next appended record gets (= last acknowledged offset + 1). */
  highWatermark: number;
}

export interface FetchResult extends PartitionOffsets {
  /**
   * Whole RecordBatch v2 batches concatenated, starting with the batch that contains the
   * requested offset. Empty when the offset equals the high watermark.
   */
  batches: Buffer;
}

export interface LogStore {
  /** Creates a topic; returns false when it already exists (config unchanged). */
  createTopic(topic: string, config?: Partial<TopicConfig>): Promise<boolean>;
  /** Deletes a topic and its data; returns false when it did not exist. */
  deleteTopic(topic: string): Promise<boolean>;
  listTopics(): Promise<string[]>;
  describeTopic(topic: string): Promise<TopicConfig | undefined>;
  /** Merges settings into a topic's config (retention, cleanup policy, extra). */
  updateTopicConfig(topic: string, patch: Partial<Omit<TopicConfig, 'partitions'>>): Promise<void>;
  /** Grows a topic to `total` partitions (never shrinks). */
  addPartitions(topic: string, total: number): Promise<void>;

  /**
   * Appends records as one batch. Resolves only once the store's durability policy is met.
   * Throws {@link UnknownTopicError} for a missing topic or partition.
   */
  append(tp: TopicPartition, records: RecordInput[]): Promise<AppendResult>;
  /**
   * Appends a raw RecordBatch v2 as received (CRC checked, base offset assigned by the store).
   * Throws {@link CorruptBatchError} when the batch fails validation.
   */
  appendBatch(tp: TopicPartition, batch: Buffer): Promise<AppendResult>;

  /** Raw batches from `offset`, at most `maxBytes` (but at least one whole batch when available). */
  fetch(tp: TopicPartition, offset: number, maxBytes: number): Promise<FetchResult>;
  /** Decoded records with offset ≥ `offset`, at most `maxRecords`. */
  read(tp: TopicPartition, offset: number, maxRecords: number): Promise<StoredRecord[]>;
  offsets(tp: TopicPartition): Promise<PartitionOffsets>;
  /** Earliest offset whose timestamp is ≥ `timestamp`, or undefined when none. */
  offsetForTimestamp(tp: TopicPartition, timestamp: number): Promise<number | undefined>;
  /**
   * Makes records below `offset` unreadable (advances logStartOffset); whole segments or objects
   * below it may be deleted. Returns the new logStartOffset.
   */
  deleteRecordsBefore(tp: TopicPartition, offset: number): Promise<number>;

  /** Forces buffered appends to durable storage. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Base class of the errors a store throws to protocols, which map `code` to their own codes. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly code: 'unknown-topic' | 'corrupt' | 'offset-out-of-range' | 'disk-full' | 'io' | 'unavailable' | 'fenced' | 'closed',
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export class UnknownTopicError extends StorageError {
  constructor(topic: string, partition?: number) {
    super(partition === undefined ? `unknown topic ${topic}` : `unknown topic-partition ${topic}-${partition}`, 'unknown-topic');
    this.name = 'UnknownTopicError';
  }
}

export class CorruptBatchError extends StorageError {
  constructor(detail: string) {
    super(`corrupt record batch: ${detail}`, 'corrupt');
    this.name = 'CorruptBatchError';
  }
}

export class OffsetOutOfRangeError extends StorageError {
  constructor(tp: TopicPartition, offset: number, range: PartitionOffsets) {
    super(
      `offset ${offset} out of range for ${tp.topic}-${tp.partition} [${range.logStartOffset}, ${range.highWatermark}]`,
      'offset-out-of-range',
    );
    this.name = 'OffsetOutOfRangeError';
  }
}
