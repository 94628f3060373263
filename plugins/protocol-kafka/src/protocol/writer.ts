/**
 * Growable output for one response. Large buffers (stored record batches) are kept by reference
 * as separate chunks so a fetch response is written without copying the log data.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private buf: Buffer;
  private pos = 0;
  private flushed = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.flushed + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.flushed += this.pos;
    }
    this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2, 256));
    this.pos = 0;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  int64(v: number | bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(Math.trunc(v)), this.pos);
    this.pos += 8;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  uvarint(v: number): this {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Appends bytes; big ones are kept by reference. */
  bytes(b: Buffer): this {
    if (b.length >= 1024) {
      if (this.pos > 0) {
        this.chunks.push(this.buf.subarray(0, this.pos));
        this.flushed += this.pos;
        this.buf = this.buf.subarray(this.pos);
        this.pos = 0;
      }
      this.chunks.push(b);
      this.flushed += b.length;
      return this;
    }
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  nullableString(s: string | null | undefined): this {
    if (s === null || s === undefined) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).bytes(b);
  }

  compactNullableString(s: string | null | undefined): this {
    if (s === null || s === undefined) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).bytes(b);
  }

  nullableBytes(b: Buffer | null | undefined): this {
    if (b === null || b === undefined) return this.int32(-1);
    return this.int32(b.length).bytes(b);
  }

  compactNullableBytes(b: Buffer | null | undefined): this {
    if (b === null || b === undefined) return this.uvarint(0);
    return this.uvarint(b.length + 1).bytes(b);
  }

  /** The chunks written, in order (the last one is the live scratch buffer's used part). */
  toChunks(): Buffer[] {
    const out = [...this.chunks];
    if (this.pos > 0) out.push(this.buf.subarray(0, this.pos));
    return out;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.toChunks());
  }
}
