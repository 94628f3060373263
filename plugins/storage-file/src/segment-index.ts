/**
 * The sparse in-memory indexes of one segment, persisted next to it when the segment is sealed or
 * the store closes.
 *
 * - Offset index: (batch base offset, byte position), one entry every `indexIntervalBytes`.
 *   The batch holding offset `o` starts at or after the last entry whose offset is ≤ `o`.
 * - Time index: (max timestamp of all batches before `position`, position). Every batch before the
 *   last entry whose timestamp is < `t` has only timestamps < `t`, so a search for `t` starts there.
 *
 * Files: a 16-byte header (magic, version, the log size the index covers) then fixed-size
 * entries. An index whose covered size differs from the log file is stale and rebuilt.
 */

const HEADER_SIZE = 16;
const VERSION = 1;
const OFFSET_MAGIC = 0x524d514f; // "RMQO"
const TIME_MAGIC = 0x524d5154; // "RMQT"

export class SegmentIndex {
  readonly offsets: number[] = [];
  readonly offsetPositions: number[] = [];
  readonly times: number[] = [];
  readonly timePositions: number[] = [];
  private bytesSinceEntry = 0;

  constructor(
    readonly baseOffset: number,
    readonly intervalBytes: number,
  ) {}

  /**
   * Records a batch appended at `position`. `maxTimestampBefore` is the segment's max timestamp
   * before this batch (-Infinity when empty).
   */
  onBatch(position: number, batchBaseOffset: number, size: number, maxTimestampBefore: number): void {
    if (position > 0 && this.bytesSinceEntry >= this.intervalBytes) {
      this.offsets.push(batchBaseOffset);
      this.offsetPositions.push(position);
      this.times.push(maxTimestampBefore);
      this.timePositions.push(position);
      this.bytesSinceEntry = 0;
    }
    this.bytesSinceEntry += size;
  }

  /** Byte position to start scanning for `offset`. */
  lookupOffset(offset: number): number {
    const i = floorIndex(this.offsets, offset, false);
    return i < 0 ? 0 : this.offsetPositions[i];
  }

  /** Byte position to start scanning for the first timestamp ≥ `timestamp`. */
  lookupTime(timestamp: number): number {
    const i = floorIndex(this.times, timestamp, true);
    return i < 0 ? 0 : this.timePositions[i];
  }

  /** Drops entries at or past `position` (after truncation). */
  truncateTo(position: number): void {
    while (this.offsetPositions.length && this.offsetPositions[this.offsetPositions.length - 1] >= position) {
      this.offsets.pop();
      this.offsetPositions.pop();
    }
    while (this.timePositions.length && this.timePositions[this.timePositions.length - 1] >= position) {
      this.times.pop();
      this.timePositions.pop();
    }
  }

  serializeOffsets(coveredBytes: number): Buffer {
    const buf = header(OFFSET_MAGIC, coveredBytes, this.offsets.length * 8);
    for (let i = 0; i < this.offsets.length; i++) {
      buf.writeUInt32BE(this.offsets[i] - this.baseOffset, HEADER_SIZE + i * 8);
      buf.writeUInt32BE(this.offsetPositions[i], HEADER_SIZE + i * 8 + 4);
    }
    return buf;
  }

  serializeTimes(coveredBytes: number): Buffer {
    const buf = header(TIME_MAGIC, coveredBytes, this.times.length * 12);
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i];
      buf.writeBigInt64BE(BigInt(Number.isFinite(t) ? t : -1), HEADER_SIZE + i * 12);
      buf.writeUInt32BE(this.timePositions[i], HEADER_SIZE + i * 12 + 8);
    }
    return buf;
  }

  /**
   * Loads both index files; returns undefined when either is malformed or covers a different log
   * size (the caller then rebuilds by scanning the segment).
   */
  static load(
    baseOffset: number,
    intervalBytes: number,
    logSize: number,
    offsetsFile: Buffer,
    timesFile: Buffer,
  ): SegmentIndex | undefined {
    if (!checkHeader(offsetsFile, OFFSET_MAGIC, logSize, 8) || !checkHeader(timesFile, TIME_MAGIC, logSize, 12)) return undefined;
    const index = new SegmentIndex(baseOffset, intervalBytes);
    let lastPos = 0;
    for (let p = HEADER_SIZE; p < offsetsFile.length; p += 8) {
      const pos = offsetsFile.readUInt32BE(p + 4);
      if (pos <= lastPos || pos >= logSize) return undefined;
      index.offsets.push(baseOffset + offsetsFile.readUInt32BE(p));
      index.offsetPositions.push(pos);
      lastPos = pos;
    }
    lastPos = 0;
    for (let p = HEADER_SIZE; p < timesFile.length; p += 12) {
      const pos = timesFile.readUInt32BE(p + 8);
      if (pos <= lastPos || pos >= logSize) return undefined;
      index.times.push(Number(timesFile.readBigInt64BE(p)));
      index.timePositions.push(pos);
      lastPos = pos;
    }
    return index;
  }
}

function header(magic: number, coveredBytes: number, bodySize: number): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE + bodySize);
  buf.writeUInt32BE(magic, 0);
  buf.writeUInt16BE(VERSION, 4);
  buf.writeBigUInt64BE(BigInt(coveredBytes), 8);
  return buf;
}

function checkHeader(buf: Buffer, magic: number, logSize: number, entrySize: number): boolean {
  return (
    buf.length >= HEADER_SIZE &&
    (buf.length - HEADER_SIZE) % entrySize === 0 &&
    buf.readUInt32BE(0) === magic &&
    buf.readUInt16BE(4) === VERSION &&
    Number(buf.readBigUInt64BE(8)) === logSize
  );
}

/** Index of the last element ≤ key (or < key when `strict`), -1 when none. */
function floorIndex(sorted: number[], key: number, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (strict ? sorted[mid] < key : sorted[mid] <= key) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
