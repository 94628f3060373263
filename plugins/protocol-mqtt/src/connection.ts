import type { Duplex } from 'node:stream';
import { isPromise, type MaybePromise, type Message } from '@robustmq/sdk';
import mqttPacket, { type IDisconnectPacket, type Packet } from 'mqtt-packet';
import { MqttProtocolError, parserErrorCode, RC } from './errors.js';
import { FrameGuard } from './frame-guard.js';
import { dispatchPacket } from './handlers/dispatch.js';
import { publishProperties, remainingExpiry } from './properties.js';
import { decodeFast } from './fast-decode.js';
import { PartialPacket, packetSize } from './partial-packet.js';
import { encodeAck, encodeProperties, encodePublishHead } from './fast-encode.js';
import { cachedPublish, withPacketId } from './publish-cache.js';
import { TokenBucket } from './rate-limit.js';
import type { MqttServer } from './server.js';
import type { Outbound } from './session/outbound.js';
import type { Session, SessionLink } from './session/session.js';
import type { Will } from './will.js';

/** Where a connection came from. */
export interface TransportInfo {
  transport: 'tcp' | 'tls' | 'ws' | 'wss';
  remoteAddress?: string;
  /** Subject of a verified TLS client certificate. */
  certificateSubject?: string;
}

type State = 'new' | 'auth' | 'open' | 'closed';

const EMPTY = Buffer.alloc(0);

/** Bytes waiting in a socket above which deliveries queue in the session instead. */
const SOCKET_HIGH_WATER = 256 * 1024;

/** Gathered bytes written at once instead of at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

/**
 * One client network connection: feeds bytes through the size guard and the parser, dispatches
 * packets in order (pausing while an async hook answers), writes packets with backpressure, and
 * enforces keep-alive. It is the {@link SessionLink} of its session while open.
 */
export class Connection implements SessionLink {
  state: State = 'new';
  /** 3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0; known once CONNECT is parsed. */
  version: 3 | 4 | 5 = 4;
  clientId = '';
  username?: string;
  principal?: string;
  session?: Session;
  will?: Will;
  /** 5.0 enhanced authentication method of this connection. */
  authMethod?: string;
  /** Keep-alive in effect, seconds. */
  keepAlive = 0;
  /** Client's Receive Maximum (5.0). */
  clientReceiveMax = 65535;
  /** Client's Maximum Packet Size (0 = protocol limit). */
  clientMaxPacket = 0;
  /** Client's Topic Alias Maximum (5.0). */
  clientAliasMax = 0;
  /** Client asked for reason strings and user properties on acks (5.0 Request Problem Information). */
  problemInfo = true;
  /** Topic aliases the client set (alias → topic). */
  readonly aliasesIn = new Map<number, string>();
  /** Topic aliases the broker set (topic → alias). */
  readonly aliasesOut = new Map<string, number>();
  /** Incoming QoS 1 publishes being processed (counted against our Receive Maximum). */
  incomingQos1 = 0;
  /** A DISCONNECT arrived: the close is normal. */
  gracefulClose = false;
  /** Set when the Will must be published even on DISCONNECT (5.0 reason 0x04). */
  willOnDisconnect = false;
  closeReason = 'connection-lost';
  readonly connectedAt: number;
  private readonly parser = mqttPacket.parser();
  private readonly guard: FrameGuard;
  /** A packet cut by the end of a read (fast path only). */
  private readonly partial = new PartialPacket();
  private readonly backlog: Packet[] = [];
  private busy = false;
  private lastSeen: number;
  private keepAliveTimer?: NodeJS.Timeout;
  private connectTimer?: NodeJS.Timeout;
  private bucket?: TokenBucket;
  /** Milliseconds to hold the packet line after the current packet (rate limit). */
  private holdMs = 0;
  private closedHandled = false;
  /** mqtt-packet holds no partial packet: the next chunk starts at a packet boundary. */
  private parserIdle = true;
  /** User property pairs of the packet being parsed, in wire order. */
  private readonly userPairs: Array<[string, string]> = [];
  /** Bytes of the first packet, kept to tell the CONNECT version when parsing it fails. */
  private head?: Buffer;

  constructor(
    readonly server: MqttServer,
    readonly socket: Duplex,
    readonly info: TransportInfo,
  ) {
    const opts = server.options;
    this.guard = new FrameGuard(opts.maxPacketSize);
    this.connectedAt = server.clock.now();
    this.lastSeen = this.connectedAt;
    if (opts.publishRateLimit > 0) this.bucket = new TokenBucket(opts.publishRateLimit, this.connectedAt);
    recordUserPropertyOrder(this.parser, this.userPairs);
    this.parser.on('packet', (p: Packet) => {
      if (this.userPairs.length > 0) userPairsOf.set(p, this.userPairs.splice(0));
      this.onPacket(p);
    });
    this.parser.on('error', (err: Error) => this.fail(new MqttProtocolError(parserErrorCode(err.message), err.message)));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err: Error) => {
      this.server.logger.debug({ err, clientId: this.clientId }, 'mqtt: socket error');
    });
    socket.on('close', () => this.onClosed());
    this.connectTimer = server.clock.setTimeout(() => {
      if (this.state === 'new' || this.state === 'auth') this.close('connect-timeout');
    }, opts.connectTimeoutMs);
    this.connectTimer.unref?.();
  }

  /** SessionLink: deliveries flow while the socket is not congested. */
  get writable(): boolean {
    // Computed, not a sticky flag: a socket holding this much has had a write return false, so
    // 'drain' is due and will pump the session again.
    return this.state === 'open' && this.pendingBytes + this.socket.writableLength <= SOCKET_HIGH_WATER;
  }

  /** SessionLink: outgoing QoS 1/2 window. */
  get window(): number {
    return Math.min(this.server.options.maxInflight, this.clientReceiveMax);
  }

  /** Writes a packet; returns false when it was not sent (closed, unencodable, or too large for the client). */
  write(packet: Packet): boolean {
    if (this.state === 'closed') return false;
    const buf = this.encode(packet);
    return buf !== undefined && this.writeBytes(buf);
  }

  /** Encodes a packet for this connection's protocol version; undefined when it cannot be encoded. */
  private encode(packet: Packet): Buffer | undefined {
    try {
      return mqttPacket.generate(packet, { protocolVersion: this.version });
    } catch (err) {
      this.server.logger.debug({ err, cmd: packet.cmd, clientId: this.clientId }, 'mqtt: cannot encode packet');
      return undefined;
    }
  }

  /**
   * Writes encoded bytes (and a payload kept apart, for PUBLISH). Bytes written during one turn of
   * the event loop's I/O phase are gathered and handed to the socket as one buffer right after it
   * (setImmediate), so a subscriber fed by many publishers, and a publisher owed many PUBACKs, get
   * one write per turn rather than one per read. Past FLUSH_BYTES the bytes go out at once.
   * Deliveries pause once a quarter MiB is waiting.
   */
  private writeBytes(buf: Buffer, payload?: Buffer): boolean {
    if (this.state === 'closed') return false;
    const size = payload ? buf.length + payload.length : buf.length;
    if (this.clientMaxPacket > 0 && size > this.clientMaxPacket) return false;
    this.server.countBytesOut(size);
    if (this.pending.length === 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    this.pending.push(buf);
    if (payload && payload.length > 0) this.pending.push(payload);
    this.pendingBytes += size;
    if (this.pendingBytes >= FLUSH_BYTES) this.writeOut();
    return true;
  }

  private flushScheduled = false;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Hands the gathered bytes to the socket in one write (one syscall, no writev of thousands of pieces). */
  private writeOut(): void {
    if (this.pending.length === 0) return;
    const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.socket.destroyed) this.socket.write(out);
  }

  /** End of the turn: writes what was gathered, then lets a waiting session queue move. */
  private readonly flush = () => {
    this.flushScheduled = false;
    this.writeOut();
    if (this.socket.destroyed) return;
    // Deliveries queued while the gathered bytes made the link look full move on now: 'drain'
    // only follows a write the socket could not take at once, so it cannot be relied on alone.
    const s = this.session;
    if (s && s.link === this && s.queue.length > 0 && this.writable) s.pump();
  };

  /** SessionLink: writes an outgoing PUBLISH for a queued or in-flight message. */
  sendPublish(o: Outbound, dup: boolean): boolean {
    if (this.state === 'closed') return false;
    try {
      return this.writePublish(o, dup);
    } catch (err) {
      // A message this client cannot take (say, a topic from another protocol too long for MQTT)
      // must not fail the publisher that routed it.
      this.server.logger.debug({ err, clientId: this.clientId, topic: o.message.topic }, 'mqtt: cannot encode PUBLISH');
      return false;
    }
  }

  private writePublish(o: Outbound, dup: boolean): boolean {
    const m = o.message;
    const v5 = this.version === 5;
    const expiry = m.expiresAt !== undefined && v5 ? remainingExpiry(m.expiresAt, this.server.clock.now()) : undefined;
    // Same bytes for every subscriber unless per-connection fields (aliases, subscription ids, DUP) differ.
    if (!dup && (!v5 || (this.clientAliasMax === 0 && !o.subIds?.length))) {
      const key = `${this.version}:${o.qos}:${o.retain ? 1 : 0}:${expiry ?? ''}`;
      const entry = cachedPublish(m, key, () =>
        encodePublishHead(m.topic, m.payload.length, o.qos, o.retain, false, 1, v5 ? this.properties(m, expiry) : undefined),
      );
      if (!entry) return false;
      const head = o.qos > 0 ? withPacketId(entry, o.packetId as number) : entry.head;
      if (!this.writeBytes(head, m.payload)) return false;
      this.server.countOut();
      return true;
    }
    let topic = m.topic;
    let props: Buffer | undefined;
    let newAlias = false;
    if (v5) {
      const p = publishProperties(m);
      if (expiry !== undefined) p.messageExpiryInterval = expiry;
      if (o.subIds?.length) p.subscriptionIdentifiers = o.subIds;
      if (this.clientAliasMax > 0) {
        const alias = this.aliasesOut.get(m.topic);
        if (alias !== undefined) {
          p.topicAlias = alias;
          topic = '';
        } else if (this.aliasesOut.size < this.clientAliasMax) {
          p.topicAlias = this.aliasesOut.size + 1;
          this.aliasesOut.set(m.topic, p.topicAlias);
          newAlias = true;
        }
      }
      props = encodeProperties(p);
    }
    const head = encodePublishHead(topic, m.payload.length, o.qos, o.retain, dup, o.qos > 0 ? (o.packetId as number) : 0, props);
    if (!this.writeBytes(head, m.payload)) {
      if (newAlias) this.aliasesOut.delete(m.topic);
      return false;
    }
    this.server.countOut();
    return true;
  }

  /** Encoded 5.0 properties of a message (empty block when it has none). */
  private properties(m: Message, expiry: number | undefined): Buffer {
    if (expiry === undefined && !hasHeaders(m)) return EMPTY;
    const p = publishProperties(m);
    if (expiry !== undefined) p.messageExpiryInterval = expiry;
    return encodeProperties(p);
  }

  /**
   * Sends an acknowledgement once `after` settles, keeping acknowledgements in the order the
   * PUBLISH packets arrived ([MQTT-4.6.0-2]). Immediate when nothing is pending.
   */
  acknowledgeAfter(after: Promise<unknown> | undefined, qos1: boolean, ack: () => void): void {
    if (!after && !this.ackTail) {
      ack();
      return;
    }
    if (qos1) this.incomingQos1++;
    const tail: Promise<void> = (this.ackTail ?? Promise.resolve())
      .then(() => after)
      .then(() => {
        if (qos1) this.incomingQos1--;
        if (this.state === 'open') ack();
      })
      .catch((err) => this.fail(err));
    this.ackTail = tail;
    void tail.finally(() => {
      if (this.ackTail === tail) this.ackTail = undefined;
    });
  }

  private ackTail?: Promise<void>;

  /** SessionLink: writes a PUBREL. */
  sendPubrel(packetId: number): void {
    this.writeBytes(encodeAck('pubrel', packetId));
  }

  /** PUBACK / PUBREC / PUBREL / PUBCOMP; the reason code only goes out to 5.0 clients. */
  sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number, reasonCode = 0): void {
    this.writeBytes(encodeAck(cmd, packetId, this.version === 5 ? reasonCode : 0));
  }

  /**
   * Closes the connection. With a reason code, a 5.0 client first gets a DISCONNECT (once
   * connected) or a CONNACK (while connecting) carrying it.
   */
  close(reason: string, code?: number, reasonString?: string): void {
    if (this.state === 'closed') return;
    this.closeReason = reason;
    if (code !== undefined && this.version === 5) {
      if (this.state === 'open') {
        const d: IDisconnectPacket = { cmd: 'disconnect', reasonCode: code };
        if (reasonString) d.properties = { reasonString };
        this.write(d);
      } else if ((this.state === 'new' || this.state === 'auth') && this.clientIdKnown) {
        this.write({ cmd: 'connack', reasonCode: code, sessionPresent: false });
      }
    }
    this.state = 'closed';
    this.flush();
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    this.onClosed();
  }

  /** Set by the CONNECT handler once a CONNECT was parsed (a CONNACK may then be sent). */
  clientIdKnown = false;

  /** Starts keep-alive supervision (§3.1.2.10: 1.5 × the interval). */
  startKeepAlive(): void {
    if (this.connectTimer) this.server.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.keepAlive > 0) this.armKeepAlive(this.keepAlive * 1500);
  }

  /** Protocol failure: log at debug, count, close with the reason code. */
  fail(err: unknown): void {
    if (this.state === 'closed') return;
    if (err instanceof MqttProtocolError) {
      this.server.logger.debug({ clientId: this.clientId, code: err.code, err: err.message }, 'mqtt: protocol error, closing');
      this.server.countProtocolError(err.code);
      if (this.state === 'new' && !this.clientIdKnown) {
        // The CONNECT itself failed to parse: answer in the version it announced, if we can tell.
        const v = sniffVersion(this.head);
        if (v === 5 || err.code === RC.unsupportedProtocolVersion) {
          this.version = v === 5 ? 5 : 4;
          const code = v === 5 ? err.code : 1;
          this.write(
            this.version === 5
              ? { cmd: 'connack', reasonCode: code, sessionPresent: false }
              : { cmd: 'connack', returnCode: code, sessionPresent: false },
          );
        }
        this.close('protocol-error');
        return;
      }
      this.close('protocol-error', err.code, err.message);
      return;
    }
    this.server.logger.warn({ err, clientId: this.clientId }, 'mqtt: unexpected error on connection, closing');
    this.server.countProtocolError(RC.unspecifiedError);
    this.close('error', RC.unspecifiedError);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastSeen = this.server.clock.now();
    this.server.countBytesIn(chunk.length);
    if (this.state === 'new' && !this.clientIdKnown)
      this.head = this.head ? Buffer.concat([this.head, chunk]).subarray(0, 64) : chunk.subarray(0, 64);
    const verdict = this.guard.check(chunk);
    if (verdict !== 'ok') {
      const code = verdict === 'too-large' ? RC.packetTooLarge : RC.malformedPacket;
      this.fail(new MqttProtocolError(code, verdict === 'too-large' ? 'packet too large' : 'bad remaining length'));
      return;
    }
    try {
      let data = chunk;
      if (!this.partial.empty) {
        const { packet, rest } = this.partial.take(chunk);
        if (packet) {
          this.feed(packet);
          if ((this.state as State) === 'closed') return;
        }
        data = rest;
      }
      if (data.length > 0) this.feed(data);
    } catch (err) {
      this.fail(err);
      return;
    }
  }

  /** Decodes bytes that start at a packet boundary (or continue mqtt-packet's partial packet). */
  private feed(data: Buffer): void {
    let offset = 0;
    if (this.parserIdle && this.state === 'open') {
      // Common packets straight from the read; the rest (and every error) goes to mqtt-packet.
      const packets: Packet[] = [];
      offset = decodeFast(data, this.version, packets);
      for (const p of packets) {
        this.onPacket(p);
        if ((this.state as State) === 'closed') return;
      }
      if (offset < data.length) {
        // A packet cut by the end of the read waits for the next one, still on the fast path.
        const size = packetSize(data, offset);
        if (size < 0 || offset + size > data.length) {
          this.partial.start(data.subarray(offset));
          return;
        }
      }
    }
    if (offset < data.length) this.parserIdle = this.parser.parse(offset === 0 ? data : data.subarray(offset)) === 0;
  }

  /**
   * Publisher backpressure (see `PublisherFlow`): a subscriber this connection published to is
   * behind. Reading stops, and the packets left in the current chunk wait in the backlog, so at
   * most one more message per publisher reaches the subscriber before the hold takes effect.
   */
  holdReading(): void {
    if (this.state === 'closed') return;
    this.heldBy++;
    this.socket.pause();
  }

  /** One hold ended; with none left, the backlog runs and reading resumes on the next turn. */
  releaseReading(): void {
    if (this.heldBy === 0) return;
    this.heldBy--;
    if (this.heldBy > 0 || this.resumeScheduled) return;
    // Not from inside the subscriber's stack: its writes get their I/O turn first.
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      if (this.heldBy === 0 && !this.busy && this.state !== 'closed') this.drainBacklog();
    });
  }

  /** Subscribers currently holding this connection's reads. */
  private heldBy = 0;
  private resumeScheduled = false;

  private onPacket(p: Packet): void {
    if (this.state === 'closed') return;
    if (this.busy || this.heldBy > 0) {
      this.backlog.push(p);
      // Stop reading while a slow hook holds the line; the backlog stays small.
      if (this.backlog.length === 64) this.socket.pause();
      return;
    }
    this.run(p);
  }

  private run(p: Packet): void {
    let r: MaybePromise<void>;
    try {
      r = dispatchPacket(this, p);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (isPromise(r)) {
      this.busy = true;
      r.then(
        () => this.afterPacket(),
        (err) => {
          this.busy = false;
          this.fail(err);
        },
      );
    } else if (this.holdMs > 0) {
      this.busy = true;
      this.afterPacket();
    }
  }

  /** Continues with the backlog, after the rate-limit pause if one is due. */
  private afterPacket(): void {
    if (this.holdMs > 0) {
      const wait = this.holdMs;
      this.holdMs = 0;
      this.socket.pause();
      const t = this.server.clock.setTimeout(() => this.drainBacklog(), wait);
      t.unref?.();
      return;
    }
    this.drainBacklog();
  }

  private drainBacklog(): void {
    this.busy = false;
    while (!this.busy && this.heldBy === 0 && this.backlog.length > 0 && this.state !== 'closed')
      this.run(this.backlog.shift() as Packet);
    if (!this.busy && this.heldBy === 0 && this.state !== 'closed') this.socket.resume();
  }

  /**
   * Applies the publish rate limit: when the bucket is empty, packets after this one wait (reads
   * pause too), so a fast publisher is slowed down without losing anything.
   */
  throttle(): void {
    if (!this.bucket) return;
    const wait = this.bucket.take(this.server.clock.now());
    if (wait > 0) this.holdMs = Math.max(this.holdMs, wait);
  }

  private onDrain(): void {
    if (this.state === 'open') this.session?.pump();
  }

  private armKeepAlive(ms: number): void {
    this.keepAliveTimer = this.server.clock.setTimeout(() => {
      const idle = this.server.clock.now() - this.lastSeen;
      const limit = this.keepAlive * 1500;
      if (idle >= limit) this.close('keepalive', RC.keepAliveTimeout);
      else this.armKeepAlive(limit - idle);
    }, ms);
    this.keepAliveTimer.unref?.();
  }

  private onClosed(): void {
    if (this.closedHandled) return;
    this.closedHandled = true;
    if (this.state !== 'closed') this.state = 'closed';
    if (this.keepAliveTimer) this.server.clock.clearTimeout(this.keepAliveTimer);
    if (this.connectTimer) this.server.clock.clearTimeout(this.connectTimer);
    this.backlog.length = 0;
    try {
      this.server.connectionClosed(this);
    } catch (err) {
      this.server.logger.warn({ err, clientId: this.clientId }, 'mqtt: error while cleaning up a connection');
    }
  }
}

/** Reads the protocol level byte of a CONNECT from its first bytes, if present. */
function sniffVersion(head: Buffer | undefined): number | undefined {
  if (!head || head.length < 2 || head[0] >> 4 !== 1) return undefined;
  let i = 1;
  while (i < head.length && head[i] & 0x80) i++;
  i++;
  if (i + 2 > head.length) return undefined;
  const nameLen = head.readUInt16BE(i);
  const at = i + 2 + nameLen;
  return at < head.length ? head[at] : undefined;
}

/** Used by handlers to refuse a packet with a reason code. */
export function protocolError(code: number, message: string): never {
  throw new MqttProtocolError(code, message);
}

/** True when the message has at least one header (5.0 properties to send). */
function hasHeaders(m: { headers: Record<string, unknown> }): boolean {
  for (const _ in m.headers) return true;
  return false;
}

/** User properties of parsed packets in wire order (mqtt-packet keeps them as a map). */
const userPairsOf = new WeakMap<object, Array<[string, string]>>();

/** The user properties of a parsed packet in wire order, if it had any. */
export function userPropertyPairs(p: object): Array<[string, string]> | undefined {
  return userPairsOf.get(p);
}

/**
 * mqtt-packet reads user properties into an object, which loses the order of different names
 * ([MQTT-3.3.2-18] asks to keep it). Its parser reads each pair through one method; wrapping it on
 * this parser instance records the pairs in order.
 */
function recordUserPropertyOrder(parser: unknown, into: Array<[string, string]>): void {
  const p = parser as { _parseStringPair?: () => { name: string; value: string } };
  const original = p._parseStringPair;
  if (typeof original !== 'function') return;
  p._parseStringPair = function (this: unknown) {
    const pair = original.call(this);
    if (pair && typeof pair.name === 'string' && typeof pair.value === 'string') into.push([pair.name, pair.value]);
    return pair;
  };
}
