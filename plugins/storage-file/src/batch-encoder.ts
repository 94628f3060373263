/**
 * Encodes an append's records as one uncompressed RecordBatch v2 into memory the caller provides
 * (a {@link Stage} chunk), in two steps: {@link sizeBatch} measures, {@link writeBatch} writes the
 * bytes and the CRC32C in one pass over the contiguous result. The bytes are exactly what the sdk's
 * `encodeRecordBatch` produces (checked by the tests); this variant exists so the store can encode
 * into reused memory instead of a fresh allocation per append.
 */
import { crc32c } from '@node-rs/crc32';
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  type BatchHeader,
  OFF_ATTRIBUTES,
  OFF_BASE_SEQUENCE,
  OFF_BASE_TIMESTAMP,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
  RECORD_BATCH_MAGIC,
  type RecordInput,
  varintSize,
  writeVarint,
} from '@robustmq/sdk';

/** A measured batch, ready for {@link writeBatch}. */
export interface SizedBatch {
  records: RecordInput[];
  now: number;
  /** Total encoded bytes. */
  size: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** Body size of each record (after its length varint). */
  bodies: number[];
  /** UTF-8 header keys per record (undefined when the record has no headers). */
  headerKeys: Array<Buffer[] | undefined>;
}

function nullableSize(b: Buffer | null | undefined): number {
  return b === null || b === undefined ? 1 : varintSize(b.length) + b.length;
}

function writeNullable(buf: Buffer, pos: number, b: Buffer | null | undefined): number {
  if (b === null || b === undefined) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  return pos + b.copy(buf, pos);
}

/**
 * Measures `records` as one batch, `now` being the timestamp of records without their own.
 * Throws RangeError for an empty list.
 */
export function sizeBatch(records: RecordInput[], now: number): SizedBatch {
  const count = records.length;
  if (count === 0) throw new RangeError('a record batch needs at least one record');
  const baseTimestamp = records[0].timestamp ?? now;
  let maxTimestamp = baseTimestamp;
  let size = BATCH_HEADER_SIZE;
  const bodies = new Array<number>(count);
  const headerKeys = new Array<Buffer[] | undefined>(count);
  for (let i = 0; i < count; i++) {
    const r = records[i];
    const ts = r.timestamp ?? now;
    if (ts > maxTimestamp) maxTimestamp = ts;
    let body = 1 + varintSize(ts - baseTimestamp) + varintSize(i) + nullableSize(r.key) + nullableSize(r.value);
    const headers = r.headers;
    body += varintSize(headers?.length ?? 0);
    if (headers && headers.length > 0) {
      const keys = headers.map((h) => Buffer.from(h.key, 'utf8'));
      headerKeys[i] = keys;
      for (let h = 0; h < headers.length; h++)
        body += varintSize(keys[h].length) + keys[h].length + nullableSize(headers[h].value);
    }
    bodies[i] = body;
    size += varintSize(body) + body;
  }
  return { records, now, size, baseTimestamp, maxTimestamp, bodies, headerKeys };
}

/**
 * Writes the batch measured by `sized` with first offset `baseOffset` into `out` (exactly
 * `sized.size` bytes) and returns its header.
 */
export function writeBatch(sized: SizedBatch, baseOffset: number, out: Buffer): BatchHeader {
  const { records, now, size, baseTimestamp, maxTimestamp, bodies, headerKeys } = sized;
  if (out.length !== size) throw new RangeError(`batch of ${size} bytes given ${out.length}`);
  const count = records.length;
  out.writeBigInt64BE(BigInt(baseOffset), 0);
  out.writeInt32BE(size - BATCH_LOG_OVERHEAD, OFF_BATCH_LENGTH);
  out.writeInt32BE(0, OFF_LEADER_EPOCH);
  out[OFF_MAGIC] = RECORD_BATCH_MAGIC;
  out.writeInt16BE(0, OFF_ATTRIBUTES); // uncompressed, create time, not transactional
  out.writeInt32BE(count - 1, OFF_LAST_OFFSET_DELTA);
  out.writeBigInt64BE(BigInt(baseTimestamp), OFF_BASE_TIMESTAMP);
  out.writeBigInt64BE(BigInt(maxTimestamp), OFF_MAX_TIMESTAMP);
  out.writeBigInt64BE(-1n, OFF_PRODUCER_ID);
  out.writeInt16BE(-1, OFF_PRODUCER_EPOCH);
  out.writeInt32BE(-1, OFF_BASE_SEQUENCE);
  out.writeInt32BE(count, OFF_RECORD_COUNT);
  let pos = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const r = records[i];
    pos = writeVarint(out, pos, bodies[i]);
    out[pos++] = 0; // record attributes: unused
    pos = writeVarint(out, pos, (r.timestamp ?? now) - baseTimestamp);
    pos = writeVarint(out, pos, i);
    pos = writeNullable(out, pos, r.key);
    pos = writeNullable(out, pos, r.value);
    const headers = r.headers;
    const n = headers?.length ?? 0;
    pos = writeVarint(out, pos, n);
    if (headers && n > 0) {
      const keys = headerKeys[i] as Buffer[];
      for (let h = 0; h < n; h++) {
        pos = writeNullable(out, pos, keys[h]);
        pos = writeNullable(out, pos, headers[h].value);
      }
    }
  }
  // Both passes run back to back; a mismatch would be a bug in one of them.
  if (pos !== size) throw new Error(`batch encoder wrote ${pos} of ${size} bytes`);
  const crc = crc32c(out.subarray(OFF_ATTRIBUTES)) >>> 0;
  out.writeUInt32BE(crc, OFF_CRC);
  return {
    baseOffset,
    batchLength: size - BATCH_LOG_OVERHEAD,
    partitionLeaderEpoch: 0,
    magic: RECORD_BATCH_MAGIC,
    crc,
    attributes: 0,
    lastOffsetDelta: count - 1,
    firstTimestamp: baseTimestamp,
    maxTimestamp,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: count,
  };
}
