/**
 * Kafka RecordBatch v2 codec: the canonical on-disk and on-wire batch format of every LogStore.
 *
 * Layout (big-endian; offsets from the start of the batch):
 * ```
 *  0 baseOffset int64          27 baseTimestamp int64
 *  8 batchLength int32         35 maxTimestamp int64
 * 12 partitionLeaderEpoch int32 43 producerId int64
 * 16 magic int8 (= 2)          51 producerEpoch int16
 * 17 crc uint32 (CRC32C of 21..end) 53 baseSequence int32
 * 21 attributes int16          57 recordCount int32
 * 23 lastOffsetDelta int32     61 records (possibly compressed)
 * ```
 * A record is: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 * key (varint length, -1 = null), value (same), header count varint, then per header a key
 * (varint length + UTF-8) and a value (varint length, -1 = null). Varints are zigzag encoded.
 *
 * Offsets and timestamps are JavaScript numbers (exact up to 2^53).
 */
import { gunzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import type { RecordHeader, RecordInput, StoredRecord } from './log-store.js';
import { CorruptBatchError } from './log-store.js';

/** Size of the fixed batch header, up to and including the record count. */
export const BATCH_HEADER_SIZE = 61;
/** Bytes before `batchLength` starts counting (baseOffset + batchLength). */
export const BATCH_LOG_OVERHEAD = 12;
/** The only magic value this codec reads and writes. */
export const RECORD_BATCH_MAGIC = 2;

// Field positions in the RecordBatch v2 header (fixed by the Kafka protocol), exported for
// encoders that write a batch in place (storage-file's append path).
export const OFF_BATCH_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORD_COUNT = 57;

/** Compression codec ids (attributes bits 0-2). */
export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodecId = (typeof CompressionCodec)[keyof typeof CompressionCodec];

/** Attribute bits. */
export const BatchAttributes = {
  compressionMask: 0x07,
  /** Set: timestamps are the broker's LogAppendTime (maxTimestamp), not CreateTime. */
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

/** The fixed fields of a RecordBatch v2 header. */
export interface BatchHeader {
  baseOffset: number;
  /** Bytes after the batchLength field; the whole batch is {@link batchSize} bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** CRC32C (unsigned) stored in the batch. */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  /** baseTimestamp in the Kafka documentation. */
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** One batch decoded: its header and its records with absolute offsets and timestamps. */
export interface DecodedBatch {
  header: BatchHeader;
  records: StoredRecord[];
}

/** Options of {@link encodeRecordBatch}. */
export interface EncodeBatchOptions {
  baseOffset: number;
  /** Timestamp (epoch ms) given to records without one; defaults to `Date.now()`. */
  timestamp?: number;
  /** Default 0. */
  partitionLeaderEpoch?: number;
  /** Default -1 (no idempotent producer). */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  /** Mark timestamps as LogAppendTime (every record reads back with `timestamp`). */
  logAppendTime?: boolean;
  /**
   * Absolute offsets of the records, ascending from `baseOffset` (a compacted batch has gaps).
   * Default: `baseOffset`, `baseOffset + 1`, ….
   */
  offsets?: number[];
}

/** Total size in bytes of a batch given its header. */
export function batchSize(header: Pick<BatchHeader, 'batchLength'>): number {
  return BATCH_LOG_OVERHEAD + header.batchLength;
}

/** Offset of the last record in a batch. */
export function lastOffsetOf(header: Pick<BatchHeader, 'baseOffset' | 'lastOffsetDelta'>): number {
  return header.baseOffset + header.lastOffsetDelta;
}

/** Compression codec id of a batch. */
export function compressionOf(header: Pick<BatchHeader, 'attributes'>): number {
  return header.attributes & BatchAttributes.compressionMask;
}

// ---------------------------------------------------------------------------------------------
// Decompressor registry
// ---------------------------------------------------------------------------------------------

/** Turns the compressed records section of a batch into the raw records bytes. */
export type Decompressor = (compressed: Buffer) => Buffer;

const decompressors = new Map<number, Decompressor>([[CompressionCodec.gzip, (b) => gunzipSync(b)]]);
const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * Registers (or replaces) the decompressor for a codec id, e.g. snappy (2), lz4 (3), zstd (4).
 * gzip is built in. Affects every decode in the process.
 */
export function registerDecompressor(codecId: number, fn: Decompressor): void {
  if (!Number.isInteger(codecId) || codecId < 1 || codecId > 7) throw new RangeError(`invalid compression codec id ${codecId}`);
  decompressors.set(codecId, fn);
}

// ---------------------------------------------------------------------------------------------
// Varints (zigzag). Arithmetic rather than bit operations so values up to 2^53 stay exact.
// ---------------------------------------------------------------------------------------------

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** Bytes taken by a zigzag varint/varlong. */
export function varintSize(n: number): number {
  let z = zigzag(n);
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

/** Writes `n` as a zigzag varint/varlong at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  let z = zigzag(n);
  while (z >= 0x80) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

/** Cursor-based reader over the records section of one batch. */
class RecordReader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}

  fail(what: string): never {
    throw new CorruptBatchError(`${what} at byte ${this.pos}`);
  }

  varint(): number {
    let z = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      z += (b & 0x7f) * mul;
      if (b < 0x80) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      mul *= 128;
    }
    return this.fail('varint too long');
  }

  int8(): number {
    if (this.pos >= this.end) this.fail('truncated record');
    return this.buf.readInt8(this.pos++);
  }

  bytes(len: number): Buffer {
    if (len < 0 || this.pos + len > this.end) this.fail(`bad length ${len}`);
    // Copy so decoded records do not pin the (possibly large) source buffer.
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return out;
  }

  nullableBytes(): Buffer | null {
    const len = this.varint();
    if (len === -1) return null;
    return this.bytes(len);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

interface PreparedHeader {
  key: Buffer;
  value: Buffer | null;
}

interface PreparedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: PreparedHeader[];
  timestampDelta: number;
  offsetDelta: number;
  bodySize: number;
}

function prepareRecord(input: RecordInput, offsetDelta: number, timestamp: number, baseTimestamp: number): PreparedRecord {
  const key = input.key ?? null;
  const value = input.value ?? null;
  const headers: PreparedHeader[] = (input.headers ?? []).map((h: RecordHeader) => ({
    key: Buffer.from(h.key, 'utf8'),
    value: h.value ?? null,
  }));
  const timestampDelta = timestamp - baseTimestamp;
  let bodySize = 1 + varintSize(timestampDelta) + varintSize(offsetDelta);
  bodySize += key === null ? 1 : varintSize(key.length) + key.length;
  bodySize += value === null ? 1 : varintSize(value.length) + value.length;
  bodySize += varintSize(headers.length);
  for (const h of headers) {
    bodySize += varintSize(h.key.length) + h.key.length;
    bodySize += h.value === null ? 1 : varintSize(h.value.length) + h.value.length;
  }
  return { key, value, headers, timestampDelta, offsetDelta, bodySize };
}

function writeNullable(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

/**
 * Encodes records as one uncompressed RecordBatch v2 with offsets `baseOffset`,
 * `baseOffset + 1`, …. Throws RangeError for an empty list.
 */
export function encodeRecordBatch(records: RecordInput[], opts: EncodeBatchOptions): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const now = opts.timestamp ?? Date.now();
  const timestamps = records.map((r) => r.timestamp ?? now);
  const baseTimestamp = timestamps[0];
  let maxTimestamp = baseTimestamp;
  for (const t of timestamps) if (t > maxTimestamp) maxTimestamp = t;

  const { offsets } = opts;
  if (offsets) {
    if (offsets.length !== records.length) throw new RangeError(`${offsets.length} offsets for ${records.length} records`);
    for (let i = 0; i < offsets.length; i++) {
      if (offsets[i] < (i === 0 ? opts.baseOffset : offsets[i - 1] + 1))
        throw new RangeError('offsets must ascend from baseOffset');
    }
  }
  const deltas = offsets ? offsets.map((o) => o - opts.baseOffset) : records.map((_, i) => i);
  const prepared = records.map((r, i) => prepareRecord(r, deltas[i], timestamps[i], baseTimestamp));
  let size = BATCH_HEADER_SIZE;
  for (const p of prepared) size += varintSize(p.bodySize) + p.bodySize;

  const buf = Buffer.allocUnsafe(size);
  buf.writeBigInt64BE(BigInt(opts.baseOffset), 0);
  buf.writeInt32BE(size - BATCH_LOG_OVERHEAD, OFF_BATCH_LENGTH);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? 0, OFF_LEADER_EPOCH);
  buf.writeInt8(RECORD_BATCH_MAGIC, OFF_MAGIC);
  buf.writeInt16BE(opts.logAppendTime ? BatchAttributes.logAppendTime : 0, OFF_ATTRIBUTES);
  buf.writeInt32BE(deltas[deltas.length - 1], OFF_LAST_OFFSET_DELTA);
  buf.writeBigInt64BE(BigInt(baseTimestamp), OFF_BASE_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(maxTimestamp), OFF_MAX_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(opts.producerId ?? -1), OFF_PRODUCER_ID);
  buf.writeInt16BE(opts.producerEpoch ?? -1, OFF_PRODUCER_EPOCH);
  buf.writeInt32BE(opts.baseSequence ?? -1, OFF_BASE_SEQUENCE);
  buf.writeInt32BE(records.length, OFF_RECORD_COUNT);

  let pos = BATCH_HEADER_SIZE;
  for (const p of prepared) {
    pos = writeVarint(buf, pos, p.bodySize);
    buf[pos++] = 0; // record attributes: unused
    pos = writeVarint(buf, pos, p.timestampDelta);
    pos = writeVarint(buf, pos, p.offsetDelta);
    pos = writeNullable(buf, pos, p.key);
    pos = writeNullable(buf, pos, p.value);
    pos = writeVarint(buf, pos, p.headers.length);
    for (const h of p.headers) {
      pos = writeNullable(buf, pos, h.key);
      pos = writeNullable(buf, pos, h.value);
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(OFF_ATTRIBUTES)) >>> 0, OFF_CRC);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Headers, validation, in-place edits
// ---------------------------------------------------------------------------------------------

/**
 * Reads the fixed header of the batch at `pos` without checking the CRC or that the whole batch
 * is present. Throws {@link CorruptBatchError} when fewer than 61 bytes remain.
 */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos < 0 || buf.length - pos < BATCH_HEADER_SIZE) {
    throw new CorruptBatchError(`truncated header: ${Math.max(0, buf.length - pos)} of ${BATCH_HEADER_SIZE} bytes at ${pos}`);
  }
  return {
    baseOffset: Number(buf.readBigInt64BE(pos)),
    batchLength: buf.readInt32BE(pos + OFF_BATCH_LENGTH),
    partitionLeaderEpoch: buf.readInt32BE(pos + OFF_LEADER_EPOCH),
    magic: buf.readInt8(pos + OFF_MAGIC),
    crc: buf.readUInt32BE(pos + OFF_CRC),
    attributes: buf.readInt16BE(pos + OFF_ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA),
    firstTimestamp: Number(buf.readBigInt64BE(pos + OFF_BASE_TIMESTAMP)),
    maxTimestamp: Number(buf.readBigInt64BE(pos + OFF_MAX_TIMESTAMP)),
    producerId: Number(buf.readBigInt64BE(pos + OFF_PRODUCER_ID)),
    producerEpoch: buf.readInt16BE(pos + OFF_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFF_BASE_SEQUENCE),
    recordCount: buf.readInt32BE(pos + OFF_RECORD_COUNT),
  };
}

/**
 * Checks the batch at `pos`: complete header, magic 2, sane lengths, the whole batch present and
 * the CRC32C matching. Returns the header; throws {@link CorruptBatchError} naming the problem.
 */
export function validateBatch(buf: Buffer, pos = 0): BatchHeader {
  const header = readBatchHeader(buf, pos);
  if (header.magic !== RECORD_BATCH_MAGIC) throw new CorruptBatchError(`unsupported magic ${header.magic} at ${pos}`);
  if (header.batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) {
    throw new CorruptBatchError(`batchLength ${header.batchLength} too small at ${pos}`);
  }
  const end = pos + batchSize(header);
  if (end > buf.length) {
    throw new CorruptBatchError(`truncated batch at ${pos}: need ${batchSize(header)} bytes, have ${buf.length - pos}`);
  }
  if (header.recordCount < 0 || header.lastOffsetDelta < 0) {
    throw new CorruptBatchError(`negative record count or offset delta at ${pos}`);
  }
  const actual = crc32c(buf.subarray(pos + OFF_ATTRIBUTES, end)) >>> 0;
  if (actual !== header.crc) {
    throw new CorruptBatchError(`crc mismatch at ${pos}: stored ${header.crc.toString(16)}, computed ${actual.toString(16)}`);
  }
  return header;
}

/** Rewrites the base offset of the batch at `pos` in place. The CRC does not cover it. */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  buf.writeBigInt64BE(BigInt(baseOffset), pos);
}

/**
 * Rewrites the partition leader epoch in place (not covered by the CRC either); brokers stamp it
 * on append.
 */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + OFF_LEADER_EPOCH);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

function recordsSection(buf: Buffer, pos: number, header: BatchHeader): Buffer {
  const raw = buf.subarray(pos + BATCH_HEADER_SIZE, pos + batchSize(header));
  const codec = compressionOf(header);
  if (codec === CompressionCodec.none) return raw;
  const fn = decompressors.get(codec);
  if (!fn) {
    const name = codecNames[codec] ?? `#${codec}`;
    throw new CorruptBatchError(`compression codec ${name} (${codec}) has no registered decompressor (registerDecompressor)`);
  }
  try {
    return fn(raw);
  } catch (err) {
    throw new CorruptBatchError(`cannot decompress ${codecNames[codec] ?? codec} records: ${(err as Error).message}`);
  }
}

/** Decodes the records of the (already validated) batch at `pos`. */
export function decodeBatchRecords(buf: Buffer, pos: number, header: BatchHeader): StoredRecord[] {
  const section = recordsSection(buf, pos, header);
  const reader = new RecordReader(section, 0, section.length);
  const appendTime = (header.attributes & BatchAttributes.logAppendTime) !== 0;
  const records: StoredRecord[] = new Array(header.recordCount);
  for (let i = 0; i < header.recordCount; i++) {
    const length = reader.varint();
    const end = reader.pos + length;
    if (length < 0 || end > section.length) reader.fail(`bad record length ${length}`);
    const r = new RecordReader(section, reader.pos, end);
    r.int8(); // record attributes: unused
    const timestampDelta = r.varint();
    const offsetDelta = r.varint();
    const key = r.nullableBytes();
    const value = r.nullableBytes();
    const headerCount = r.varint();
    if (headerCount < 0) r.fail(`bad header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hkLen = r.varint();
      const hk = r.bytes(hkLen).toString('utf8');
      headers.push({ key: hk, value: r.nullableBytes() });
    }
    if (r.pos !== end) r.fail(`record ${i} has ${end - r.pos} trailing bytes`);
    reader.pos = end;
    records[i] = {
      offset: header.baseOffset + offsetDelta,
      timestamp: appendTime ? header.maxTimestamp : header.firstTimestamp + timestampDelta,
      key,
      value,
      headers,
    };
  }
  if (reader.pos !== section.length) reader.fail(`${section.length - reader.pos} bytes after the last record`);
  return records;
}

/** Options of {@link decodeRecordBatches}. */
export interface DecodeBatchesOptions {
  /**
   * Ignore an incomplete batch at the end (a Kafka fetch cut at maxBytes) instead of throwing.
   * Default false.
   */
  allowPartialTail?: boolean;
}

/**
 * Validates and decodes every batch in `buf` (batches back to back). Throws
 * {@link CorruptBatchError} on a CRC mismatch, a truncated batch or malformed records.
 */
export function decodeRecordBatches(buf: Buffer, options: DecodeBatchesOptions = {}): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (options.allowPartialTail) {
      const remaining = buf.length - pos;
      if (remaining < BATCH_HEADER_SIZE) break;
      if (remaining < BATCH_LOG_OVERHEAD + buf.readInt32BE(pos + OFF_BATCH_LENGTH)) break;
    }
    const header = validateBatch(buf, pos);
    out.push({ header, records: decodeBatchRecords(buf, pos, header) });
    pos += batchSize(header);
  }
  return out;
}

/**
 * Walks the batch boundaries in `buf` without checking CRCs (for indexes over trusted data).
 * Stops at the first incomplete batch.
 */
export function* iterateBatchHeaders(buf: Buffer, pos = 0): Generator<{ pos: number; header: BatchHeader }> {
  while (buf.length - pos >= BATCH_HEADER_SIZE) {
    const header = readBatchHeader(buf, pos);
    if (header.batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD || pos + batchSize(header) > buf.length) return;
    yield { pos, header };
    pos += batchSize(header);
  }
}
