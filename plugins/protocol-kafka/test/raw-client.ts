/** A minimal Kafka client over the plugin's own codec, for protocol-level tests. */
import { connect, type Socket } from 'node:net';
import { API_BY_KEY } from '../src/protocol/apis.js';
import { Reader } from '../src/protocol/reader.js';
import { readStruct, readTaggedFields, writeStruct } from '../src/protocol/schema.js';
import { Writer } from '../src/protocol/writer.js';

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiting = new Map<number, (body: Buffer) => void>();
  private nextId = 1;
  closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const size = this.buf.readInt32BE(0);
        const frame = this.buf.subarray(4, 4 + size);
        this.buf = this.buf.subarray(4 + size);
        const id = frame.readInt32BE(0);
        this.waiting.get(id)?.(frame.subarray(4));
        this.waiting.delete(id);
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.on('error', reject);
    });
  }

  /** Sends raw bytes (already framed or not). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Encodes a request with the plugin's layouts and decodes the response. */
  async request(apiKey: number, version: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const spec = API_BY_KEY.get(apiKey)!;
    const flexible = version >= spec.flexibleFrom;
    const id = this.nextId++;
    const w = new Writer();
    w.int16(apiKey).int16(version).int32(id).nullableString('raw-client');
    if (flexible) w.uvarint(0);
    writeStruct(w, spec.request, body, version, flexible);
    const payload = w.toBuffer();
    const frame = Buffer.alloc(4);
    frame.writeInt32BE(payload.length);
    const response = new Promise<Buffer>((resolve) => this.waiting.set(id, resolve));
    this.socket.write(Buffer.concat([frame, payload]));
    const raw = await response;
    const r = new Reader(raw);
    if (flexible && apiKey !== 18) readTaggedFields(r, undefined, version);
    return readStruct(r, spec.response, version, flexible);
  }

  /** Sends a request header for any key/version and resolves with the raw response body (or never). */
  rawRequest(apiKey: number, version: number, body: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    const id = this.nextId++;
    const w = new Writer();
    w.int16(apiKey).int16(version).int32(id).nullableString('raw-client');
    const payload = Buffer.concat([w.toBuffer(), body]);
    const frame = Buffer.alloc(4);
    frame.writeInt32BE(payload.length);
    const response = new Promise<Buffer>((resolve) => this.waiting.set(id, resolve));
    this.socket.write(Buffer.concat([frame, payload]));
    return response;
  }

  close(): void {
    this.socket.destroy();
  }
}
