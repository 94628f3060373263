/**
 * The LogStore over S3. Writes are validated against the engine's pending state, queued into the
 * next log object and acknowledged once it is durable; reads use the durable offset index and
 * ranged GETs (through the LRU).
 */
import { randomUUID } from 'node:crypto';
import {
  type AppendResult,
  type FetchResult,
  type LogStore,
  OffsetOutOfRangeError,
  type PartitionOffsets,
  type RecordInput,
  StorageError,
  type StoredRecord,
  type TopicConfig,
  type TopicPartition,
  UnknownTopicError,
  batchSize,
  decodeBatchRecords,
  encodeRecordBatch,
  iterateBatchHeaders,
  lastOffsetOf,
  setBaseOffset,
  validateBatch,
} from '@robustmq/sdk';
import { type S3Engine, ObjectGoneError } from './engine.js';
import type { IndexEntry, PartitionState, StoreState } from './state.js';

const DEFAULT_TOPIC: TopicConfig = { partitions: 1 };

export class S3LogStore implements LogStore {
  constructor(
    private readonly engine: S3Engine,
    private readonly onClose: () => Promise<void>,
  ) {}

  // ---- topics ------------------------------------------------------------------------------

  async createTopic(topic: string, config: Partial<TopicConfig> = {}): Promise<boolean> {
    this.engine.checkWritable();
    if (this.engine.pending.topics.has(topic)) return false;
    const full: TopicConfig = { ...DEFAULT_TOPIC, ...config };
    if (!Number.isInteger(full.partitions) || full.partitions < 1)
      throw new RangeError(`invalid partition count ${full.partitions}`);
    this.engine.addOp({ t: 'topic', topic, id: randomUUID(), config: full });
    await this.engine.commit();
    return true;
  }

  async deleteTopic(topic: string): Promise<boolean> {
    this.engine.checkWritable();
    if (!this.engine.pending.topics.has(topic)) return false;
    this.engine.addOp({ t: 'untopic', topic });
    await this.engine.commit();
    return true;
  }

  async listTopics(): Promise<string[]> {
    this.checkOpen();
    return [...this.engine.durable.topics.keys()].sort();
  }

  async describeTopic(topic: string): Promise<TopicConfig | undefined> {
    this.checkOpen();
    const t = this.engine.durable.topics.get(topic);
    return t ? structuredClone(t.config) : undefined;
  }

  async updateTopicConfig(topic: string, patch: Partial<Omit<TopicConfig, 'partitions'>>): Promise<void> {
    this.engine.checkWritable();
    if (!this.engine.pending.topics.has(topic)) throw new UnknownTopicError(topic);
    const { partitions: _ignored, ...rest } = patch as Partial<TopicConfig>;
    this.engine.addOp({ t: 'config', topic, patch: rest });
    await this.engine.commit();
  }

  async addPartitions(topic: string, total: number): Promise<void> {
    this.engine.checkWritable();
    const t = this.engine.pending.topics.get(topic);
    if (!t) throw new UnknownTopicError(topic);
    if (total <= t.partitions.length) return;
    this.engine.addOp({ t: 'grow', topic, total });
    await this.engine.commit();
  }

  // ---- writes ------------------------------------------------------------------------------

  async append(tp: TopicPartition, records: RecordInput[]): Promise<AppendResult> {
    this.engine.checkWritable();
    const part = this.partition(this.engine.pending, tp);
    if (records.length === 0) throw new RangeError('append needs at least one record');
    const now = this.engine.clock.now();
    const base = part.next;
    const batch = encodeRecordBatch(records, { baseOffset: base, timestamp: now });
    let fts = Number.POSITIVE_INFINITY;
    let mts = Number.NEGATIVE_INFINITY;
    for (const r of records) {
      const ts = r.timestamp ?? now;
      fts = Math.min(fts, ts);
      mts = Math.max(mts, ts);
    }
    const last = base + records.length - 1;
    this.engine.addBatch(tp.topic, tp.partition, batch, base, last, fts, mts);
    await this.engine.commit();
    return { baseOffset: base, lastOffset: last, logAppendTime: now };
  }

  async appendBatch(tp: TopicPartition, raw: Buffer): Promise<AppendResult> {
    this.engine.checkWritable();
    const part = this.partition(this.engine.pending, tp);
    const header = validateBatch(raw, 0);
    const batch = Buffer.from(raw.subarray(0, batchSize(header)));
    const now = this.engine.clock.now();
    const base = part.next;
    setBaseOffset(batch, 0, base);
    const last = base + header.lastOffsetDelta;
    this.engine.addBatch(tp.topic, tp.partition, batch, base, last, header.firstTimestamp, header.maxTimestamp);
    await this.engine.commit();
    return { baseOffset: base, lastOffset: last, logAppendTime: now };
  }

  async deleteRecordsBefore(tp: TopicPartition, offset: number): Promise<number> {
    this.engine.checkWritable();
    const part = this.partition(this.engine.pending, tp);
    if (offset > part.next || offset < 0)
      throw new OffsetOutOfRangeError(tp, offset, { logStartOffset: part.logStart, highWatermark: part.next });
    if (offset <= part.logStart) return part.logStart;
    this.engine.addOp({ t: 'trim', topic: tp.topic, p: tp.partition, start: offset });
    await this.engine.commit();
    return offset;
  }

  flush(): Promise<void> {
    return this.engine.flush();
  }

  close(): Promise<void> {
    return this.onClose();
  }

  // ---- reads -------------------------------------------------------------------------------

  async offsets(tp: TopicPartition): Promise<PartitionOffsets> {
    this.checkOpen();
    const part = this.partition(this.engine.durable, tp);
    return { logStartOffset: part.logStart, highWatermark: part.next };
  }

  async fetch(tp: TopicPartition, offset: number, maxBytes: number): Promise<FetchResult> {
    return this.retryGone(async () => {
      this.checkOpen();
      const part = this.partition(this.engine.durable, tp);
      const range = { logStartOffset: part.logStart, highWatermark: part.next };
      this.checkRange(tp, offset, range);
      const out: Buffer[] = [];
      let size = 0;
      for (const entry of entriesFrom(part, offset)) {
        const bytes = await this.engine.readEntry(entry);
        for (const { pos, header } of iterateBatchHeaders(bytes)) {
          if (lastOffsetOf(header) < offset) continue;
          const n = batchSize(header);
          if (out.length > 0 && size + n > maxBytes) return { ...range, batches: Buffer.concat(out, size) };
          out.push(bytes.subarray(pos, pos + n));
          size += n;
        }
        if (size >= maxBytes) break;
      }
      return { ...range, batches: Buffer.concat(out, size) };
    });
  }

  async read(tp: TopicPartition, offset: number, maxRecords: number): Promise<StoredRecord[]> {
    return this.retryGone(async () => {
      this.checkOpen();
      const part = this.partition(this.engine.durable, tp);
      this.checkRange(tp, offset, { logStartOffset: part.logStart, highWatermark: part.next });
      const from = Math.max(offset, part.logStart);
      const out: StoredRecord[] = [];
      if (maxRecords <= 0) return out;
      for (const entry of entriesFrom(part, from)) {
        const bytes = await this.engine.readEntry(entry);
        for (const { pos, header } of iterateBatchHeaders(bytes)) {
          if (lastOffsetOf(header) < from) continue;
          for (const r of decodeBatchRecords(bytes, pos, header)) {
            if (r.offset < from) continue;
            out.push(r);
            if (out.length >= maxRecords) return out;
          }
        }
      }
      return out;
    });
  }

  async offsetForTimestamp(tp: TopicPartition, timestamp: number): Promise<number | undefined> {
    return this.retryGone(async () => {
      this.checkOpen();
      const part = this.partition(this.engine.durable, tp);
      for (const entry of part.entries) {
        if (entry.mts < timestamp || entry.last < part.logStart) continue;
        const bytes = await this.engine.readEntry(entry);
        for (const { pos, header } of iterateBatchHeaders(bytes)) {
          if (header.maxTimestamp < timestamp || lastOffsetOf(header) < part.logStart) continue;
          for (const r of decodeBatchRecords(bytes, pos, header)) {
            if (r.offset >= part.logStart && r.timestamp >= timestamp) return r.offset;
          }
        }
      }
      return undefined;
    });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.engine.isClosed) throw new StorageError('S3 storage is closed', 'closed');
  }

  private partition(state: StoreState, tp: TopicPartition): PartitionState {
    const topic = state.topics.get(tp.topic);
    if (!topic) throw new UnknownTopicError(tp.topic, tp.partition);
    const part = topic.partitions[tp.partition];
    if (!part) throw new UnknownTopicError(tp.topic, tp.partition);
    return part;
  }

  private checkRange(tp: TopicPartition, offset: number, range: PartitionOffsets): void {
    if (offset < range.logStartOffset || offset > range.highWatermark) throw new OffsetOutOfRangeError(tp, offset, range);
  }

  /** Compaction may move batches and collect the old object between index lookup and GET. */
  private async retryGone<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ObjectGoneError) || attempt >= 2) throw err;
      }
    }
  }
}

/** Index entries from the one holding `offset` on (binary search: entries are in offset order). */
function* entriesFrom(part: PartitionState, offset: number): Generator<IndexEntry> {
  const entries = part.entries;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid].last < offset) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < entries.length; i++) yield entries[i];
}
