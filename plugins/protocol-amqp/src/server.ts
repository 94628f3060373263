/** The AMQP listener: accepts sockets, tracks connections, counts metrics, raises the memory alarm. */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { getHeapStatistics } from 'node:v8';
import {
  type Counter,
  type Gauge,
  type HookBus,
  type Logger,
  listen,
  type Message,
  MetricNames,
  type PluginContext,
  PluginStartError,
} from '@robustmq/sdk';
import { AmqpBroker } from './broker/broker.js';
import { AmqpConnection } from './connection.js';
import { ReplyRegistry } from './direct-reply.js';
import type { AmqpOptions } from './options.js';

const PROTOCOL = { protocol: 'amqp' };

export class AmqpServer {
  readonly broker: AmqpBroker;
  readonly logger: Logger;
  readonly hooks: HookBus;
  readonly version: string;
  /** Direct reply-to names of open channels. */
  readonly replies = new ReplyRegistry();
  private readonly connections = new Set<AmqpConnection>();
  private server: Server | undefined;
  private tlsServer: Server | undefined;
  tlsPort = 0;
  private alarmTimer: NodeJS.Timeout | undefined;
  private blocked = false;
  private readonly connGauge: Gauge;
  private readonly msgIn: Counter;
  private readonly msgOut: Counter;
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter;
  port = 0;

  constructor(
    private readonly ctx: PluginContext<AmqpOptions>,
    readonly options: AmqpOptions,
  ) {
    this.logger = ctx.logger;
    this.hooks = ctx.hooks;
    this.version = ctx.broker.version;
    let logStore: ReturnType<typeof ctx.logStore> | undefined;
    let metaStore: ReturnType<typeof ctx.metaStore> | undefined;
    try {
      logStore = ctx.logStore();
      metaStore = ctx.metaStore();
    } catch {
      // no storage: durable entities live in memory only
    }
    this.broker = new AmqpBroker({
      router: ctx.router,
      hooks: ctx.hooks,
      logger: ctx.logger,
      clock: ctx.clock,
      logStore,
      metaStore,
      ackFlushMs: options.ackFlushMs,
    });
    const m = ctx.metrics;
    this.connGauge = m.gauge(MetricNames.connections, 'Open client connections', ['protocol']);
    this.msgIn = m.counter(MetricNames.messagesIn, 'Messages received from clients', ['protocol']);
    this.msgOut = m.counter(MetricNames.messagesOut, 'Messages delivered to clients', ['protocol']);
    this.bytesIn = m.counter(MetricNames.bytesIn, 'Payload bytes received', ['protocol']);
    this.bytesOut = m.counter(MetricNames.bytesOut, 'Payload bytes delivered', ['protocol']);
  }

  /** Loads durable topology and opens the listener. Returns the bound port. */
  async start(): Promise<number> {
    for (const v of this.options.vhosts) this.broker.vhost(v);
    await this.broker.load();
    this.server = createServer((socket) => this.accept(socket));
    const host = this.options.host ?? this.ctx.broker.host;
    this.port = await listen(this.server, this.options.port, host, 'port');
    const tls = this.options.tls;
    if (tls.enabled) {
      const read = (file: string | undefined, field: string) => {
        if (file === undefined) throw new PluginStartError(`tls.${field}`, 'not set', `set tls.${field} to a PEM file`);
        try {
          return readFileSync(file);
        } catch (err) {
          throw new PluginStartError(
            `tls.${field}`,
            `cannot read ${file}: ${(err as Error).message}`,
            'point it at a readable PEM file',
          );
        }
      };
      try {
        this.tlsServer = createTlsServer(
          {
            cert: read(tls.cert, 'cert'),
            key: read(tls.key, 'key'),
            ca: tls.ca === undefined ? undefined : read(tls.ca, 'ca'),
            requestCert: tls.requestCert,
            rejectUnauthorized: tls.requestCert && tls.rejectUnauthorized,
          },
          (socket: TLSSocket) => this.accept(socket, certificateSubject(socket)),
        );
        this.tlsServer.on('tlsClientError', (err) => this.logger.debug({ err: err.message }, 'amqp: TLS handshake failed'));
        this.tlsPort = await listen(this.tlsServer, tls.port, host, 'tls.port');
      } catch (err) {
        await new Promise((r) => this.server?.close(r));
        throw err;
      }
    }
    const limit = this.options.memoryHighWatermark ?? Math.floor(getHeapStatistics().heap_size_limit * 0.7);
    if (limit > 0) {
      this.alarmTimer = setInterval(() => this.checkMemory(limit), 1000);
      this.alarmTimer.unref?.();
    }
    return this.port;
  }

  private accept(socket: Socket, certificateSubject?: string): void {
    if (this.options.maxConnections > 0 && this.connections.size >= this.options.maxConnections) {
      socket.destroy();
      return;
    }
    this.connections.add(new AmqpConnection(socket, this, certificateSubject));
  }

  /** Called once a connection is open (after connection.open-ok). */
  connected(c: AmqpConnection): void {
    this.connGauge.inc(PROTOCOL);
    if (this.blocked) c.setBlocked(true);
    if (this.hooks.has('clientConnected')) {
      this.hooks.emit('clientConnected', {
        protocol: 'amqp',
        clientId: c.clientId,
        principal: c.principal,
        remoteAddress: c.socket.remoteAddress,
      });
    }
  }

  disconnected(c: AmqpConnection, wasOpen: boolean, reason: string): void {
    if (!this.connections.delete(c)) return;
    if (!wasOpen) return;
    this.connGauge.dec(PROTOCOL);
    if (this.hooks.has('clientDisconnected')) {
      this.hooks.emit('clientDisconnected', { protocol: 'amqp', clientId: c.clientId, principal: c.principal, reason });
    }
  }

  // Message counters are summed here and handed to the registry once per event-loop turn: a
  // labelled prom-client inc per message is a measurable share of the hot path.
  private pending = { msgIn: 0, bytesIn: 0, msgOut: 0, bytesOut: 0 };
  private countsScheduled = false;

  countIn(bytes: number): void {
    this.pending.msgIn++;
    this.pending.bytesIn += bytes;
    this.scheduleCounts();
  }

  countOut(m: Message, subscriberId: string): void {
    this.pending.msgOut++;
    this.pending.bytesOut += m.payload.length;
    this.scheduleCounts();
    if (this.hooks.has('delivered')) {
      this.hooks.emit('delivered', { message: m, subscriberId: `amqp:${subscriberId}`, protocol: 'amqp' });
    }
  }

  private scheduleCounts(): void {
    if (this.countsScheduled) return;
    this.countsScheduled = true;
    setImmediate(() => this.flushCounts());
  }

  private flushCounts(): void {
    this.countsScheduled = false;
    const p = this.pending;
    if (p.msgIn) this.msgIn.inc(PROTOCOL, p.msgIn);
    if (p.bytesIn) this.bytesIn.inc(PROTOCOL, p.bytesIn);
    if (p.msgOut) this.msgOut.inc(PROTOCOL, p.msgOut);
    if (p.bytesOut) this.bytesOut.inc(PROTOCOL, p.bytesOut);
    this.pending = { msgIn: 0, bytesIn: 0, msgOut: 0, bytesOut: 0 };
  }

  private checkMemory(limit: number): void {
    const used = process.memoryUsage().heapUsed;
    const blocked = used > limit;
    if (blocked === this.blocked) return;
    this.blocked = blocked;
    this.logger.warn(
      { heapUsed: used, limit },
      blocked ? 'amqp: memory alarm, blocking publishers' : 'amqp: memory alarm cleared',
    );
    for (const c of this.connections) c.setBlocked(blocked);
  }

  /** Closes the listener, sends connection.close 320 to clients, writes queue state. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.alarmTimer) clearInterval(this.alarmTimer);
    const closing = (srv: Server | undefined) => new Promise<void>((resolve) => (srv ? srv.close(() => resolve()) : resolve()));
    const closed = Promise.all([closing(this.server), closing(this.tlsServer)]);
    for (const c of this.connections) c.shutdown();
    const waitUntil = Date.now() + Math.min(deadlineMs, 2000);
    while (this.connections.size > 0 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.socket.destroy();
    await closed;
    await this.broker.close();
    this.flushCounts();
  }
}

/** Subject of a verified client certificate, as `CN=…,O=…`. */
function certificateSubject(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject as unknown as Record<string, string> | undefined;
  if (!subject) return undefined;
  return Object.entries(subject)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
