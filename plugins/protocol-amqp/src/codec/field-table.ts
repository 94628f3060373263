/**
 * AMQP field tables and arrays (the RabbitMQ/0-9-1 errata type set). Decoded values are plain JS
 * values: numbers, strings, booleans, Buffers (byte arrays), Dates (timestamps), arrays, objects,
 * null (void). Encoding picks a type from the JS value.
 */

export type FieldValue = string | number | bigint | boolean | Buffer | Date | null | FieldValue[] | FieldTable;
export interface FieldTable {
  [name: string]: FieldValue;
}

/** Thrown when bytes do not form a valid table; the connection answers 502 SYNTAX_ERROR / 501. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

/** A bounds-checked cursor over a frame payload. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError(`truncated: need ${n} bytes at ${this.pos}`);
  }
  octet(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  short(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  long(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  longlong(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  shortstr(): string {
    const n = this.octet();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  longstrBytes(): Buffer {
    const n = this.long();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  longstr(): string {
    return this.longstrBytes().toString('utf8');
  }
  table(): FieldTable {
    const n = this.long();
    this.need(n);
    const end = this.pos + n;
    const out: FieldTable = {};
    while (this.pos < end) {
      const key = this.shortstr();
      out[key] = this.fieldValue(end);
    }
    if (this.pos !== end) throw new DecodeError('table length mismatch');
    return out;
  }
  /** The raw bytes of a table including its length prefix (kept verbatim for re-delivery). */
  tableBytes(): Buffer {
    const start = this.pos;
    const n = this.long();
    this.need(n);
    this.pos += n;
    return this.buf.subarray(start, this.pos);
  }
  private array(): FieldValue[] {
    const n = this.long();
    this.need(n);
    const end = this.pos + n;
    const out: FieldValue[] = [];
    while (this.pos < end) out.push(this.fieldValue(end));
    if (this.pos !== end) throw new DecodeError('array length mismatch');
    return out;
  }
  private fieldValue(limit: number): FieldValue {
    const t = String.fromCharCode(this.octet());
    let v: FieldValue;
    switch (t) {
      case 't':
        v = this.octet() !== 0;
        break;
      case 'b':
        this.need(1);
        v = this.buf.readInt8(this.pos++);
        break;
      case 'B':
        v = this.octet();
        break;
      case 's':
        this.need(2);
        v = this.buf.readInt16BE(this.pos);
        this.pos += 2;
        break;
      case 'u':
        v = this.short();
        break;
      case 'I':
        this.need(4);
        v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        break;
      case 'i':
        v = this.long();
        break;
      case 'l':
        this.need(8);
        v = Number(this.buf.readBigInt64BE(this.pos));
        this.pos += 8;
        break;
      case 'f':
        this.need(4);
        v = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        break;
      case 'd':
        this.need(8);
        v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        break;
      case 'D': {
        const scale = this.octet();
        this.need(4);
        const raw = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        v = raw / 10 ** scale;
        break;
      }
      case 'S':
        v = this.longstr();
        break;
      case 'x':
        v = Buffer.from(this.longstrBytes());
        break;
      case 'A':
        v = this.array();
        break;
      case 'T':
        v = new Date(this.longlong() * 1000);
        break;
      case 'F':
        v = this.table();
        break;
      case 'V':
        v = null;
        break;
      default:
        throw new DecodeError(`unknown field type '${t}'`);
    }
    if (this.pos > limit) throw new DecodeError('field overruns its table');
    return v;
  }
}

/** A growable output buffer. */
export class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  octet(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  short(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  long(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  longlong(v: number): void {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(v))), this.pos);
    this.pos += 8;
  }
  shortstr(s: string): void {
    const n = Buffer.byteLength(s);
    if (n > 255) throw new RangeError(`short string longer than 255 bytes: ${s.slice(0, 40)}…`);
    this.ensure(1 + n);
    this.buf[this.pos++] = n;
    this.pos += this.buf.write(s, this.pos);
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  longstr(s: string | Buffer): void {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    this.long(b.length);
    this.bytes(b);
  }
  table(t: FieldTable | Buffer | undefined): void {
    if (Buffer.isBuffer(t)) {
      this.bytes(t);
      return;
    }
    const at = this.pos;
    this.long(0);
    if (t)
      for (const [k, v] of Object.entries(t))
        if (v !== undefined) {
          this.shortstr(k);
          this.fieldValue(v);
        }
    this.buf.writeUInt32BE(this.pos - at - 4, at);
  }
  private fieldValue(v: FieldValue): void {
    if (v === null) this.octet(0x56 /* V */);
    else if (typeof v === 'string') {
      this.octet(0x53 /* S */);
      this.longstr(v);
    } else if (typeof v === 'boolean') {
      this.octet(0x74 /* t */);
      this.octet(v ? 1 : 0);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) {
        this.octet(0x49 /* I */);
        this.ensure(4);
        this.buf.writeInt32BE(v, this.pos);
        this.pos += 4;
      } else if (Number.isInteger(v)) {
        this.octet(0x6c /* l */);
        this.ensure(8);
        this.buf.writeBigInt64BE(BigInt(v), this.pos);
        this.pos += 8;
      } else {
        this.octet(0x64 /* d */);
        this.ensure(8);
        this.buf.writeDoubleBE(v, this.pos);
        this.pos += 8;
      }
    } else if (typeof v === 'bigint') {
      this.octet(0x6c);
      this.ensure(8);
      this.buf.writeBigInt64BE(v, this.pos);
      this.pos += 8;
    } else if (Buffer.isBuffer(v)) {
      this.octet(0x78 /* x */);
      this.longstr(v);
    } else if (v instanceof Date) {
      this.octet(0x54 /* T */);
      this.longlong(Math.floor(v.getTime() / 1000));
    } else if (Array.isArray(v)) {
      this.octet(0x41 /* A */);
      const at = this.pos;
      this.long(0);
      for (const item of v) this.fieldValue(item);
      this.buf.writeUInt32BE(this.pos - at - 4, at);
    } else {
      this.octet(0x46 /* F */);
      this.table(v);
    }
  }
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Encodes a table including its 4-byte length. */
export function encodeTable(t: FieldTable): Buffer {
  const w = new Writer(64);
  w.table(t);
  return Buffer.from(w.result());
}

/** Decodes a table that starts with its 4-byte length. */
export function decodeTable(b: Buffer): FieldTable {
  return new Reader(b).table();
}
