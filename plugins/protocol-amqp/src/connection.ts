/**
 * One AMQP connection: protocol header, Start/Tune/Open negotiation, frame dispatch to channels,
 * heartbeats, Close handshakes and connection exceptions, and the batched write path.
 */
import type { Socket } from 'node:net';
import { type AuthenticateResult, isPromise, type MaybePromise } from '@robustmq/sdk';
import type { VirtualHost } from './broker/broker.js';
import type { Queue } from './broker/queue.js';
import { Channel } from './channel.js';
import { FRAME_MIN_SIZE, FrameType, PROTOCOL_HEADER, ReplyCode } from './codec/constants.js';
import { DecodeError, type FieldTable, Reader, Writer } from './codec/field-table.js';
import {
  decodeContentHeader,
  type Frame,
  FrameError,
  FrameParser,
  HEARTBEAT_FRAME,
  writeContent,
  writeMethodFrame,
  type BasicProperties,
} from './codec/frames.js';
import { decodeMethod, type Method, UnknownMethodError } from './codec/methods.js';
import { AmqpError, channelError, commandInvalid, frameError, notAllowed, syntaxError, unexpectedFrame } from './errors.js';
import type { AmqpServer } from './server.js';

type State = 'header' | 'start' | 'secure' | 'tune' | 'open' | 'opened' | 'closing' | 'closed';

/** Bytes buffered for the socket above which deliveries pause until it drains. */
const WRITE_HIGH_WATER = 1024 * 1024;

let nextConnectionId = 1;

export class AmqpConnection {
  readonly id = nextConnectionId++;
  state: State = 'header';
  frameMax: number;
  channelMax: number;
  heartbeat = 0;
  vhost!: VirtualHost;
  username = '';
  principal: string | undefined;
  clientId: string;
  capabilities: FieldTable = {};
  readonly exclusiveQueues = new Set<Queue>();
  /** Set when the connection published at least once (blocked under memory pressure). */
  publisher = false;
  blocked = false;
  /** The SASL mechanism the client chose. */
  mechanism = '';

  private readonly channels = new Map<number, Channel>();
  private readonly parser: FrameParser;
  private headerBuf: Buffer = Buffer.alloc(0);
  private inbox: Frame[] = [];
  private inboxPos = 0;
  private busy = false;
  private out = new Writer(64 * 1024);
  private flushScheduled = false;
  private lastReceived = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private cleanedUp = false;

  constructor(
    readonly socket: Socket,
    readonly server: AmqpServer,
    /** Subject of the verified TLS client certificate (enables EXTERNAL). */
    readonly certificateSubject?: string,
  ) {
    this.frameMax = server.options.frameMax;
    this.channelMax = server.options.channelMax;
    this.parser = new FrameParser(server.options.frameMax);
    this.clientId = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.resumeDeliveries());
    socket.on('error', () => undefined);
    socket.on('close', () => this.cleanup('closed'));
  }

  get logger() {
    return this.server.logger;
  }

  // ------------------------------------------------------------------ input

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now();
    if (this.state === 'closed') return;
    if (this.state === 'header') {
      this.headerBuf = Buffer.concat([this.headerBuf, chunk]);
      if (this.headerBuf.length < 8) {
        if (!PROTOCOL_HEADER.subarray(0, this.headerBuf.length).equals(this.headerBuf)) this.badHeader();
        return;
      }
      if (!this.headerBuf.subarray(0, 8).equals(PROTOCOL_HEADER)) {
        this.badHeader();
        return;
      }
      const rest = this.headerBuf.subarray(8);
      this.headerBuf = Buffer.alloc(0);
      this.state = 'start';
      this.sendStart();
      if (rest.length === 0) return;
      chunk = rest;
    }
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.connectionException(frameError((err as Error).message));
      return;
    }
    for (const f of frames) this.inbox.push(f);
    this.pump();
  }

  /** Not AMQP 0-9-1: answer with the header we speak and close (spec §4.2.2). */
  private badHeader(): void {
    this.state = 'closed';
    this.socket.end(PROTOCOL_HEADER);
  }

  /** Handles queued frames in order; an async handler holds the rest until it completes. */
  private pump(): void {
    while (!this.busy && this.inboxPos < this.inbox.length) {
      const frame = this.inbox[this.inboxPos++];
      let r: MaybePromise<void>;
      try {
        r = this.handleFrame(frame);
      } catch (err) {
        this.fail(err, frame);
        continue;
      }
      if (isPromise(r)) {
        this.busy = true;
        this.socket.pause();
        r.then(
          () => this.resumeInput(),
          (err) => {
            this.fail(err, frame);
            this.resumeInput();
          },
        );
      }
    }
    if (this.inboxPos >= this.inbox.length) {
      this.inbox = [];
      this.inboxPos = 0;
    }
  }

  private resumeInput(): void {
    this.busy = false;
    if (this.state !== 'closed' && !this.blocked) this.socket.resume();
    this.pump();
  }

  private fail(err: unknown, frame: Frame): void {
    if (err instanceof AmqpError) {
      if (err.isConnectionError || frame.channel === 0) this.connectionException(err);
      else this.channels.get(frame.channel)?.exception(err);
      return;
    }
    this.logger.error({ err: (err as Error)?.stack ?? String(err) }, 'amqp: internal error');
    this.connectionException(new AmqpError(ReplyCode.internalError, (err as Error)?.message ?? 'internal error'));
  }

  private handleFrame(f: Frame): MaybePromise<void> {
    if (this.state === 'closing') {
      // After our connection.close only close / close-ok matter (spec §2.2.4).
      if (f.type === FrameType.method && f.channel === 0) {
        const m = safeDecode(f.payload);
        if (m?.name === 'connection.close-ok') this.terminate();
        else if (m?.name === 'connection.close') {
          this.sendMethod(0, 'connection.close-ok');
          this.terminate();
        }
      }
      return;
    }
    if (f.type === FrameType.heartbeat) {
      if (f.channel !== 0) throw frameError('heartbeat frame on a non-zero channel');
      return;
    }
    if (f.type === FrameType.method) {
      let m: Method;
      try {
        m = decodeMethod(f.payload);
      } catch (err) {
        if (err instanceof UnknownMethodError) throw new AmqpError(ReplyCode.notImplemented, err.message);
        if (err instanceof DecodeError) throw syntaxError(`malformed method frame: ${err.message}`);
        throw err;
      }
      if (f.channel === 0) {
        if (m.classId !== 10) throw withIds(commandInvalid(`${m.name} on channel 0`), m);
        return this.connectionMethod(m);
      }
      if (this.state !== 'opened') throw withIds(channelError(`${m.name} before connection.open`), m);
      return this.channelMethod(f.channel, m);
    }
    if (f.type === FrameType.header || f.type === FrameType.body) {
      if (f.channel === 0 || this.state !== 'opened') throw unexpectedFrame(`content frame on channel ${f.channel}`);
      const ch = this.channels.get(f.channel);
      if (!ch) throw channelError(`content frame on unopened channel ${f.channel}`);
      if (ch.closing) return;
      if (f.type === FrameType.header) {
        let header: ReturnType<typeof decodeContentHeader>;
        try {
          header = decodeContentHeader(f.payload);
        } catch (err) {
          throw frameError(`malformed content header: ${(err as Error).message}`);
        }
        return ch.onHeader(header);
      }
      return ch.onBody(f.payload);
    }
    throw frameError(`unknown frame type ${f.type}`);
  }

  private channelMethod(id: number, m: Method): MaybePromise<void> {
    let ch = this.channels.get(id);
    if (m.name === 'channel.open') {
      if (ch) throw withIds(channelError(`second 'channel.open' seen on channel ${id}`), m);
      if (id > this.channelMax) throw withIds(channelError(`channel ${id} above channel_max ${this.channelMax}`), m);
      ch = new Channel(this, id);
      this.channels.set(id, ch);
      this.sendMethod(id, 'channel.open-ok', { reserved1: '' });
      return;
    }
    if (!ch) throw withIds(channelError(`expected 'channel.open' on channel ${id}, got ${m.name}`), m);
    return ch.onMethod(m);
  }

  // ------------------------------------------------------------------ negotiation

  private sendStart(): void {
    const o = this.server.options;
    this.sendMethod(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: {
        product: 'RobustMQ',
        version: this.server.version,
        platform: `Node.js ${process.version}`,
        copyright: 'RobustMQ contributors',
        information: 'https://github.com/robustmq',
        cluster_name: 'robustmq',
        capabilities: {
          publisher_confirms: true,
          exchange_exchange_bindings: true,
          'basic.nack': true,
          consumer_cancel_notify: true,
          'connection.blocked': true,
          authentication_failure_close: true,
          per_consumer_qos: true,
          consumer_priorities: false,
          direct_reply_to: false,
        },
      },
      mechanisms: this.certificateSubject ? 'EXTERNAL PLAIN AMQPLAIN' : 'PLAIN AMQPLAIN',
      locales: 'en_US',
    });
    void o;
  }

  private connectionMethod(m: Method): MaybePromise<void> {
    const a = m.args;
    switch (m.name) {
      case 'connection.start-ok':
        if (this.state !== 'start') throw withIds(commandInvalid('unexpected connection.start-ok'), m);
        return this.onStartOk(a.clientProperties as FieldTable, a.mechanism as string, a.response as Buffer);
      case 'connection.tune-ok': {
        if (this.state !== 'tune') throw withIds(commandInvalid('unexpected connection.tune-ok'), m);
        const o = this.server.options;
        const fm = a.frameMax as number;
        if (fm !== 0 && fm < FRAME_MIN_SIZE) throw withIds(notAllowed(`frame_max ${fm} below the minimum ${FRAME_MIN_SIZE}`), m);
        this.frameMax = fm === 0 ? o.frameMax : Math.min(fm, o.frameMax);
        this.parser.maxSize = this.frameMax;
        const cm = a.channelMax as number;
        this.channelMax = cm === 0 ? o.channelMax : Math.min(cm, o.channelMax);
        this.heartbeat = a.heartbeat as number;
        this.state = 'open';
        this.startHeartbeat();
        return;
      }
      case 'connection.open': {
        if (this.state !== 'open') throw withIds(commandInvalid('unexpected connection.open'), m);
        const vhost = a.virtualHost as string;
        if (!this.server.options.vhosts.includes(vhost)) throw withIds(notAllowed(`vhost '${vhost}' not found`), m);
        this.vhost = this.server.broker.vhost(vhost);
        this.state = 'opened';
        this.sendMethod(0, 'connection.open-ok', { reserved1: '' });
        this.server.connected(this);
        return;
      }
      case 'connection.close':
        this.sendMethod(0, 'connection.close-ok');
        this.flush();
        this.terminate();
        return;
      case 'connection.close-ok':
        this.terminate();
        return;
      case 'connection.update-secret':
        this.sendMethod(0, 'connection.update-secret-ok');
        return;
      case 'connection.blocked':
      case 'connection.unblocked':
        return;
      default:
        throw withIds(commandInvalid(`unexpected ${m.name}`), m);
    }
  }

  private onStartOk(clientProperties: FieldTable, mechanism: string, response: Buffer): MaybePromise<void> {
    this.capabilities = (clientProperties?.capabilities as FieldTable) ?? {};
    const name = clientProperties?.connection_name;
    if (typeof name === 'string' && name.length > 0) this.clientId = name;
    let username: string | undefined;
    let password: Buffer | undefined;
    if (mechanism === 'PLAIN') {
      const parts = splitNul(response);
      if (parts.length !== 3) return this.refuseLogin(mechanism, 'malformed PLAIN response');
      username = parts[1].toString('utf8');
      password = parts[2];
    } else if (mechanism === 'AMQPLAIN') {
      const t = amqplainTable(response);
      if (!t) return this.refuseLogin(mechanism, 'malformed AMQPLAIN response');
      username = typeof t.LOGIN === 'string' ? t.LOGIN : Buffer.isBuffer(t.LOGIN) ? t.LOGIN.toString() : undefined;
      password = typeof t.PASSWORD === 'string' ? Buffer.from(t.PASSWORD) : Buffer.isBuffer(t.PASSWORD) ? t.PASSWORD : undefined;
    } else if (mechanism === 'EXTERNAL' && this.certificateSubject) {
      // The identity is the verified certificate's CN (RabbitMQ's default for EXTERNAL).
      username = /(?:^|,)CN=([^,]*)/.exec(this.certificateSubject)?.[1] ?? this.certificateSubject;
    } else {
      return this.refuseLogin(mechanism, `unsupported mechanism '${mechanism}'`);
    }
    this.username = username ?? '';
    this.mechanism = mechanism;
    const hooks = this.server.hooks;
    if (!hooks.has('authenticate')) return this.loggedIn(undefined);
    // EXTERNAL carries no password: the certificate was verified by the TLS layer.
    const result = hooks.authenticate({
      protocol: 'amqp',
      clientId: this.clientId,
      username,
      password,
      method: mechanism,
      remoteAddress: this.socket.remoteAddress,
      certificateSubject: this.certificateSubject,
    });
    if (isPromise(result)) return result.then((r) => this.loggedIn(r));
    return this.loggedIn(result);
  }

  private loggedIn(r: AuthenticateResult): void {
    if (this.state !== 'start') return;
    if (r?.outcome === 'deny' || r?.outcome === 'continue') {
      this.refuseLogin(this.mechanism, r.outcome === 'deny' ? r.reason : 'multi-step authentication is not supported');
      return;
    }
    this.principal = r?.outcome === 'allow' ? (r.principal ?? this.username) : this.username || undefined;
    this.state = 'tune';
    const o = this.server.options;
    this.sendMethod(0, 'connection.tune', { channelMax: o.channelMax, frameMax: o.frameMax, heartbeat: o.heartbeat });
  }

  private refuseLogin(mechanism: string, why: string): void {
    this.logger.info({ clientId: this.clientId, user: this.username, why }, 'amqp: login refused');
    const err = new AmqpError(ReplyCode.accessRefused, `Login was refused using authentication mechanism ${mechanism}: ${why}`);
    this.connectionException(err);
  }

  private startHeartbeat(): void {
    if (this.heartbeat <= 0) return;
    const ms = this.heartbeat * 1000;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastReceived > ms * 2) {
        this.logger.info({ clientId: this.clientId }, 'amqp: missed heartbeats, closing');
        this.socket.destroy();
        return;
      }
      this.write(HEARTBEAT_FRAME);
    }, ms / 2);
    this.heartbeatTimer.unref?.();
  }

  // ------------------------------------------------------------------ output

  sendMethod(channel: number, name: string, args?: Record<string, unknown>): void {
    if (this.state === 'closed') return;
    writeMethodFrame(this.out, channel, name, args);
    this.scheduleFlush();
  }

  sendContent(channel: number, name: string, args: Record<string, unknown>, props: BasicProperties, body: Buffer): void {
    if (this.state === 'closed') return;
    writeContent(this.out, channel, name, args, props, body, this.frameMax);
    this.scheduleFlush();
  }

  private write(b: Buffer): void {
    this.out.bytes(b);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Hands buffered frames to the socket. */
  flush(): void {
    this.flushScheduled = false;
    if (this.out.pos === 0 || this.socket.destroyed) return;
    const data = this.out.result();
    this.out = new Writer(Math.max(64 * 1024, Math.min(data.length, 4 * 1024 * 1024)));
    const ok = this.socket.write(data);
    if (ok) this.resumeDeliveries();
  }

  /** True while the socket can take more deliveries. */
  canWrite(): boolean {
    return this.state === 'opened' && this.out.pos + this.socket.writableLength < WRITE_HIGH_WATER;
  }

  private resumeDeliveries(): void {
    for (const ch of this.channels.values()) ch.resumeDeliveries();
  }

  // ------------------------------------------------------------------ closing

  /** Sends connection.close with the error and waits (briefly) for close-ok. */
  connectionException(err: AmqpError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.logger.debug({ clientId: this.clientId, code: err.code, text: err.message }, 'amqp: connection exception');
    const wasOpen = this.state === 'opened';
    this.state = 'closing';
    writeMethodFrame(this.out, 0, 'connection.close', {
      replyCode: err.code,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    });
    this.flush();
    if (wasOpen) this.releaseChannels();
    this.closeTimer = setTimeout(() => this.terminate(), 1000);
    this.closeTimer.unref?.();
  }

  /** Broker shutdown: connection.close 320 CONNECTION_FORCED. */
  shutdown(): void {
    this.connectionException(new AmqpError(ReplyCode.connectionForced, 'broker shutdown'));
  }

  private terminate(): void {
    this.flush();
    this.state = 'closed';
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref?.();
    this.cleanup('normal');
  }

  /** Requeues unacked messages and removes consumers of every channel. */
  private releaseChannels(): void {
    for (const ch of this.channels.values()) ch.release();
    this.channels.clear();
    for (const q of this.exclusiveQueues) this.server.broker.deleteQueue(q).catch(() => undefined);
    this.exclusiveQueues.clear();
  }

  private cleanup(reason: string): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    const wasOpen = this.state === 'opened' || this.state === 'closing';
    this.state = 'closed';
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.releaseChannels();
    this.server.disconnected(this, wasOpen, reason);
  }

  /** A channel finished its close handshake. */
  channelClosed(id: number): void {
    this.channels.delete(id);
  }

  /** Memory alarm: tell the client and stop reading from it while blocked. */
  setBlocked(on: boolean): void {
    if (this.blocked === on || this.state !== 'opened' || !this.publisher) return;
    this.blocked = on;
    if (this.capabilities['connection.blocked'] === true) {
      if (on) this.sendMethod(0, 'connection.blocked', { reason: 'low on memory' });
      else this.sendMethod(0, 'connection.unblocked');
    }
    if (on) this.socket.pause();
    else if (!this.busy) this.socket.resume();
  }
}

function withIds(err: AmqpError, m: Method): AmqpError {
  err.classId = m.classId;
  err.methodId = m.methodId;
  return err;
}

function safeDecode(payload: Buffer): Method | undefined {
  try {
    return decodeMethod(payload);
  } catch {
    return undefined;
  }
}

function splitNul(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  out.push(b.subarray(start));
  return out;
}

/** AMQPLAIN responses are a field table without its length prefix (some clients include it). */
function amqplainTable(b: Buffer): FieldTable | undefined {
  const prefixed = Buffer.alloc(4 + b.length);
  prefixed.writeUInt32BE(b.length, 0);
  b.copy(prefixed, 4);
  for (const candidate of [prefixed, b]) {
    try {
      const r = new Reader(candidate);
      const t = r.table();
      if (r.pos === candidate.length) return t;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

export { FrameError };
