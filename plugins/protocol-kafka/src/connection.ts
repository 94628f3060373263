/**
 * One client connection: frames in, requests dispatched, responses written in request order
 * (Kafka clients match responses by correlation id but expect them in order).
 */
import type { Socket } from 'node:net';
import { isPromise, type MaybePromise } from '@robustmq/sdk';
import { ApiKey, apiNames } from './protocol/api-keys.js';
import { API_BY_KEY } from './protocol/apis.js';
import { ErrorCode } from './protocol/errors.js';
import {
  encodeResponse,
  MalformedFrameError,
  Reader,
  type RequestHeader,
  readRequestBody,
  readRequestHeader,
  splitFrames,
} from './protocol/frame.js';
import type { KafkaServer } from './server.js';

/** A handler's answer: the response body, or null for no response (Produce with acks=0). */
export type HandlerResult = MaybePromise<Record<string, unknown> | null>;

interface Slot {
  done: boolean;
  chunks: Buffer[] | null;
}

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  /** client.id of the latest request. */
  clientId = '';
  /** Authenticated principal (SASL username), if any. */
  principal?: string;
  /** True once SASL succeeded, or from the start when SASL is not required. */
  authenticated: boolean;
  /** Mechanism chosen by SaslHandshake, awaiting SaslAuthenticate. */
  saslMechanism?: string;
  /** Broker-side state of a multi-step SASL exchange (SCRAM). */
  saslState?: unknown;
  /** clientConnected was emitted (first request, or SASL success), so clientDisconnected is due. */
  announced = false;
  /** Received bytes not yet split into frames, kept as chunks so a large frame is copied once. */
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly slots: Slot[] = [];
  private closed = false;
  private paused = false;

  constructor(
    readonly server: KafkaServer,
    readonly socket: Socket,
  ) {
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.authenticated = !server.options.sasl.enabled;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => server.logger.debug({ conn: this.id, err: err.message }, 'kafka: socket error'));
    socket.on('close', () => {
      this.closed = true;
      server.connectionClosed(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Size of the frame at the head of the buffered chunks (with its 4-byte prefix), or undefined when unknown yet. */
  private headFrameSize(): number | undefined {
    if (this.bufferedBytes < 4) return undefined;
    if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
    return 4 + this.chunks[0].readInt32BE(0);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const need = this.headFrameSize();
    // Wait for the whole head frame before joining chunks (a bad size is refused by splitFrames).
    if (need === undefined || (need >= 4 && need <= this.server.options.maxFrameBytes + 4 && this.bufferedBytes < need)) return;
    const buffered = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bufferedBytes);
    let frames: Buffer[];
    try {
      const split = splitFrames(buffered, this.server.options.maxFrameBytes);
      frames = split.frames;
      this.chunks = split.rest.length > 0 ? [split.rest] : [];
      this.bufferedBytes = split.rest.length;
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.server.metrics.bytesIn.inc({ protocol: 'kafka' }, frame.length + 4);
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    let header: RequestHeader;
    let body: Record<string, unknown>;
    try {
      header = readRequestHeader(r);
      if (header.clientId) this.clientId = header.clientId;
      if (!this.announced && this.authenticated) this.server.announce(this);
      if (!header.spec) throw new MalformedFrameError(`unknown api key ${header.apiKey}`);
      if (header.unsupported) {
        if (header.apiKey === ApiKey.ApiVersions) {
          // Kafka answers an unsupported ApiVersions with v0 and UNSUPPORTED_VERSION so the client can pick.
          this.enqueue(encodeResponse(header, header.spec, this.server.apiVersionsBody(ErrorCode.UNSUPPORTED_VERSION), 0));
          return;
        }
        throw new MalformedFrameError(
          `unsupported version ${header.apiVersion} of ${apiNames[header.apiKey]} (supported ${header.spec.minVersion}-${header.spec.maxVersion})`,
        );
      }
      body = readRequestBody(r, header);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (!this.authenticated && !SASL_EXEMPT.has(header.apiKey)) {
      this.fail(new Error(`${apiNames[header.apiKey]} before SASL authentication`));
      return;
    }
    let result: HandlerResult;
    try {
      result = this.server.dispatch(this, header, body);
    } catch (err) {
      this.fail(err as Error, header);
      return;
    }
    if (!isPromise(result)) {
      if (result !== null) this.enqueue(encodeResponse(header, header.spec, result));
      return;
    }
    const slot: Slot = { done: false, chunks: null };
    this.slots.push(slot);
    this.throttle();
    const spec = header.spec;
    result.then(
      (res) => {
        slot.done = true;
        slot.chunks = res === null ? null : encodeResponse(header, spec, res);
        this.flushSlots();
      },
      (err) => this.fail(err as Error, header),
    );
  }

  /** Queues a ready response behind any pending ones. */
  private enqueue(chunks: Buffer[]): void {
    if (this.slots.length === 0) {
      this.write(chunks);
      return;
    }
    this.slots.push({ done: true, chunks });
  }

  private flushSlots(): void {
    while (this.slots.length > 0 && this.slots[0].done) {
      const slot = this.slots.shift()!;
      if (slot.chunks) this.write(slot.chunks);
    }
    this.maybeResume();
  }

  private write(chunks: Buffer[]): void {
    if (this.closed) return;
    this.socket.cork();
    let bytes = 0;
    for (const c of chunks) {
      bytes += c.length;
      this.socket.write(c);
    }
    this.socket.uncork();
    this.server.metrics.bytesOut.inc({ protocol: 'kafka' }, bytes);
    if (this.socket.writableNeedDrain) this.throttle();
  }

  /** Stops reading while too many requests are pending or the socket is backed up. */
  private throttle(): void {
    if (this.paused) return;
    if (this.slots.length >= this.server.options.maxInflightRequests || this.socket.writableNeedDrain) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused) return;
    if (this.slots.length < this.server.options.maxInflightRequests && !this.socket.writableNeedDrain) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Closes the connection with a log line (malformed frame, unsupported request, handler failure). */
  fail(err: Error, header?: RequestHeader): void {
    if (this.closed) return;
    const what = header ? `${apiNames[header.apiKey] ?? header.apiKey} v${header.apiVersion}` : 'frame';
    const level = err instanceof MalformedFrameError || !header ? 'warn' : 'error';
    this.server.logger[level](
      { conn: this.id, remote: this.remoteAddress, clientId: this.clientId, err: err.message },
      `kafka: closing connection: ${what}: ${err.message}`,
    );
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

/** Requests allowed before SASL authentication completes. */
const SASL_EXEMPT = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export { API_BY_KEY };
