/**
 * Frame layer: splits a byte stream into frames, and writes method / content-header / body frames.
 */
import { FRAME_END, FRAME_OVERHEAD, FrameType } from './constants.js';
import { DecodeError, Reader, type Writer } from './field-table.js';
import { writeMethod } from './methods.js';

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** Thrown for a frame that breaks framing rules (501 FRAME_ERROR). */
export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Accumulates socket chunks and yields complete frames. `maxSize` is the negotiated frame_max
 * (whole frame including the 8 bytes of overhead); a larger frame is a FrameError.
 */
export class FrameParser {
  private pending: Buffer | undefined;
  maxSize: number;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  /** Appends a chunk and returns the complete frames in it. */
  push(chunk: Buffer): Frame[] {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const frames: Frame[] = [];
    let pos = 0;
    while (buf.length - pos >= 7) {
      const size = buf.readUInt32BE(pos + 3);
      if (size + FRAME_OVERHEAD > this.maxSize) throw new FrameError(`frame of ${size} bytes exceeds frame_max ${this.maxSize}`);
      const end = pos + 7 + size;
      if (end + 1 > buf.length) break;
      if (buf[end] !== FRAME_END) throw new FrameError(`bad frame end 0x${buf[end].toString(16)}`);
      frames.push({ type: buf[pos], channel: buf.readUInt16BE(pos + 1), payload: buf.subarray(pos + 7, end) });
      pos = end + 1;
    }
    if (pos < buf.length) {
      // Copy so that a big socket chunk is not kept alive by a small tail.
      buf = buf.subarray(pos);
      this.pending = pos === 0 ? buf : Buffer.from(buf);
    }
    return frames;
  }
}

/** AMQP basic-class content properties. `headers` stays as raw table bytes until someone needs it. */
export interface BasicProperties {
  contentType?: string;
  contentEncoding?: string;
  /** Raw field table bytes, 4-byte length included. */
  headers?: Buffer;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

/** A content header frame payload decoded. */
export interface ContentHeader {
  classId: number;
  bodySize: number;
  properties: BasicProperties;
}

const PROPS: Array<[keyof BasicProperties, 'shortstr' | 'table' | 'octet' | 'longlong']> = [
  ['contentType', 'shortstr'],
  ['contentEncoding', 'shortstr'],
  ['headers', 'table'],
  ['deliveryMode', 'octet'],
  ['priority', 'octet'],
  ['correlationId', 'shortstr'],
  ['replyTo', 'shortstr'],
  ['expiration', 'shortstr'],
  ['messageId', 'shortstr'],
  ['timestamp', 'longlong'],
  ['type', 'shortstr'],
  ['userId', 'shortstr'],
  ['appId', 'shortstr'],
  ['clusterId', 'shortstr'],
];

/** Decodes a content header frame payload. */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  const r = new Reader(payload);
  const classId = r.short();
  r.short(); // weight, always 0
  const bodySize = r.longlong();
  let flags = r.short();
  // Continuation flag words (bit 0) are not used by the basic class; skip them if present.
  let more = flags & 1;
  while (more) more = r.short() & 1;
  const properties: BasicProperties = {};
  for (let i = 0; i < PROPS.length; i++) {
    if ((flags & (1 << (15 - i))) === 0) continue;
    const [name, type] = PROPS[i];
    const p = properties as Record<string, unknown>;
    if (type === 'shortstr') p[name] = r.shortstr();
    else if (type === 'octet') p[name] = r.octet();
    else if (type === 'longlong') p[name] = r.longlong();
    else p[name] = Buffer.from(r.tableBytes());
  }
  flags = 0;
  return { classId, bodySize, properties };
}

function writeProperties(w: Writer, props: BasicProperties): void {
  const flagsAt = w.pos;
  w.short(0);
  let flags = 0;
  for (let i = 0; i < PROPS.length; i++) {
    const [name, type] = PROPS[i];
    const v = props[name];
    if (v === undefined) continue;
    flags |= 1 << (15 - i);
    if (type === 'shortstr') w.shortstr(v as string);
    else if (type === 'octet') w.octet(v as number);
    else if (type === 'longlong') w.longlong(v as number);
    else w.table(v as Buffer);
  }
  w.buf.writeUInt16BE(flags, flagsAt);
}

function beginFrame(w: Writer, type: number, channel: number): number {
  w.octet(type);
  w.short(channel);
  const at = w.pos;
  w.long(0);
  return at;
}

function endFrame(w: Writer, sizeAt: number): void {
  w.buf.writeUInt32BE(w.pos - sizeAt - 4, sizeAt);
  w.octet(FRAME_END);
}

/** Writes one method frame. */
export function writeMethodFrame(w: Writer, channel: number, name: string, args?: Record<string, unknown>): void {
  const at = beginFrame(w, FrameType.method, channel);
  writeMethod(w, name, args);
  endFrame(w, at);
}

/**
 * Writes a content-bearing method (deliver, get-ok, return) followed by its header frame and body
 * frames split at `frameMax`.
 */
export function writeContent(
  w: Writer,
  channel: number,
  name: string,
  args: Record<string, unknown>,
  props: BasicProperties,
  body: Buffer,
  frameMax: number,
): void {
  writeMethodFrame(w, channel, name, args);
  const at = beginFrame(w, FrameType.header, channel);
  w.short(60);
  w.short(0);
  w.longlong(body.length);
  writeProperties(w, props);
  endFrame(w, at);
  const chunk = frameMax - FRAME_OVERHEAD;
  for (let pos = 0; pos < body.length; pos += chunk) {
    const part = body.subarray(pos, Math.min(body.length, pos + chunk));
    w.octet(FrameType.body);
    w.short(channel);
    w.long(part.length);
    w.bytes(part);
    w.octet(FRAME_END);
  }
}

/** A single heartbeat frame. */
export const HEARTBEAT_FRAME = Buffer.from([FrameType.heartbeat, 0, 0, 0, 0, 0, 0, FRAME_END]);

export { DecodeError };
