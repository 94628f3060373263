import type { Duplex } from 'node:stream';
import {
  type Action,
  type Clock,
  type HookBus,
  isPromise,
  type Logger,
  type MaybePromise,
  type Message,
  MetricNames,
  type PluginContext,
  type PublishOutcome,
  publishMessage,
  type Router,
} from '@robustmq/sdk';
import { Connection, type TransportInfo } from './connection.js';
import { RC } from './errors.js';
import { PublisherFlow } from './flow.js';
import type { MqttOptions } from './options.js';
import { RetainedStore } from './retained.js';
import { SharedRedelivery } from './session/shared.js';
import type { Outbound, SubRecord } from './session/outbound.js';
import { decodeMessage, encodeMessage } from './session/codec.js';
import { SessionPersistence } from './session/persistence.js';
import { Session, type SessionEnv } from './session/session.js';
import { type Will, WillScheduler } from './will.js';

/** Session Expiry Interval meaning "never expires" (§3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/** Counters kept as plain numbers on the hot path and flushed to Prometheus once a second. */
export interface MqttStats {
  startedAt: number;
  connected: number;
  received: number;
  sent: number;
  dropped: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The MQTT broker state shared by all connections: sessions by client id, retained messages,
 * delayed Wills, persistence, counters. Routing itself is the kernel Router's.
 */
export class MqttServer {
  readonly options: MqttOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: HookBus;
  readonly router: Router;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  readonly retained: RetainedStore;
  readonly persistence: SessionPersistence;
  readonly wills: WillScheduler;
  readonly stats: MqttStats;
  readonly version: string;
  stopping = false;
  /** Publisher backpressure: publishers stop reading while a subscriber they feed is behind. */
  readonly flow: PublisherFlow<Session, Connection>;
  private readonly env: SessionEnv;
  private readonly shared: SharedRedelivery;
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly flushed = { received: 0, sent: 0, bytesIn: 0, bytesOut: 0 };
  private readonly metric;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(ctx: PluginContext<MqttOptions>) {
    this.options = ctx.options;
    this.logger = ctx.logger;
    this.clock = ctx.clock;
    this.hooks = ctx.hooks;
    this.router = ctx.router;
    this.version = ctx.broker.version;
    this.stats = { startedAt: ctx.clock.now(), connected: 0, received: 0, sent: 0, dropped: 0, bytesIn: 0, bytesOut: 0 };
    const m = ctx.metrics;
    this.metric = {
      connections: m.gauge(MetricNames.connections, 'Open client connections', ['protocol']),
      messagesIn: m.counter(MetricNames.messagesIn, 'Messages received from clients', ['protocol']),
      messagesOut: m.counter(MetricNames.messagesOut, 'Messages sent to clients', ['protocol']),
      bytesIn: m.counter(MetricNames.bytesIn, 'Bytes received from clients', ['protocol']),
      bytesOut: m.counter(MetricNames.bytesOut, 'Bytes sent to clients', ['protocol']),
      dropped: m.counter(MetricNames.dropped, 'Messages dropped', ['reason']),
      protocolErrors: m.counter(
        'robustmq_mqtt_protocol_errors_total',
        'MQTT connections closed for a malformed packet or a protocol violation, by reason code',
        ['code'],
      ),
      refused: m.counter('robustmq_mqtt_connections_refused_total', 'MQTT connections refused', ['reason']),
      publisherHolds: m.counter(
        'robustmq_mqtt_publisher_holds_total',
        'Times a publishing connection stopped reading because a subscriber it feeds was behind',
        [],
      ),
    };
    this.persistence = new SessionPersistence(() => ctx.metaStore(), this.logger);
    this.retained = new RetainedStore(() => ctx.metaStore(), this.clock, this.logger);
    this.wills = new WillScheduler(this.clock, (will) => this.publishWill(will));
    this.shared = new SharedRedelivery(this);
    this.flow = new PublisherFlow(this.clock);
    this.env = {
      options: this.options,
      persistence: this.persistence,
      clock: this.clock,
      dropped: (session, o, reason) => this.dropped(session, o, reason),
      congested: (session, message) => this.holdPublisher(session, message),
      progressed: (session) => this.flow.progress(session),
      relieved: (session) => this.flow.release(session),
    };
    this.flushTimer = setInterval(() => this.flushMetrics(), 1000);
    this.flushTimer.unref();
  }

  /** Reads retained messages and persistent sessions back from the MetaStore. */
  async load(): Promise<void> {
    await this.retained.load();
    const now = this.clock.now();
    const wills: Array<[string, Will]> = [];
    for (const l of await this.persistence.loadAll()) {
      const r = l.record;
      const s = new Session(r.clientId, this.env);
      s.expiryInterval = r.expiryInterval;
      s.disconnectedAt = r.disconnectedAt ?? now;
      s.stored = true;
      if (r.expiryInterval < NEVER_EXPIRES && s.disconnectedAt + r.expiryInterval * 1000 <= now) {
        this.persistence.deleteSession(r.clientId);
        continue;
      }
      for (const sub of r.subscriptions) s.subscriptions.set(sub.filter, sub);
      for (const id of r.incomingQos2) s.incomingQos2.add(id);
      s.restore(l.inflight, l.queue);
      if (r.will) {
        s.pendingWill = r.will;
        const will: Will = {
          message: decodeMessage(r.will.m),
          delay: Math.max(0, (r.will.due - now) / 1000),
          principal: r.will.principal,
        };
        if (r.will.expiry !== undefined) will.expiry = r.will.expiry;
        wills.push([r.clientId, will]);
      }
      this.attach(s);
      for (const sub of s.subscriptions.values()) if (!sub.filter.startsWith('$share/')) this.routerSubscribe(s, sub);
      this.sessions.set(s.clientId, s);
      this.scheduleExpiry(s);
    }
    // Delayed Wills once every session is back, so their subscribers receive them.
    for (const [clientId, will] of wills) this.wills.schedule(clientId, will);
    this.logger.debug({ sessions: this.sessions.size, retained: this.retained.size }, 'mqtt: state loaded');
  }

  /** Takes a new client socket, unless the connection limit is reached. */
  accept(socket: Duplex, info: TransportInfo): Connection | undefined {
    const max = this.options.maxConnections;
    if (this.stopping || (max > 0 && this.connections.size >= max)) {
      this.metric.refused.inc({ reason: this.stopping ? 'shutdown' : 'max-connections' });
      this.logger.debug({ remoteAddress: info.remoteAddress }, 'mqtt: connection refused (limit or shutdown)');
      socket.destroy();
      return undefined;
    }
    const conn = new Connection(this, socket, info);
    this.connections.add(conn);
    return conn;
  }

  /**
   * Binds a connection to its session (§3.1.2.4): takes over a live connection with the same id,
   * ends the old session on Clean Start, resumes it otherwise. Returns Session Present.
   */
  openSession(conn: Connection, cleanStart: boolean, expiryInterval: number): boolean {
    const clientId = conn.clientId;
    let s = this.sessions.get(clientId);
    if (s?.link) (s.link as Connection).close('takeover', RC.sessionTakenOver, 'another connection took the session');
    s = this.sessions.get(clientId);
    if (s && cleanStart) {
      this.endSession(s, 'clean-start');
      s = undefined;
    }
    let present = false;
    if (s && !s.ended) {
      present = true;
      this.cancelExpiry(clientId);
      this.wills.cancel(clientId);
      s.pendingWill = undefined;
    } else {
      s = new Session(clientId, this.env);
      this.attach(s);
      this.sessions.set(clientId, s);
    }
    s.expiryInterval = expiryInterval;
    s.disconnectedAt = undefined;
    s.link = conn;
    conn.session = s;
    if (present) {
      for (const sub of s.subscriptions.values()) if (sub.filter.startsWith('$share/')) this.routerSubscribe(s, sub);
    }
    s.save();
    return present;
  }

  /** A connection finished CONNECT: count it and tell the hooks. */
  connectionOpened(conn: Connection): void {
    this.stats.connected++;
    this.metric.connections.inc({ protocol: 'mqtt' });
    if (this.hooks.has('clientConnected')) {
      this.hooks.emit('clientConnected', {
        protocol: 'mqtt',
        clientId: conn.clientId,
        principal: conn.principal,
        remoteAddress: conn.info.remoteAddress,
      });
    }
  }

  /** Called once per connection when its socket is gone. */
  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    this.flow.forgetPublisher(conn);
    const s = conn.session;
    if (!s || s.link !== conn) return;
    this.flow.release(s);
    this.stats.connected--;
    this.metric.connections.dec({ protocol: 'mqtt' });
    s.link = undefined;
    s.disconnectedAt = this.clock.now();
    // While stopping, only delayed Wills of persistent sessions are left here (stop() published the rest).
    if (conn.will && (!conn.gracefulClose || conn.willOnDisconnect)) {
      const w = conn.will;
      if (w.delay > 0 && s.expiryInterval > 0) {
        // Kept with the session so the Will still goes out after a restart.
        s.pendingWill = { m: encodeMessage(w.message), due: this.clock.now() + w.delay * 1000 };
        if (w.expiry !== undefined) s.pendingWill.expiry = w.expiry;
        if (w.principal !== undefined) s.pendingWill.principal = w.principal;
      }
      this.wills.schedule(conn.clientId, w);
    }
    if (s.expiryInterval === 0) {
      this.endSession(s, 'disconnected');
    } else {
      this.shared.memberLeft(s);
      s.save();
      this.scheduleExpiry(s);
    }
    if (this.hooks.has('clientDisconnected')) {
      this.hooks.emit('clientDisconnected', {
        protocol: 'mqtt',
        clientId: conn.clientId,
        principal: conn.principal,
        remoteAddress: conn.info.remoteAddress,
        reason: conn.closeReason,
      });
    }
  }

  /** Ends a session: unsubscribes it, forgets its state, sends a still-delayed Will (§3.1.3.2). */
  endSession(s: Session, reason: string): void {
    if (s.ended) return;
    if (s.subscriptions.size > 0 || s.inflight.size > 0 || s.queue.length > 0) this.shared.memberLeft(s);
    s.ended = true;
    this.flow.release(s);
    this.router.detach(s.id);
    if (this.sessions.get(s.clientId) === s) this.sessions.delete(s.clientId);
    this.cancelExpiry(s.clientId);
    if (s.stored) this.persistence.deleteSession(s.clientId);
    if (!this.stopping) this.wills.fire(s.clientId);
    if (reason === 'expired' && this.hooks.has('sessionExpired')) {
      this.hooks.emit('sessionExpired', { protocol: 'mqtt', clientId: s.clientId });
    }
  }

  /** Adds one of a session's subscriptions to the router. */
  routerSubscribe(s: Session, sub: SubRecord): void {
    const options: Record<string, unknown> = { qos: sub.qos, noLocal: sub.nl, rap: sub.rap, cid: s.clientId };
    if (sub.subId !== undefined) options.subId = sub.subId;
    this.router.subscribe(s.id, sub.filter, options);
  }

  /** Authorizes an action; no hook or no opinion allows. */
  authorize(conn: Connection, action: Action, resource: string): MaybePromise<boolean> {
    if (!this.hooks.has('authorize')) return true;
    const r = this.hooks.authorize({ protocol: 'mqtt', clientId: conn.clientId, principal: conn.principal, action, resource });
    return isPromise(r) ? r.then((v) => v !== 'deny') : r !== 'deny';
  }

  /** The publish path after authorization: filters, router, then the retained store. */
  publish(message: Message): MaybePromise<PublishOutcome> {
    const outcome = publishMessage(this.hooks, this.router, message);
    if (isPromise(outcome)) return outcome.then((o) => this.afterPublish(o));
    return this.afterPublish(outcome);
  }

  /**
   * A subscriber queued a message past its high watermark: the MQTT connection that published it
   * (if still here, and not the subscriber itself) stops reading until the subscriber catches up.
   */
  private holdPublisher(subscriber: Session, message: Message): void {
    const origin = message.origin;
    if (origin?.protocol !== 'mqtt' || this.stopping) return;
    const publisher = this.sessions.get(origin.clientId)?.link as Connection | undefined;
    if (publisher && publisher !== subscriber.link && publisher.state === 'open' && this.flow.hold(publisher, subscriber))
      this.metric.publisherHolds.inc();
  }

  countIn(): void {
    this.stats.received++;
  }

  countOut(): void {
    this.stats.sent++;
  }

  countBytesIn(n: number): void {
    this.stats.bytesIn += n;
  }

  countBytesOut(n: number): void {
    this.stats.bytesOut += n;
  }

  countProtocolError(code: number): void {
    this.metric.protocolErrors.inc({ code: `0x${code.toString(16).padStart(2, '0')}` });
  }

  /**
   * Stops serving: publishes the Wills of connected clients (a shutdown is not a normal DISCONNECT,
   * §3.1.2.5), disconnects every client with 0x8B, keeps persistent sessions, flushes writes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    // Wills first, while every subscriber is still attached: live ones receive them, persistent
    // ones get them queued and stored. A delayed Will of a persistent session stays pending with
    // the session (connectionClosed stores it) and goes out after a restart.
    for (const conn of this.connections) {
      const w = conn.will;
      const s = conn.session;
      if (!w || conn.state !== 'open' || !s || s.link !== conn) continue;
      if (w.delay > 0 && s.expiryInterval > 0) continue;
      conn.will = undefined;
      this.wills.cancel(conn.clientId);
      this.publishWill(w);
    }
    for (const conn of [...this.connections]) conn.close('shutdown', RC.serverShuttingDown, 'broker shutting down');
    this.wills.clear();
    // Wills waiting on an async hook are routed before the session state is flushed.
    while (this.willsInFlight.size > 0) await Promise.allSettled([...this.willsInFlight]);
    this.flow.releaseAll();
    for (const t of this.expiryTimers.values()) this.clock.clearTimeout(t);
    this.expiryTimers.clear();
    clearInterval(this.flushTimer);
    this.flushMetrics();
    await this.persistence.flush();
    await this.retained.flush();
  }

  private afterPublish(o: PublishOutcome): PublishOutcome {
    if (o.verdict === 'routed' && o.message.retain && this.options.retainAvailable) this.retained.set(o.message);
    return o;
  }

  private attach(s: Session): void {
    s.handle = this.router.attach(s, { queueLimit: this.options.maxQueuedMessages, dropPolicy: this.options.queueDropPolicy });
  }

  /** Runs from timers: nothing may escape to the process. */
  private publishWill(will: Will): void {
    try {
      this.publishWillUnsafe(will);
    } catch (err) {
      this.logger.warn({ err, clientId: will.message.origin.clientId }, 'mqtt: will publish failed');
    }
  }

  private publishWillUnsafe(will: Will): void {
    const owner = this.sessions.get(will.message.origin.clientId);
    if (owner?.pendingWill) {
      owner.pendingWill = undefined;
      owner.save();
    }
    const resource = will.message.topic;
    const go = (allowed: boolean) => {
      if (!allowed) {
        this.logger.debug({ clientId: will.message.origin.clientId, topic: resource }, 'mqtt: will not authorized, dropped');
        return;
      }
      const now = this.clock.now();
      const message: Message = { ...will.message, timestamp: now };
      if (will.expiry !== undefined) message.expiresAt = now + will.expiry * 1000;
      const r = this.publish(message);
      if (isPromise(r)) this.track(r.then(undefined, (err) => this.logger.warn({ err }, 'mqtt: will publish failed')));
    };
    if (!this.hooks.has('authorize')) {
      go(true);
      return;
    }
    const r = this.hooks.authorize({
      protocol: 'mqtt',
      clientId: will.message.origin.clientId,
      principal: will.principal,
      action: 'publish',
      resource,
    });
    if (isPromise(r))
      this.track(
        r.then(
          (v) => go(v !== 'deny'),
          () => go(false),
        ),
      );
    else go(r !== 'deny');
  }

  /** Will publishes still waiting on a hook; stop() waits for them. */
  private readonly willsInFlight = new Set<Promise<unknown>>();

  private track(p: Promise<unknown>): void {
    this.willsInFlight.add(p);
    void p.finally(() => this.willsInFlight.delete(p));
  }

  private dropped(session: Session, o: Outbound, reason: string): void {
    this.stats.dropped++;
    this.metric.dropped.inc({ reason });
    if (this.hooks.has('dropped')) this.hooks.emit('dropped', { message: o.message, subscriberId: session.id, reason });
  }

  private scheduleExpiry(s: Session): void {
    this.cancelExpiry(s.clientId);
    if (s.expiryInterval >= NEVER_EXPIRES || s.disconnectedAt === undefined) return;
    const deadline = s.disconnectedAt + s.expiryInterval * 1000;
    const t = this.clock.setTimeout(
      () => {
        this.expiryTimers.delete(s.clientId);
        if (s.link || s.ended) return;
        try {
          if (this.clock.now() >= deadline) this.endSession(s, 'expired');
          else this.scheduleExpiry(s);
        } catch (err) {
          this.logger.warn({ err, clientId: s.clientId }, 'mqtt: session expiry failed');
        }
      },
      Math.min(Math.max(0, deadline - this.clock.now()), 2 ** 31 - 1),
    );
    t.unref?.();
    this.expiryTimers.set(s.clientId, t);
  }

  private cancelExpiry(clientId: string): void {
    const t = this.expiryTimers.get(clientId);
    if (t) this.clock.clearTimeout(t);
    this.expiryTimers.delete(clientId);
  }

  private flushMetrics(): void {
    const l = { protocol: 'mqtt' };
    const s = this.stats;
    const f = this.flushed;
    if (s.received > f.received) this.metric.messagesIn.inc(l, s.received - f.received);
    if (s.sent > f.sent) this.metric.messagesOut.inc(l, s.sent - f.sent);
    if (s.bytesIn > f.bytesIn) this.metric.bytesIn.inc(l, s.bytesIn - f.bytesIn);
    if (s.bytesOut > f.bytesOut) this.metric.bytesOut.inc(l, s.bytesOut - f.bytesOut);
    f.received = s.received;
    f.sent = s.sent;
    f.bytesIn = s.bytesIn;
    f.bytesOut = s.bytesOut;
  }
}
