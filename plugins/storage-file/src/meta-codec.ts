/**
 * Byte formats of the MetaStore files.
 *
 * WAL record: `u32 payloadLength, u32 crc32c(payload), payload`; payload = `u32 opCount` then per
 * op `u8 kind (1 put, 0 delete), u32 keyLength, key UTF-8, [u32 valueLength, value]`. One record
 * is one atomic request (put, delete, compare-and-set, batch): a torn record is dropped whole.
 *
 * Snapshot: `"RMQM", u16 version, u16 0, u64 covered WAL sequence, u32 entryCount`, then per entry
 * `u32 keyLength, key, u32 valueLength, value`, then `u32 crc32c` of everything before it.
 */
import { crc32c } from '@node-rs/crc32';

export interface MetaOp {
  key: string;
  /** undefined = delete. */
  value: Buffer | undefined;
}

const WAL_RECORD_HEADER = 8;
const SNAPSHOT_MAGIC = 0x524d514d; // "RMQM"
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER = 20;

/** Encodes one WAL record holding `ops`. */
export function encodeWalRecord(ops: MetaOp[]): Buffer {
  const keys = ops.map((op) => Buffer.from(op.key, 'utf8'));
  let size = 4;
  for (let i = 0; i < ops.length; i++) size += 1 + 4 + keys[i].length + (ops[i].value ? 4 + ops[i].value!.length : 0);
  const buf = Buffer.allocUnsafe(WAL_RECORD_HEADER + size);
  buf.writeUInt32BE(size, 0);
  let pos = WAL_RECORD_HEADER;
  buf.writeUInt32BE(ops.length, pos);
  pos += 4;
  for (let i = 0; i < ops.length; i++) {
    const value = ops[i].value;
    buf[pos++] = value ? 1 : 0;
    buf.writeUInt32BE(keys[i].length, pos);
    pos += 4;
    keys[i].copy(buf, pos);
    pos += keys[i].length;
    if (value) {
      buf.writeUInt32BE(value.length, pos);
      pos += 4;
      value.copy(buf, pos);
      pos += value.length;
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(WAL_RECORD_HEADER)) >>> 0, 4);
  return buf;
}

/**
 * Decodes the WAL records of a file. Stops at the first incomplete or damaged record and reports
 * where the valid prefix ends.
 */
export function decodeWal(buf: Buffer): { records: MetaOp[][]; validBytes: number } {
  const records: MetaOp[][] = [];
  let pos = 0;
  while (buf.length - pos >= WAL_RECORD_HEADER) {
    const size = buf.readUInt32BE(pos);
    const end = pos + WAL_RECORD_HEADER + size;
    if (size < 4 || end > buf.length) break;
    const payload = buf.subarray(pos + WAL_RECORD_HEADER, end);
    if (crc32c(payload) >>> 0 !== buf.readUInt32BE(pos + 4)) break;
    const ops = decodeOps(payload);
    if (!ops) break;
    records.push(ops);
    pos = end;
  }
  return { records, validBytes: pos };
}

function decodeOps(payload: Buffer): MetaOp[] | undefined {
  const ops: MetaOp[] = [];
  const count = payload.readUInt32BE(0);
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (pos + 5 > payload.length) return undefined;
    const kind = payload[pos++];
    const keyLen = payload.readUInt32BE(pos);
    pos += 4;
    if (pos + keyLen > payload.length) return undefined;
    const key = payload.toString('utf8', pos, pos + keyLen);
    pos += keyLen;
    if (kind === 0) {
      ops.push({ key, value: undefined });
      continue;
    }
    if (pos + 4 > payload.length) return undefined;
    const valLen = payload.readUInt32BE(pos);
    pos += 4;
    if (pos + valLen > payload.length) return undefined;
    ops.push({ key, value: Buffer.from(payload.subarray(pos, pos + valLen)) });
    pos += valLen;
  }
  return pos === payload.length ? ops : undefined;
}

/** Encodes a snapshot of `entries` covering WAL files up to `walSeq`. */
export function encodeSnapshot(walSeq: number, entries: Array<[string, Buffer]>): Buffer {
  const keys = entries.map(([k]) => Buffer.from(k, 'utf8'));
  let size = SNAPSHOT_HEADER + 4;
  for (let i = 0; i < entries.length; i++) size += 8 + keys[i].length + entries[i][1].length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(SNAPSHOT_MAGIC, 0);
  buf.writeUInt16BE(SNAPSHOT_VERSION, 4);
  buf.writeUInt16BE(0, 6);
  buf.writeBigUInt64BE(BigInt(walSeq), 8);
  buf.writeUInt32BE(entries.length, 16);
  let pos = SNAPSHOT_HEADER;
  for (let i = 0; i < entries.length; i++) {
    buf.writeUInt32BE(keys[i].length, pos);
    keys[i].copy(buf, pos + 4);
    pos += 4 + keys[i].length;
    const value = entries[i][1];
    buf.writeUInt32BE(value.length, pos);
    value.copy(buf, pos + 4);
    pos += 4 + value.length;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(0, pos)) >>> 0, pos);
  return buf;
}

/** Decodes a snapshot; undefined when it is damaged. */
export function decodeSnapshot(buf: Buffer): { walSeq: number; entries: Array<[string, Buffer]> } | undefined {
  if (buf.length < SNAPSHOT_HEADER + 4) return undefined;
  if (buf.readUInt32BE(0) !== SNAPSHOT_MAGIC || buf.readUInt16BE(4) !== SNAPSHOT_VERSION) return undefined;
  const body = buf.subarray(0, buf.length - 4);
  if (crc32c(body) >>> 0 !== buf.readUInt32BE(buf.length - 4)) return undefined;
  const walSeq = Number(buf.readBigUInt64BE(8));
  const count = buf.readUInt32BE(16);
  const entries: Array<[string, Buffer]> = [];
  let pos = SNAPSHOT_HEADER;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > body.length) return undefined;
    const keyLen = body.readUInt32BE(pos);
    pos += 4;
    const key = body.toString('utf8', pos, pos + keyLen);
    pos += keyLen;
    if (pos + 4 > body.length) return undefined;
    const valLen = body.readUInt32BE(pos);
    pos += 4;
    if (pos + valLen > body.length) return undefined;
    entries.push([key, Buffer.from(body.subarray(pos, pos + valLen))]);
    pos += valLen;
  }
  return pos === body.length ? { walSeq, entries } : undefined;
}
