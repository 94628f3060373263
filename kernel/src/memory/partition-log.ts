import {
  batchSize,
  CorruptBatchError,
  decodeBatchRecords,
  encodeRecordBatch,
  lastOffsetOf,
  OffsetOutOfRangeError,
  type PartitionOffsets,
  readBatchHeader,
  type RecordInput,
  type StoredRecord,
  setBaseOffset,
  type TopicPartition,
  validateBatch,
} from '@robustmq/sdk';

/** One stored RecordBatch v2 and the facts needed to find it without decoding. */
interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

/**
 * One partition's log in memory: RecordBatch v2 buffers in offset order, exactly as a disk store
 * keeps them, so fetches serve stored bytes.
 */
export class PartitionLog {
  private batches: StoredBatch[] = [];
  logStartOffset = 0;
  highWatermark = 0;

  constructor(private readonly tp: TopicPartition) {}

  offsets(): PartitionOffsets {
    return { logStartOffset: this.logStartOffset, highWatermark: this.highWatermark };
  }

  /** Encodes records as one batch at the high watermark. */
  appendRecords(records: RecordInput[], now: number): { baseOffset: number; lastOffset: number } {
    if (records.length === 0) throw new RangeError('append needs at least one record');
    return this.push(encodeRecordBatch(records, { baseOffset: this.highWatermark, timestamp: now }));
  }

  /**
   * Stores received batches (one or several back to back) after checking every CRC: all or nothing.
   * The caller's buffer is copied, never modified.
   */
  appendRaw(raw: Buffer): { baseOffset: number; lastOffset: number } {
    if (raw.length === 0) throw new CorruptBatchError('empty batch');
    const copy = Buffer.from(raw);
    const positions: number[] = [];
    for (let pos = 0; pos < copy.length; ) {
      positions.push(pos);
      pos += batchSize(validateBatch(copy, pos));
    }
    const baseOffset = this.highWatermark;
    let lastOffset = baseOffset - 1;
    for (let i = 0; i < positions.length; i++) {
      const end = positions[i + 1] ?? copy.length;
      const bytes = copy.subarray(positions[i], end);
      setBaseOffset(bytes, 0, this.highWatermark);
      lastOffset = this.push(bytes).lastOffset;
    }
    return { baseOffset, lastOffset };
  }

  /** Whole batches from the one holding `offset`, within `maxBytes` but at least one. */
  fetch(offset: number, maxBytes: number): Buffer {
    this.checkRange(offset);
    const chunks: Buffer[] = [];
    let total = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) {
      const { bytes } = this.batches[i];
      if (chunks.length > 0 && total + bytes.length > maxBytes) break;
      chunks.push(bytes);
      total += bytes.length;
    }
    return Buffer.concat(chunks, total);
  }

  /** Decoded records with offset ≥ `offset`, at most `maxRecords`. */
  read(offset: number, maxRecords: number): StoredRecord[] {
    this.checkRange(offset);
    const out: StoredRecord[] = [];
    for (let i = this.indexOf(offset); i < this.batches.length && out.length < maxRecords; i++) {
      const { bytes } = this.batches[i];
      for (const record of decodeBatchRecords(bytes, 0, readBatchHeader(bytes))) {
        if (record.offset < offset) continue;
        out.push(record);
        if (out.length >= maxRecords) break;
      }
    }
    return out;
  }

  offsetForTimestamp(timestamp: number): number | undefined {
    for (const batch of this.batches) {
      if (batch.maxTimestamp < timestamp) continue;
      for (const record of decodeBatchRecords(batch.bytes, 0, readBatchHeader(batch.bytes))) {
        if (record.offset >= this.logStartOffset && record.timestamp >= timestamp) return record.offset;
      }
    }
    return undefined;
  }

  /** Advances logStartOffset (never backwards) and drops batches entirely below it. */
  deleteBefore(offset: number): number {
    if (offset > this.highWatermark) throw new OffsetOutOfRangeError(this.tp, offset, this.offsets());
    if (offset <= this.logStartOffset) return this.logStartOffset;
    this.logStartOffset = offset;
    this.batches = this.batches.filter((b) => b.lastOffset >= offset);
    return offset;
  }

  /** Stores a batch already encoded or validated here (stored bytes are trusted: no second CRC pass). */
  private push(bytes: Buffer): { baseOffset: number; lastOffset: number } {
    const header = readBatchHeader(bytes);
    const batch = { baseOffset: header.baseOffset, lastOffset: lastOffsetOf(header), maxTimestamp: header.maxTimestamp, bytes };
    this.batches.push(batch);
    this.highWatermark = batch.lastOffset + 1;
    return batch;
  }

  /** Offsets outside [logStartOffset, highWatermark] are refused like Kafka's OFFSET_OUT_OF_RANGE. */
  private checkRange(offset: number): void {
    if (offset < this.logStartOffset || offset > this.highWatermark) {
      throw new OffsetOutOfRangeError(this.tp, offset, this.offsets());
    }
  }

  /** Index of the first batch whose last offset is ≥ `offset` (binary search). */
  private indexOf(offset: number): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid].lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
