/**
 * One AMQP channel: the exchange, queue, basic, confirm and tx classes, content assembly for
 * basic.publish, delivery tags and unacknowledged messages, consumers and prefetch.
 */
import { randomBytes } from 'node:crypto';
import { isPromise, type MaybePromise } from '@robustmq/sdk';
import type { RouteContext } from './broker/broker.js';
import type { Exchange } from './broker/exchange.js';
import { toProperties } from './broker/message-map.js';
import type { Consumer, ConsumerChannel, Entry, Queue } from './broker/queue.js';
import { bindingFilter, type ExchangeType } from './broker/topic-map.js';
import { ReplyCode } from './codec/constants.js';
import type { FieldTable } from './codec/field-table.js';
import type { BasicProperties, ContentHeader } from './codec/frames.js';
import type { Method } from './codec/methods.js';
import { ConfirmTracker } from './confirms.js';
import type { AmqpConnection } from './connection.js';
import { REPLY_TO, REPLY_TO_PREFIX, type ReplyTarget } from './direct-reply.js';
import {
  AmqpError,
  accessRefused,
  commandInvalid,
  frameError,
  notAllowed,
  notFound,
  notImplemented,
  preconditionFailed,
  unexpectedFrame,
} from './errors.js';

interface Unacked {
  queue: Queue;
  entry: Entry;
  consumer?: Consumer;
}

interface PendingPublish {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
  header?: ContentHeader;
  chunks: Buffer[];
  received: number;
}

type TxOp = () => MaybePromise<unknown>;

export class Channel implements ConsumerChannel, ReplyTarget {
  closing = false;
  private readonly consumers = new Map<string, Consumer>();
  private readonly unacked = new Map<number, Unacked>();
  private deliveryTag = 0;
  private consumerPrefetch = 0;
  private channelPrefetch = 0;
  private flowActive = true;
  private confirms: ConfirmTracker | undefined;
  private tx: TxOp[] | undefined;
  private pending: PendingPublish | undefined;
  private lastQueue = '';
  private released = false;
  /** Direct reply-to: the consumer tag on `amq.rabbitmq.reply-to` and this channel's reply name. */
  private reply: { tag: string; name: string } | undefined;

  constructor(
    private readonly conn: AmqpConnection,
    readonly id: number,
  ) {}

  get connectionId(): number {
    return this.conn.id;
  }

  private get broker() {
    return this.conn.server.broker;
  }

  private get vhost() {
    return this.conn.vhost;
  }

  // ------------------------------------------------------------------ frames

  onMethod(m: Method): MaybePromise<void> {
    if (this.closing) {
      // Waiting for channel.close-ok: everything else is discarded (spec §2.2.4).
      if (m.name === 'channel.close-ok') this.conn.channelClosed(this.id);
      else if (m.name === 'channel.close') {
        this.conn.sendMethod(this.id, 'channel.close-ok');
        this.conn.channelClosed(this.id);
      }
      return;
    }
    if (this.pending) throw ids(unexpectedFrame(`expected content header for basic.publish, got ${m.name}`), m);
    try {
      const r = this.dispatch(m);
      return isPromise(r) ? r.catch((err) => Promise.reject(ids(err, m))) : r;
    } catch (err) {
      throw ids(err, m);
    }
  }

  onHeader(h: ContentHeader): MaybePromise<void> {
    const p = this.pending;
    if (!p || p.header) throw unexpectedFrame('content header without basic.publish');
    if (h.classId !== 60) throw frameError(`content header for class ${h.classId}`);
    if (h.bodySize > this.conn.server.options.maxMessageSize) {
      this.pending = undefined;
      throw ids(
        preconditionFailed(
          `message size ${h.bodySize} is larger than configured max size ${this.conn.server.options.maxMessageSize}`,
        ),
        { classId: 60, methodId: 40 },
      );
    }
    p.header = h;
    if (h.bodySize === 0) return this.completePublish();
  }

  onBody(b: Buffer): MaybePromise<void> {
    const p = this.pending;
    if (!p?.header) throw unexpectedFrame('content body without a content header');
    p.chunks.push(b);
    p.received += b.length;
    if (p.received > p.header.bodySize) throw frameError('content body larger than announced in its header');
    if (p.received === p.header.bodySize) return this.completePublish();
  }

  /** A channel exception: release state, send channel.close, wait for close-ok. */
  exception(err: AmqpError): void {
    if (this.closing) return;
    this.conn.logger.debug({ channel: this.id, code: err.code, text: err.message }, 'amqp: channel exception');
    this.release();
    this.closing = true;
    this.conn.sendMethod(this.id, 'channel.close', {
      replyCode: err.code,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    });
  }

  // ------------------------------------------------------------------ methods

  private dispatch(m: Method): MaybePromise<void> {
    const a = m.args;
    switch (m.name) {
      case 'channel.close':
        this.release();
        this.conn.sendMethod(this.id, 'channel.close-ok');
        this.conn.channelClosed(this.id);
        return;
      case 'channel.close-ok':
        return;
      case 'channel.flow':
        this.flowActive = a.active as boolean;
        this.conn.sendMethod(this.id, 'channel.flow-ok', { active: this.flowActive });
        if (this.flowActive) this.resumeDeliveries();
        return;
      case 'channel.flow-ok':
        return;
      case 'exchange.declare':
        return this.exchangeDeclare(a);
      case 'exchange.delete':
        return this.after(this.broker.deleteExchange(this.vhost, a.exchange, a.ifUnused), a.noWait, 'exchange.delete-ok');
      case 'exchange.bind':
      case 'exchange.unbind':
        return this.exchangeBind(m.name === 'exchange.bind', a);
      case 'queue.declare':
        return this.queueDeclare(a);
      case 'queue.bind':
      case 'queue.unbind':
        return this.queueBind(m.name === 'queue.bind', a);
      case 'queue.purge': {
        const q = this.queue(a.queue);
        const n = q.purge();
        if (!a.noWait) this.conn.sendMethod(this.id, 'queue.purge-ok', { messageCount: n });
        return q.log?.settleAll();
      }
      case 'queue.delete': {
        const q = this.queue(a.queue);
        return this.broker.deleteQueue(q, a.ifUnused, a.ifEmpty).then((n) => {
          this.conn.exclusiveQueues.delete(q);
          if (!a.noWait) this.conn.sendMethod(this.id, 'queue.delete-ok', { messageCount: n });
        });
      }
      case 'basic.qos':
        if (a.global) this.channelPrefetch = a.prefetchCount;
        else this.consumerPrefetch = a.prefetchCount;
        this.conn.sendMethod(this.id, 'basic.qos-ok');
        this.resumeDeliveries();
        return;
      case 'basic.consume':
        return this.consume(a);
      case 'basic.cancel': {
        const reply = this.reply;
        if (reply !== undefined && reply.tag === a.consumerTag) {
          this.conn.server.replies.remove(reply.name);
          this.reply = undefined;
        }
        const c = this.consumers.get(a.consumerTag);
        if (c) {
          this.consumers.delete(a.consumerTag);
          c.queue.removeConsumer(c);
        }
        if (!a.noWait) this.conn.sendMethod(this.id, 'basic.cancel-ok', { consumerTag: a.consumerTag });
        return;
      }
      case 'basic.publish':
        this.pending = {
          exchange: a.exchange,
          routingKey: a.routingKey,
          mandatory: a.mandatory,
          immediate: a.immediate,
          chunks: [],
          received: 0,
        };
        return;
      case 'basic.get':
        return this.get(a.queue, a.noAck);
      case 'basic.ack':
        return this.txOr(() => this.ack(a.deliveryTag, a.multiple));
      case 'basic.reject':
        return this.txOr(() => this.nack(a.deliveryTag, false, a.requeue));
      case 'basic.nack':
        return this.txOr(() => this.nack(a.deliveryTag, a.multiple, a.requeue));
      case 'basic.recover-async':
      case 'basic.recover':
        this.requeueAll();
        if (m.name === 'basic.recover') this.conn.sendMethod(this.id, 'basic.recover-ok');
        return;
      case 'confirm.select':
        if (this.tx) throw preconditionFailed('cannot switch from tx to confirm mode');
        this.confirms ??= new ConfirmTracker((ack, seq, multiple) =>
          this.conn.sendMethod(this.id, ack ? 'basic.ack' : 'basic.nack', { deliveryTag: seq, multiple, requeue: false }),
        );
        if (!a.noWait) this.conn.sendMethod(this.id, 'confirm.select-ok');
        return;
      case 'tx.select':
        if (this.confirms) throw preconditionFailed('cannot switch from confirm to tx mode');
        this.tx ??= [];
        this.conn.sendMethod(this.id, 'tx.select-ok');
        return;
      case 'tx.commit':
        return this.commit();
      case 'tx.rollback':
        if (!this.tx) throw preconditionFailed('channel is not transactional');
        this.tx = [];
        this.conn.sendMethod(this.id, 'tx.rollback-ok');
        return;
      case 'channel.open':
        throw new AmqpError(ReplyCode.channelError, `second 'channel.open' seen on channel ${this.id}`);
      default:
        throw commandInvalid(`unexpected method ${m.name} on a channel`);
    }
  }

  /** Sends the `-ok` reply once an async step completed (unless no-wait). */
  private after(p: Promise<unknown>, noWait: boolean, ok: string, args?: Record<string, unknown>): Promise<void> {
    return p.then(() => {
      if (!noWait) this.conn.sendMethod(this.id, ok, args);
    });
  }

  private exchangeDeclare(a: Record<string, unknown>): Promise<void> {
    const args = (a.arguments as FieldTable) ?? {};
    if (args['alternate-exchange'] !== undefined && typeof args['alternate-exchange'] !== 'string') {
      throw preconditionFailed(`invalid arg 'alternate-exchange': ${JSON.stringify(args['alternate-exchange'])}`);
    }
    const spec = {
      name: a.exchange as string,
      type: a.type as ExchangeType,
      durable: a.durable as boolean,
      autoDelete: a.autoDelete as boolean,
      internal: a.internal as boolean,
      args,
    };
    return this.after(
      this.broker.declareExchange(this.vhost, spec, a.passive as boolean),
      a.noWait as boolean,
      'exchange.declare-ok',
    );
  }

  private exchangeBind(bind: boolean, a: Record<string, unknown>): Promise<void> {
    const dest = this.exchange(a.destination as string);
    const source = this.exchange(a.source as string);
    if (dest.name === '' || source.name === '') throw accessRefused('operation not permitted on the default exchange');
    const args = (a.arguments as FieldTable) ?? {};
    const key = a.routingKey as string;
    const op = bind
      ? this.broker.bind(this.vhost, source, dest, key, args)
      : this.broker.unbind(this.vhost, source, dest, key, args);
    return this.after(op, a.noWait as boolean, bind ? 'exchange.bind-ok' : 'exchange.unbind-ok');
  }

  private async queueDeclare(a: Record<string, unknown>): Promise<void> {
    const spec = {
      name: a.queue as string,
      durable: a.durable as boolean,
      exclusive: a.exclusive as boolean,
      autoDelete: a.autoDelete as boolean,
      args: (a.arguments as FieldTable) ?? {},
    };
    const q = await this.broker.declareQueue(this.vhost, spec, a.passive as boolean, this.conn);
    if (q.spec.exclusive && q.owner?.id === this.conn.id) this.conn.exclusiveQueues.add(q);
    this.lastQueue = q.name;
    if (!a.noWait) {
      this.conn.sendMethod(this.id, 'queue.declare-ok', {
        queue: q.name,
        messageCount: q.messageCount,
        consumerCount: q.consumers.length,
      });
    }
  }

  private queueBind(bind: boolean, a: Record<string, unknown>): MaybePromise<void> {
    const q = this.queue(a.queue as string);
    const source = this.exchange(a.exchange as string);
    if (source.name === '') throw accessRefused('operation not permitted on the default exchange');
    let key = a.routingKey as string;
    if (key === '' && a.queue === '') key = this.lastQueue;
    const args = (a.arguments as FieldTable) ?? {};
    const run = () =>
      bind ? this.broker.bind(this.vhost, source, q, key, args) : this.broker.unbind(this.vhost, source, q, key, args);
    const ok = bind ? 'queue.bind-ok' : 'queue.unbind-ok';
    const noWait = bind ? (a.noWait as boolean) : false;
    if (!bind) return this.after(run(), noWait, ok);
    const resource = source.bridge ? bindingFilter(source.prefix, true, 'topic', key).filter : `${source.name}/${key}`;
    return this.authorized('subscribe', resource, () => this.after(run(), noWait, ok));
  }

  // ------------------------------------------------------------------ lookups

  private exchange(name: string): Exchange {
    return this.broker.exchange(this.vhost.name, name);
  }

  private queue(name: string): Queue {
    if (name === '') {
      if (this.lastQueue === '') throw notFound('no previously declared queue');
      name = this.lastQueue;
    }
    return this.broker.queue(this.vhost.name, name, this.conn);
  }

  /** Runs `fn` if the authorize hook allows `action` on `resource` (403 otherwise). */
  private authorized<T>(
    action: 'publish' | 'subscribe' | 'consume',
    resource: string,
    fn: () => MaybePromise<T>,
  ): MaybePromise<T> {
    const hooks = this.conn.server.hooks;
    if (!hooks.has('authorize')) return fn();
    const r = hooks.authorize({
      protocol: 'amqp',
      clientId: this.conn.clientId,
      principal: this.conn.principal,
      action,
      resource,
    });
    const decide = (v: unknown) => {
      if (v === 'deny') throw accessRefused(`access to ${action} '${resource}' refused for user '${this.conn.username}'`);
      return fn();
    };
    return isPromise(r) ? r.then(decide) : decide(r);
  }

  // ------------------------------------------------------------------ publish

  private completePublish(): MaybePromise<void> {
    const p = this.pending!;
    this.pending = undefined;
    const body = p.chunks.length === 1 ? p.chunks[0] : Buffer.concat(p.chunks, p.received);
    const props = p.header!.properties;
    // Frames are views of a socket chunk: copy so the message does not pin it.
    const owned = Buffer.from(body);
    if (this.tx) {
      this.tx.push(() => this.publish(p, props, owned, 0));
      return;
    }
    return this.publish(p, props, owned, this.confirms ? this.confirms.next() : 0);
  }

  private publish(p: PendingPublish, props: BasicProperties, body: Buffer, seq: number): MaybePromise<void> {
    const fail = (err: unknown): never => {
      if (seq && this.confirms) this.confirms.settle(seq, false);
      throw err;
    };
    if (p.immediate) return fail(notImplemented('immediate=true'));
    let x: Exchange;
    try {
      x = this.exchange(p.exchange);
    } catch (err) {
      return fail(err);
    }
    if (x.spec.internal)
      return fail(accessRefused(`cannot publish to internal exchange '${x.name}' in vhost '${this.vhost.name}'`));
    if (props.userId !== undefined && props.userId !== this.conn.username) {
      return fail(
        preconditionFailed(`user_id property set to '${props.userId}' but authenticated user was '${this.conn.username}'`),
      );
    }
    this.conn.publisher = true;
    const server = this.conn.server;
    server.countIn(body.length);
    if (props.replyTo === REPLY_TO) {
      if (!this.reply) return fail(preconditionFailed('fast reply consumer does not exist'));
      props = { ...props, replyTo: this.reply.name };
    }
    if (x.name === '' && p.routingKey.startsWith(REPLY_TO_PREFIX)) {
      const target = server.replies.get(p.routingKey);
      if (target) target.deliverReply(p.routingKey, props, body);
      else if (p.mandatory) this.returnUnroutable(p, props, body);
      if (seq && this.confirms) this.confirms.settle(seq, true);
      return;
    }
    const resource = x.bridge ? x.topicFor(p.routingKey) : x.name;
    const route = (): MaybePromise<void> => {
      const origin = { protocol: 'amqp', clientId: this.conn.clientId, principal: this.conn.principal };
      const ctx = this.broker.publish(x, p.routingKey, props, body, origin);
      return isPromise(ctx) ? ctx.then((c) => this.routed(p, props, body, seq, c)) : this.routed(p, props, body, seq, ctx);
    };
    try {
      const r = this.authorized('publish', resource, route);
      return isPromise(r) ? r.catch(fail) : r;
    } catch (err) {
      return fail(err);
    }
  }

  private returnUnroutable(p: PendingPublish, props: BasicProperties, body: Buffer): void {
    this.conn.sendContent(
      this.id,
      'basic.return',
      { replyCode: ReplyCode.noRoute, replyText: 'NO_ROUTE', exchange: p.exchange, routingKey: p.routingKey },
      props,
      body,
    );
  }

  /** A direct reply for this channel's reply consumer (no queue, no ack). */
  deliverReply(routingKey: string, props: BasicProperties, body: Buffer): void {
    if (!this.reply || this.closing) return;
    this.conn.sendContent(
      this.id,
      'basic.deliver',
      { consumerTag: this.reply.tag, deliveryTag: ++this.deliveryTag, redelivered: false, exchange: '', routingKey },
      props,
      body,
    );
  }

  private routed(p: PendingPublish, props: BasicProperties, body: Buffer, seq: number, ctx: RouteContext): MaybePromise<void> {
    if (p.mandatory && ctx.queues.size === 0) this.returnUnroutable(p, props, body);
    const confirms = this.confirms;
    if (seq === 0 || !confirms)
      return ctx.persist.length > 0 && this.tx ? Promise.all(ctx.persist).then(() => undefined) : undefined;
    if (ctx.rejected) confirms.settle(seq, false);
    else if (ctx.persist.length === 0) confirms.settle(seq, true);
    else
      Promise.all(ctx.persist).then(
        () => confirms.settle(seq, true),
        () => confirms.settle(seq, false),
      );
  }

  private async commit(): Promise<void> {
    if (!this.tx) throw preconditionFailed('channel is not transactional');
    const ops = this.tx;
    this.tx = [];
    for (const op of ops) await op();
    this.conn.sendMethod(this.id, 'tx.commit-ok');
  }

  private txOr(fn: () => void): void {
    if (this.tx) this.tx.push(fn);
    else fn();
  }

  // ------------------------------------------------------------------ consume

  private consume(a: Record<string, unknown>): MaybePromise<void> {
    let tag = a.consumerTag as string;
    if (tag === '') tag = `amq.ctag-${randomBytes(16).toString('base64url')}`;
    else if (this.consumers.has(tag) || this.reply?.tag === tag) throw notAllowed(`attempt to reuse consumer tag '${tag}'`);
    if (a.queue === REPLY_TO) {
      if (!a.noAck) throw preconditionFailed('reply consumer cannot acknowledge');
      if (this.reply) throw preconditionFailed('reply consumer already set');
      this.reply = { tag, name: this.conn.server.replies.add(this) };
      if (!a.noWait) this.conn.sendMethod(this.id, 'basic.consume-ok', { consumerTag: tag });
      return;
    }
    const q = this.queue(a.queue as string);
    return this.authorized('consume', q.name, () => {
      if (q.consumers.some((c) => c.exclusive) || (a.exclusive && q.consumers.length > 0)) {
        throw accessRefused(`queue '${q.name}' in vhost '${this.vhost.name}' in exclusive use`);
      }
      if (q.deleted) throw notFound(`no queue '${q.name}' in vhost '${this.vhost.name}'`);
      const c: Consumer = {
        tag,
        channel: this,
        queue: q,
        noAck: a.noAck as boolean,
        exclusive: a.exclusive as boolean,
        prefetch: this.consumerPrefetch,
        priority: consumerPriority((a.arguments as FieldTable | undefined)?.['x-priority']),
        unacked: 0,
      };
      this.consumers.set(tag, c);
      if (!a.noWait) this.conn.sendMethod(this.id, 'basic.consume-ok', { consumerTag: tag });
      q.addConsumer(c);
    });
  }

  canDeliver(c: Consumer): boolean {
    if (this.closing || !this.flowActive || !this.conn.canWrite()) return false;
    if (c.noAck) return true;
    return (
      (c.prefetch === 0 || c.unacked < c.prefetch) && (this.channelPrefetch === 0 || this.unacked.size < this.channelPrefetch)
    );
  }

  deliver(c: Consumer, e: Entry, q: Queue): void {
    const tag = ++this.deliveryTag;
    if (!c.noAck) this.unacked.set(tag, { queue: q, entry: e, consumer: c });
    const m = e.message;
    this.conn.sendContent(
      this.id,
      'basic.deliver',
      { consumerTag: c.tag, deliveryTag: tag, redelivered: e.redelivered, exchange: e.exchange, routingKey: e.routingKey },
      toProperties(m),
      m.payload,
    );
    this.conn.server.countOut(m, c.tag);
  }

  cancelledByServer(c: Consumer): void {
    this.consumers.delete(c.tag);
    if (this.conn.capabilities.consumer_cancel_notify === true) {
      this.conn.sendMethod(this.id, 'basic.cancel', { consumerTag: c.tag, noWait: true });
    }
  }

  private get(queue: string, noAck: boolean): MaybePromise<void> {
    const q = this.queue(queue);
    return this.authorized('consume', q.name, () => {
      const e = q.get(noAck);
      if (!e) {
        this.conn.sendMethod(this.id, 'basic.get-empty', { reserved1: '' });
        return;
      }
      const tag = ++this.deliveryTag;
      if (!noAck) this.unacked.set(tag, { queue: q, entry: e });
      this.conn.sendContent(
        this.id,
        'basic.get-ok',
        {
          deliveryTag: tag,
          redelivered: e.redelivered,
          exchange: e.exchange,
          routingKey: e.routingKey,
          messageCount: q.messageCount,
        },
        toProperties(e.message),
        e.message.payload,
      );
      this.conn.server.countOut(e.message, `get:${this.id}`);
    });
  }

  // ------------------------------------------------------------------ acknowledgements

  /** Removes the unacked entries an ack/nack names (throws 406 for an unknown tag). */
  private take(tag: number, multiple: boolean): Unacked[] {
    if (multiple) {
      const out: Unacked[] = [];
      for (const [t, u] of this.unacked) {
        if (tag !== 0 && t > tag) break;
        out.push(u);
        this.unacked.delete(t);
      }
      return out;
    }
    const u = this.unacked.get(tag);
    if (!u) throw preconditionFailed(`unknown delivery tag ${tag}`);
    this.unacked.delete(tag);
    return [u];
  }

  private ack(tag: number, multiple: boolean): void {
    for (const u of this.take(tag, multiple)) {
      u.queue.settle(u.entry);
      u.queue.released(u.consumer);
    }
  }

  private nack(tag: number, multiple: boolean, requeue: boolean): void {
    const list = this.take(tag, multiple);
    if (requeue) {
      for (let i = list.length - 1; i >= 0; i--) {
        list[i].queue.requeue(list[i].entry);
        list[i].queue.released(list[i].consumer);
      }
      return;
    }
    for (const u of list) {
      u.queue.deadLetter(u.entry, 'rejected');
      u.queue.settle(u.entry);
      u.queue.released(u.consumer);
    }
  }

  /** Puts every unacked message back on its queue, oldest first at the head. */
  private requeueAll(): void {
    const list = [...this.unacked.values()];
    this.unacked.clear();
    for (let i = list.length - 1; i >= 0; i--) {
      list[i].queue.requeue(list[i].entry);
      list[i].queue.released(list[i].consumer);
    }
  }

  /** Socket drained, prefetch or flow changed: let the consumers' queues dispatch again. */
  resumeDeliveries(): void {
    for (const c of this.consumers.values()) c.queue.scheduleDispatch();
  }

  /** Channel or connection closing: cancel consumers, requeue unacked (marked redelivered). */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.reply) this.conn.server.replies.remove(this.reply.name);
    this.reply = undefined;
    for (const c of this.consumers.values()) c.queue.removeConsumer(c);
    this.consumers.clear();
    this.requeueAll();
    this.tx = undefined;
    this.pending = undefined;
  }
}

function consumerPriority(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw preconditionFailed(`invalid arg 'x-priority': ${JSON.stringify(v)}`);
  return v;
}

function ids(err: unknown, m: { classId: number; methodId: number }): unknown {
  if (err instanceof AmqpError && err.classId === 0) {
    err.classId = m.classId;
    err.methodId = m.methodId;
  }
  return err;
}
