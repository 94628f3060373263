import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BatchAttributes,
  batchSize,
  CorruptBatchError,
  decodeRecordBatches,
  encodeRecordBatch,
  iterateBatchHeaders,
  readBatchHeader,
  registerDecompressor,
  setBaseOffset,
  validateBatch,
} from '../src/index.js';

/** Bitwise CRC32C (Castagnoli, reflected 0x82F63B78), independent of @node-rs/crc32. */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const int64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return [...b];
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return [...b];
};
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return [...b];
};

/**
 * Two records written byte by byte from the Kafka documentation:
 *   offset 5, ts 1000, key "k", value "hi", no headers
 *   offset 6, ts 1300, key null, value "x", header h=null
 */
function goldenBatch(): Buffer {
  const record1 = [0x12, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x04, 0x68, 0x69, 0x00];
  // length 11 (zigzag 22), attrs, tsDelta 300 (zigzag 600 = d8 04), offsetDelta 1, key null,
  // value "x", 1 header: key "h", value null.
  const record2 = [0x16, 0x00, 0xd8, 0x04, 0x02, 0x01, 0x02, 0x78, 0x02, 0x02, 0x68, 0x01];
  const afterCrc = [
    ...int16(0), // attributes
    ...int32(1), // lastOffsetDelta
    ...int64(1000), // baseTimestamp
    ...int64(1300), // maxTimestamp
    ...int64(-1), // producerId
    ...int16(-1), // producerEpoch
    ...int32(-1), // baseSequence
    ...int32(2), // records count
    ...record1,
    ...record2,
  ];
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(referenceCrc32c(Uint8Array.from(afterCrc)));
  const batchLength = 4 + 1 + 4 + afterCrc.length; // leader epoch + magic + crc + rest
  return Buffer.from([...int64(5), ...int32(batchLength), ...int32(0), 0x02, ...crc, ...afterCrc]);
}

describe('RecordBatch v2 codec', () => {
  it('reference CRC32C matches the standard check value', () => {
    expect(referenceCrc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('encodes byte for byte the batch built by hand from the spec (golden vector)', () => {
    const golden = goldenBatch();
    expect(golden.length).toBe(83);
    const encoded = encodeRecordBatch(
      [
        { key: Buffer.from('k'), value: Buffer.from('hi'), timestamp: 1000 },
        { key: null, value: Buffer.from('x'), timestamp: 1300, headers: [{ key: 'h', value: null }] },
      ],
      { baseOffset: 5 },
    );
    expect(encoded.toString('hex')).toBe(golden.toString('hex'));

    const [batch] = decodeRecordBatches(golden);
    expect(batch.header).toMatchObject({
      baseOffset: 5,
      batchLength: 71,
      magic: 2,
      lastOffsetDelta: 1,
      firstTimestamp: 1000,
      maxTimestamp: 1300,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 2,
    });
    expect(batch.records).toEqual([
      { offset: 5, timestamp: 1000, key: Buffer.from('k'), value: Buffer.from('hi'), headers: [] },
      { offset: 6, timestamp: 1300, key: null, value: Buffer.from('x'), headers: [{ key: 'h', value: null }] },
    ]);
  });

  it('round-trips keys, values, headers, null fields, large and negative timestamp deltas', () => {
    const big = Buffer.alloc(70_000, 7);
    const records = [
      {
        key: Buffer.from('a'),
        value: Buffer.from('one'),
        timestamp: 1_700_000_000_000,
        headers: [{ key: 'ü', value: Buffer.from([0, 255]) }],
      },
      { value: null, timestamp: 1_699_999_999_000 },
      { key: Buffer.alloc(0), value: big, timestamp: 1_700_000_500_000 },
    ];
    const buf = encodeRecordBatch(records, { baseOffset: 2 ** 40 });
    const [batch] = decodeRecordBatches(buf);
    expect(batch.header.baseOffset).toBe(2 ** 40);
    expect(batch.header.maxTimestamp).toBe(1_700_000_500_000);
    expect(batch.records.map((r) => r.offset)).toEqual([2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2]);
    expect(batch.records[0]).toMatchObject({ key: Buffer.from('a'), value: Buffer.from('one'), timestamp: 1_700_000_000_000 });
    expect(batch.records[0].headers).toEqual([{ key: 'ü', value: Buffer.from([0, 255]) }]);
    expect(batch.records[1]).toMatchObject({ key: null, value: null, timestamp: 1_699_999_999_000 });
    expect(batch.records[2].key).toEqual(Buffer.alloc(0));
    expect(batch.records[2].value?.equals(big)).toBe(true);
  });

  it('uses the default timestamp for records without one and decodes several batches back to back', () => {
    const a = encodeRecordBatch([{ value: Buffer.from('1') }], { baseOffset: 0, timestamp: 42 });
    const b = encodeRecordBatch([{ value: Buffer.from('2') }, { value: Buffer.from('3') }], { baseOffset: 1, timestamp: 43 });
    const decoded = decodeRecordBatches(Buffer.concat([a, b]));
    expect(decoded.flatMap((d) => d.records.map((r) => [r.offset, r.timestamp, r.value?.toString()]))).toEqual([
      [0, 42, '1'],
      [1, 43, '2'],
      [2, 43, '3'],
    ]);
    expect([...iterateBatchHeaders(Buffer.concat([a, b]))].map((x) => x.pos)).toEqual([0, a.length]);
  });

  it('detects a CRC mismatch', () => {
    const buf = encodeRecordBatch([{ value: Buffer.from('payload') }], { baseOffset: 0 });
    buf[buf.length - 3] ^= 0x01;
    expect(() => validateBatch(buf)).toThrow(CorruptBatchError);
    expect(() => decodeRecordBatches(buf)).toThrow(/crc mismatch/);
  });

  it('detects truncation in the header and in the body, and can skip a partial tail', () => {
    const one = encodeRecordBatch([{ value: Buffer.from('payload') }], { baseOffset: 0 });
    expect(() => validateBatch(one.subarray(0, 30))).toThrow(/truncated header/);
    expect(() => decodeRecordBatches(one.subarray(0, one.length - 1))).toThrow(/truncated batch/);
    const two = Buffer.concat([one, one.subarray(0, one.length - 4)]);
    expect(() => decodeRecordBatches(two)).toThrow(CorruptBatchError);
    expect(decodeRecordBatches(two, { allowPartialTail: true })).toHaveLength(1);
    expect([...iterateBatchHeaders(two)]).toHaveLength(1);
  });

  it('rejects a wrong magic byte', () => {
    const buf = encodeRecordBatch([{ value: Buffer.from('x') }], { baseOffset: 0 });
    buf[16] = 1;
    expect(() => validateBatch(buf)).toThrow(/magic/);
  });

  it('setBaseOffset rewrites offsets in place and keeps the CRC valid', () => {
    const buf = encodeRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }], { baseOffset: 0 });
    const crc = readBatchHeader(buf).crc;
    setBaseOffset(buf, 0, 1234);
    const header = validateBatch(buf);
    expect(header.crc).toBe(crc);
    expect(header.baseOffset).toBe(1234);
    expect(batchSize(header)).toBe(buf.length);
    expect(decodeRecordBatches(buf)[0].records.map((r) => r.offset)).toEqual([1234, 1235]);
  });

  it('decodes gzip batches and LogAppendTime timestamps', () => {
    const plain = encodeRecordBatch(
      [
        { value: Buffer.from('zipped'), timestamp: 5 },
        { value: Buffer.from('too'), timestamp: 6 },
      ],
      {
        baseOffset: 10,
      },
    );
    const zipped = gzipSync(plain.subarray(61));
    const buf = Buffer.concat([plain.subarray(0, 61), zipped]);
    buf.writeInt32BE(buf.length - 12, 8);
    buf.writeInt16BE(1 | BatchAttributes.logAppendTime, 21);
    buf.writeBigInt64BE(999n, 35);
    buf.writeUInt32BE(referenceCrc32c(buf.subarray(21)), 17);
    const [batch] = decodeRecordBatches(buf);
    expect(batch.records.map((r) => [r.offset, r.timestamp, r.value?.toString()])).toEqual([
      [10, 999, 'zipped'],
      [11, 999, 'too'],
    ]);
  });

  it('throws a clear error for an unregistered codec and uses a registered decompressor', () => {
    const plain = encodeRecordBatch([{ value: Buffer.from('v') }], { baseOffset: 0 });
    const body = Buffer.from(plain.subarray(61)).reverse(); // a toy "codec" 7: reversed bytes
    const buf = Buffer.concat([plain.subarray(0, 61), body]);
    buf.writeInt16BE(7, 21);
    buf.writeUInt32BE(referenceCrc32c(buf.subarray(21)), 17);
    expect(() => decodeRecordBatches(buf)).toThrow(/codec #7 \(7\) has no registered decompressor/);
    registerDecompressor(7, (b) => Buffer.from(b).reverse());
    expect(decodeRecordBatches(buf)[0].records[0].value).toEqual(Buffer.from('v'));
    expect(() => registerDecompressor(0, (b) => b)).toThrow(RangeError);
  });

  it('encodes explicit offsets with gaps (compacted batches)', () => {
    const buf = encodeRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }], {
      baseOffset: 10,
      offsets: [12, 17],
    });
    const [batch] = decodeRecordBatches(buf);
    expect(batch.header).toMatchObject({ baseOffset: 10, lastOffsetDelta: 7, recordCount: 2 });
    expect(batch.records.map((r) => r.offset)).toEqual([12, 17]);
    expect(() => encodeRecordBatch([{ value: null }], { baseOffset: 5, offsets: [4] })).toThrow(RangeError);
    expect(() => encodeRecordBatch([{ value: null }, { value: null }], { baseOffset: 0, offsets: [1, 1] })).toThrow(RangeError);
  });

  it('refuses an empty record list', () => {
    expect(() => encodeRecordBatch([], { baseOffset: 0 })).toThrow(RangeError);
  });
});
