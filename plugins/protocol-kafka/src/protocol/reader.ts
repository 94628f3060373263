/** Thrown when a frame does not parse; the connection is closed with a log line. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrameError';
  }
}

/** Cursor over one Kafka request body (big-endian primitives, Kafka varints). */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.end)
      throw new MalformedFrameError(`truncated: need ${n} bytes at ${this.pos}, frame ends at ${this.end}`);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** int64 as a number: offsets and timestamps stay below 2^53. */
  int64(): number {
    this.need(8);
    const v = Number(this.buf.readBigInt64BE(this.pos));
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  /** Unsigned varint (tag buffers, compact lengths). */
  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new MalformedFrameError(`unsigned varint too long at ${this.pos}`);
  }

  /** A view (no copy) of the next `n` bytes. */
  raw(n: number): Buffer {
    if (n < 0) throw new MalformedFrameError(`negative length ${n} at ${this.pos}`);
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** int16-length string, -1 = null. */
  nullableString(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.raw(n).toString('utf8');
  }

  /** uvarint-length (+1) string, 0 = null. */
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.raw(n).toString('utf8');
  }

  /** int32-length bytes, -1 = null. */
  nullableBytes(): Buffer | null {
    const n = this.int32();
    return n < 0 ? null : this.raw(n);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.raw(n);
  }
}
