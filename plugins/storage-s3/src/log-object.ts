/**
 * Encoding of one `log/<seq>` object:
 * `"RMQL" | u32 header length | header (UTF-8 JSON) | data`. Append operations in the header
 * address their batches relative to the start of the data section.
 */
import type { Op } from './ops.js';

const MAGIC = Buffer.from('RMQL');
const PRELUDE = 8;

export interface LogObjectHeader {
  v: 1;
  seq: number;
  epoch: number;
  writer: string;
  time: number;
  ops: Op[];
}

export function encodeLogObject(header: LogObjectHeader, data: Buffer[]): { body: Buffer; dataStart: number } {
  const json = Buffer.from(JSON.stringify(header));
  const prelude = Buffer.allocUnsafe(PRELUDE);
  MAGIC.copy(prelude, 0);
  prelude.writeUInt32BE(json.length, 4);
  return { body: Buffer.concat([prelude, json, ...data]), dataStart: PRELUDE + json.length };
}

/** Bytes needed to read the header, given the first 8 bytes (or more) of the object. */
export function headerExtent(start: Buffer): number {
  if (start.length < PRELUDE || !start.subarray(0, 4).equals(MAGIC)) throw new Error('not a storage-s3 log object');
  return PRELUDE + start.readUInt32BE(4);
}

export function decodeLogHeader(bytes: Buffer): { header: LogObjectHeader; dataStart: number } {
  const dataStart = headerExtent(bytes);
  if (bytes.length < dataStart) throw new Error('truncated storage-s3 log object header');
  return { header: JSON.parse(bytes.subarray(PRELUDE, dataStart).toString('utf8')) as LogObjectHeader, dataStart };
}
