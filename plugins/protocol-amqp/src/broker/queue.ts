import type { Delivery, Message, RecordHeader, RecordInput, Subscriber } from '@robustmq/sdk';
import type { FieldTable, FieldValue } from '../codec/field-table.js';
import type { AmqpBroker } from './broker.js';
import { Inbound } from './binding.js';
import type { DurableLog } from './durable-log.js';
import { AmqpHeaders } from './message-map.js';
import { Fifo, PriorityFifo, type ReadyList } from './ready-list.js';
import { swapSeparators } from './topic-map.js';

/** Declared properties of a queue (also its durable record). */
export interface QueueSpec {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
}

/** A message waiting in (or delivered from) a queue. */
export interface Entry {
  message: Message;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  /** Absolute expiry (queue TTL or per-message expiration), if any. */
  expiresAt?: number;
  /** Log offset once a persistent message is durable. */
  offset?: number;
  /** A persistent message whose append has not completed yet. */
  persisting?: boolean;
  /** Settled before its append completed: settle the offset when it arrives. */
  settleOnPersist?: boolean;
  /** Times it was returned to the queue (requeue, consumer gone). */
  returns?: number;
}

/** What a queue needs from the channel a consumer lives on. */
export interface ConsumerChannel {
  /** True when the consumer may receive one more message now (prefetch, flow, socket). */
  canDeliver(c: Consumer): boolean;
  deliver(c: Consumer, e: Entry, q: Queue): void;
  /** The queue cancelled the consumer (queue deleted): notify the client. */
  cancelledByServer(c: Consumer): void;
  readonly connectionId: number;
}

export interface Consumer {
  tag: string;
  channel: ConsumerChannel;
  queue: Queue;
  noAck: boolean;
  exclusive: boolean;
  /** Per-consumer prefetch (0 = unlimited). */
  prefetch: number;
  /** `x-priority` consumer argument: higher priorities get messages first. */
  priority: number;
  unacked: number;
}

/**
 * Set on dead-lettered messages (an enumerable symbol, so it survives the copies routing makes):
 * the queues the message died in and whether any death was a rejection.
 */
export const DEAD_LETTER_PATH = Symbol('amqp.deadLetterPath');
export type DeadLettered = Message & { [DEAD_LETTER_PATH]?: { queues: Set<string>; rejected: boolean } };

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** The owner an exclusive queue belongs to. */
export interface QueueOwner {
  readonly id: number;
}

const num = (v: FieldValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * A queue: a router Subscriber (its bindings are router subscriptions) holding ready messages in
 * FIFO order, handing them round robin to consumers within their prefetch, with TTL, max-length,
 * dead-lettering and single-active-consumer. Persistent messages of durable queues go to its
 * {@link DurableLog}.
 */
export class Queue implements Subscriber {
  readonly id: string;
  readonly inbound = new Inbound();
  readonly consumers: Consumer[] = [];
  owner: QueueOwner | undefined;
  log: DurableLog | undefined;
  deleted = false;
  /** Messages delivered and not yet settled. */
  unackedCount = 0;

  private readonly ready: ReadyList<Entry>;
  private readyBytes = 0;
  private rr = 0;
  private dispatchScheduled = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private hadConsumer = false;

  readonly ttl: number | undefined;
  readonly expires: number | undefined;
  readonly maxLength: number | undefined;
  readonly maxLengthBytes: number | undefined;
  readonly overflow: Overflow;
  readonly singleActive: boolean;
  /** `x-delivery-limit`: returns allowed before the message is dead-lettered (reason `delivery_limit`). */
  readonly deliveryLimit: number | undefined;

  constructor(
    private readonly broker: AmqpBroker,
    readonly vhost: string,
    readonly spec: QueueSpec,
  ) {
    this.id = `amqp:q:${vhost}:${spec.name}`;
    const a = spec.args;
    this.ttl = num(a['x-message-ttl']);
    this.expires = num(a['x-expires']);
    this.maxLength = num(a['x-max-length']);
    this.maxLengthBytes = num(a['x-max-length-bytes']);
    this.overflow = (typeof a['x-overflow'] === 'string' ? a['x-overflow'] : 'drop-head') as Overflow;
    this.singleActive = a['x-single-active-consumer'] === true;
    this.deliveryLimit = num(a['x-delivery-limit']);
    const maxPriority = num(a['x-max-priority']);
    this.ready = maxPriority !== undefined && maxPriority > 0 ? new PriorityFifo<Entry>(maxPriority) : new Fifo<Entry>();
  }

  get name(): string {
    return this.spec.name;
  }

  get deadLetterExchange(): string | undefined {
    const v = this.spec.args['x-dead-letter-exchange'];
    return typeof v === 'string' ? v : undefined;
  }

  get deadLetterRoutingKey(): string | undefined {
    const v = this.spec.args['x-dead-letter-routing-key'];
    return typeof v === 'string' ? v : undefined;
  }

  /** Ready messages. */
  get messageCount(): number {
    return this.ready.length;
  }

  // ------------------------------------------------------------------ router side

  deliver(d: Delivery): boolean {
    if (this.deleted || !this.inbound.accepts(d)) return true;
    const path = (d.message as DeadLettered)[DEAD_LETTER_PATH];
    // A dead-letter cycle without a rejection in it: RabbitMQ drops the message, so do we.
    if (path !== undefined && !path.rejected && path.queues.has(this.name)) return true;
    const ctx = this.broker.current;
    if (ctx !== undefined) {
      if (ctx.queues.has(this)) return true; // one copy per queue, however many bindings matched
      ctx.queues.add(this);
    }
    const m = d.message;
    const exchange =
      typeof m.headers[AmqpHeaders.exchange] === 'string' ? (m.headers[AmqpHeaders.exchange] as string) : 'amq.topic';
    const rk =
      typeof m.headers[AmqpHeaders.routingKey] === 'string'
        ? (m.headers[AmqpHeaders.routingKey] as string)
        : swapSeparators(m.topic);
    if (this.full() && this.overflow !== 'drop-head') {
      if (ctx) ctx.rejected = true;
      if (this.overflow === 'reject-publish-dlx')
        this.deadLetter({ message: m, exchange, routingKey: rk, redelivered: false }, 'maxlen');
      return true;
    }
    const e: Entry = { message: m, exchange, routingKey: rk, redelivered: false };
    const now = this.broker.clock.now();
    if (m.expiresAt !== undefined) e.expiresAt = m.expiresAt;
    if (this.ttl !== undefined) e.expiresAt = Math.min(e.expiresAt ?? Number.POSITIVE_INFINITY, now + this.ttl);
    if (this.log !== undefined && m.durability === 'durable') {
      const p = this.persist(e);
      if (ctx) ctx.persist.push(p);
    }
    this.push(e);
    return true;
  }

  private persist(e: Entry): Promise<number> {
    e.persisting = true;
    const p = this.log!.append(toRecord(e));
    p.then(
      (offset) => {
        e.offset = offset;
        e.persisting = false;
        if (e.settleOnPersist && !this.deleted) this.log?.settle(offset);
      },
      (err) => this.broker.logger.warn({ err: (err as Error).message, queue: this.name }, 'amqp: persisting a message failed'),
    );
    return p;
  }

  /** Adds a recovered message (restart) without persisting it again. */
  restore(e: Entry): void {
    this.push(e, false);
  }

  private full(): boolean {
    return (
      (this.maxLength !== undefined && this.messageCount >= this.maxLength) ||
      (this.maxLengthBytes !== undefined && this.readyBytes >= this.maxLengthBytes)
    );
  }

  private push(e: Entry, enforce = true): void {
    this.ready.push(e);
    this.readyBytes += e.message.payload.length;
    if (enforce && this.overflow === 'drop-head') {
      while (
        (this.maxLength !== undefined && this.messageCount > this.maxLength) ||
        (this.maxLengthBytes !== undefined && this.readyBytes > this.maxLengthBytes && this.messageCount > 0)
      ) {
        const dropped = this.shift();
        if (!dropped) break;
        this.deadLetter(dropped, 'maxlen');
        this.settle(dropped);
      }
    }
    if (e.expiresAt !== undefined) this.armExpiry();
    this.scheduleDispatch();
  }

  private shift(): Entry | undefined {
    const e = this.ready.shift();
    if (e === undefined) return undefined;
    this.readyBytes -= e.message.payload.length;
    return e;
  }

  /** Next live ready message; expired ones on the way are dead-lettered. */
  private next(now: number): Entry | undefined {
    for (;;) {
      const e = this.shift();
      if (e === undefined) return undefined;
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.deadLetter(e, 'expired');
        this.settle(e);
        continue;
      }
      return e;
    }
  }

  // ------------------------------------------------------------------ consumers

  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.consumers.length === 0 || this.messageCount === 0) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => this.dispatch());
  }

  private dispatch(): void {
    this.dispatchScheduled = false;
    if (this.deleted) return;
    const now = this.broker.clock.now();
    while (this.messageCount > 0 && this.consumers.length > 0) {
      const c = this.pick();
      if (c === undefined) break;
      const e = this.next(now);
      if (!e) break;
      if (!c.noAck) {
        c.unacked++;
        this.unackedCount++;
      }
      c.channel.deliver(c, e, this);
      if (c.noAck) this.settle(e);
    }
    if (this.messageCount > 0) this.armExpiry();
  }

  /**
   * The consumer for the next message: the single active one; else round robin among the
   * highest-priority consumers that can take one, lower priorities only when those are full.
   */
  private pick(): Consumer | undefined {
    const cs = this.consumers;
    if (this.singleActive) return cs[0].channel.canDeliver(cs[0]) ? cs[0] : undefined;
    for (let start = 0; start < cs.length; ) {
      let end = start + 1;
      while (end < cs.length && cs[end].priority === cs[start].priority) end++;
      const size = end - start;
      for (let k = 0; k < size; k++) {
        const i = start + ((this.rr + k) % size);
        if (cs[i].channel.canDeliver(cs[i])) {
          this.rr = (this.rr + k + 1) % 1_000_000_007;
          return cs[i];
        }
      }
      start = end;
    }
    return undefined;
  }

  addConsumer(c: Consumer): void {
    // Kept sorted by priority, highest first; equal priorities in arrival order.
    let i = this.consumers.length;
    while (i > 0 && this.consumers[i - 1].priority < c.priority) i--;
    this.consumers.splice(i, 0, c);
    this.hadConsumer = true;
    this.clearIdle();
    this.scheduleDispatch();
  }

  /** Removes a consumer; returns true when the queue auto-deleted itself. */
  removeConsumer(c: Consumer): boolean {
    const i = this.consumers.indexOf(c);
    if (i < 0) return false;
    this.consumers.splice(i, 1);
    if (this.consumers.length === 0) {
      if (this.spec.autoDelete && this.hadConsumer) {
        this.broker.deleteQueue(this).catch(() => undefined);
        return true;
      }
      this.touch();
    } else this.scheduleDispatch();
    return false;
  }

  /** basic.get: the next message, counted as delivered unless `noAck`. */
  get(noAck: boolean): Entry | undefined {
    this.touch();
    const e = this.next(this.broker.clock.now());
    if (e === undefined) return undefined;
    if (noAck) this.settle(e);
    else this.unackedCount++;
    return e;
  }

  // ------------------------------------------------------------------ settlement

  /** A delivered message is done (ack, or reject/nack without requeue after dead-lettering). */
  settle(e: Entry): void {
    if (this.log === undefined || this.deleted) return;
    if (e.offset !== undefined) this.log.settle(e.offset);
    else if (e.persisting) e.settleOnPersist = true;
  }

  /** Bookkeeping when a delivered message leaves a consumer (acked, rejected or requeued). */
  released(c: Consumer | undefined): void {
    this.unackedCount--;
    if (c) c.unacked--;
    this.scheduleDispatch();
  }

  /** Puts a delivered message back at the head, marked redelivered. */
  requeue(e: Entry): void {
    if (this.deleted) return;
    e.returns = (e.returns ?? 0) + 1;
    if (this.deliveryLimit !== undefined && e.returns > this.deliveryLimit) {
      this.deadLetter(e, 'delivery_limit');
      this.settle(e);
      return;
    }
    e.redelivered = true;
    this.ready.unshift(e);
    this.readyBytes += e.message.payload.length;
    this.scheduleDispatch();
  }

  /** Rejected or expired or over the limit: to the dead-letter exchange if one is set. */
  deadLetter(e: Entry, reason: 'rejected' | 'expired' | 'maxlen' | 'delivery_limit'): void {
    const dlx = this.deadLetterExchange;
    if (dlx === undefined) return;
    this.broker.deadLetter(this, e, reason, dlx, this.deadLetterRoutingKey ?? e.routingKey);
  }

  /** Removes every ready message; returns how many. */
  purge(): number {
    const n = this.messageCount;
    for (;;) {
      const e = this.shift();
      if (!e) break;
      this.settle(e);
    }
    this.ready.clear();
    this.readyBytes = 0;
    return n;
  }

  // ------------------------------------------------------------------ timers

  private armExpiry(): void {
    const e = this.ready.peek();
    if (e?.expiresAt === undefined) return;
    if (this.expiryTimer !== undefined && this.expiryAt <= e.expiresAt) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryAt = e.expiresAt;
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = undefined;
        this.expireHead();
      },
      Math.max(0, e.expiresAt - this.broker.clock.now()),
    );
    this.expiryTimer.unref?.();
  }

  private expireHead(): void {
    if (this.deleted) return;
    const now = this.broker.clock.now();
    for (;;) {
      const e = this.ready.peek();
      if (e === undefined || e.expiresAt === undefined || e.expiresAt > now) break;
      this.shift();
      this.deadLetter(e, 'expired');
      this.settle(e);
    }
    this.armExpiry();
  }

  /** Restarts the x-expires countdown (the queue was used). */
  touch(): void {
    if (this.expires === undefined || this.deleted) return;
    this.clearIdle();
    if (this.consumers.length > 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.consumers.length === 0) this.broker.deleteQueue(this).catch(() => undefined);
    }, this.expires);
    this.idleTimer.unref?.();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Stops timers; the queue is being deleted or the broker stops. */
  dispose(): void {
    this.deleted = true;
    this.clearIdle();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }
}

/** The log record of a persistent message: payload as value, message headers as record headers. */
export function toRecord(e: Entry): RecordInput {
  const m = e.message;
  const headers: RecordHeader[] = [];
  for (const [k, v] of Object.entries(m.headers))
    if (k !== AmqpHeaders.exchange && k !== AmqpHeaders.routingKey)
      headers.push({ key: k, value: typeof v === 'string' ? Buffer.from(v) : v });
  headers.push({ key: AmqpHeaders.exchange, value: Buffer.from(e.exchange) });
  headers.push({ key: AmqpHeaders.routingKey, value: Buffer.from(e.routingKey) });
  if (e.expiresAt !== undefined) headers.push({ key: 'amqp-expires-at', value: Buffer.from(String(e.expiresAt)) });
  headers.push({ key: 'amqp-origin', value: Buffer.from(JSON.stringify(m.origin)) });
  return { key: m.key ?? null, value: m.payload, headers, timestamp: m.timestamp };
}
