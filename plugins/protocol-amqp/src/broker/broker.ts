/**
 * The AMQP model on top of the kernel: virtual hosts with their exchanges, queues and bindings,
 * routing through the kernel router, dead-lettering, and durable topology in the MetaStore.
 */
import { randomBytes } from 'node:crypto';
import {
  type AttachOptions,
  type Clock,
  type Delivery,
  type HeaderValue,
  type HookBus,
  isPromise,
  type Logger,
  type LogStore,
  type MaybePromise,
  type Message,
  type MetaStore,
  type Origin,
  type PublishResult,
  publishMessage,
  putJson,
  type Router,
  type StoredRecord,
  type Subscriber,
  type SubscriberHandle,
  type SubscriptionOptions,
} from '@robustmq/sdk';
import { ReplyCode } from '../codec/constants.js';
import type { FieldTable, FieldValue } from '../codec/field-table.js';
import type { BasicProperties } from '../codec/frames.js';
import { AmqpError, accessRefused, notFound, preconditionFailed, resourceLocked } from '../errors.js';
import { type Binding, bindingId } from './binding.js';
import { DurableLog, queueLogTopic } from './durable-log.js';
import { Exchange, type ExchangeSpec } from './exchange.js';
import { headersMatch, validXMatch } from './headers-match.js';
import { AmqpHeaders, headersTable, toMessage, withHeadersTable } from './message-map.js';
import { DEAD_LETTER_PATH, type DeadLettered, type Entry, Queue, type QueueOwner, type QueueSpec } from './queue.js';
import { bindingFilter, type ExchangeType, swapSeparators, topicPatternMatches } from './topic-map.js';

/** What one publish reached: queues, persistence to wait for before confirming, overflow refusals. */
export class RouteContext {
  readonly queues = new Set<Queue>();
  readonly persist: Promise<unknown>[] = [];
  rejected = false;
  readonly work: Array<[Exchange, Message]> = [];
  readonly visited = new Set<Exchange>();
}

export class VirtualHost {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  constructor(readonly name: string) {}
}

export interface BrokerDeps {
  router: Router;
  hooks: HookBus;
  logger: Logger;
  clock: Clock;
  /** Undefined when no storage is available (then durable means "declared durable", kept in memory). */
  logStore?: LogStore;
  metaStore?: MetaStore;
  ackFlushMs: number;
}

const EXCHANGE_TYPES = new Set(['direct', 'fanout', 'topic', 'headers']);
const PREDECLARED: Array<[string, ExchangeType]> = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];
const QUEUE_ARGS_COMPARED = [
  'x-message-ttl',
  'x-expires',
  'x-max-length',
  'x-max-length-bytes',
  'x-overflow',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-single-active-consumer',
  'x-max-priority',
  'x-queue-type',
  'x-delivery-limit',
];

const enc = encodeURIComponent;
const tableCache = new WeakMap<Message, FieldTable>();
function cachedTable(m: Message): FieldTable {
  let t = tableCache.get(m);
  if (t === undefined) {
    t = headersTable(m);
    tableCache.set(m, t);
  }
  return t;
}

/** The routing key of a message: the AMQP one, or the MQTT topic mapped `/` → `.`. */
export function routingKeyOf(m: Message): string {
  const rk = m.headers[AmqpHeaders.routingKey];
  return typeof rk === 'string' ? rk : swapSeparators(m.topic);
}

/**
 * A Router facade handed to `publishMessage`: its `publish` routes inside a {@link RouteContext}
 * (queues reached, exchange-to-exchange hops, alternate exchanges).
 */
class ContextRouter implements Router {
  constructor(
    private readonly broker: AmqpBroker,
    private readonly ctx: RouteContext,
    private readonly exchange: Exchange,
  ) {}
  publish(m: Message): PublishResult {
    return this.broker.routeWith(this.ctx, this.exchange, m);
  }
  attach(s: Subscriber, o?: AttachOptions): SubscriberHandle {
    return this.broker.router.attach(s, o);
  }
  detach(id: string): void {
    this.broker.router.detach(id);
  }
  subscribe(id: string, f: string, o?: SubscriptionOptions): boolean {
    return this.broker.router.subscribe(id, f, o);
  }
  unsubscribe(id: string, f: string): boolean {
    return this.broker.router.unsubscribe(id, f);
  }
  match(topic: string): Delivery[] {
    return this.broker.router.match(topic);
  }
  hasSubscribers(topic: string): boolean {
    return this.broker.router.hasSubscribers(topic);
  }
  get size(): number {
    return this.broker.router.size;
  }
}

export class AmqpBroker {
  /** The publish being routed right now (router deliveries are synchronous). */
  current: RouteContext | undefined;
  readonly vhosts = new Map<string, VirtualHost>();
  readonly router: Router;
  readonly hooks: HookBus;
  readonly logger: Logger;
  readonly clock: Clock;
  private readonly logStore: LogStore | undefined;
  private readonly metaStore: MetaStore | undefined;
  private readonly ackFlushMs: number;

  constructor(deps: BrokerDeps) {
    this.router = deps.router;
    this.hooks = deps.hooks;
    this.logger = deps.logger;
    this.clock = deps.clock;
    this.logStore = deps.logStore;
    this.metaStore = deps.metaStore;
    this.ackFlushMs = deps.ackFlushMs;
  }

  /** The vhost, created with its predeclared exchanges on first use. */
  vhost(name: string): VirtualHost {
    let vh = this.vhosts.get(name);
    if (vh) return vh;
    vh = new VirtualHost(name);
    this.vhosts.set(name, vh);
    for (const [x, type] of PREDECLARED) {
      this.addExchange(vh, { name: x, type, durable: true, autoDelete: false, internal: false, args: {} });
    }
    return vh;
  }

  private addExchange(vh: VirtualHost, spec: ExchangeSpec): Exchange {
    const x = new Exchange(this, vh.name, spec);
    vh.exchanges.set(spec.name, x);
    this.router.attach(x);
    return x;
  }

  // ------------------------------------------------------------------ routing

  /** Publishes a message from an AMQP client to `exchange` (filters, router, `published` hook). */
  publish(
    exchange: Exchange,
    routingKey: string,
    props: BasicProperties,
    body: Buffer,
    origin: Origin,
  ): MaybePromise<RouteContext> {
    const m = toMessage(exchange.topicFor(routingKey), exchange.name, routingKey, props, body, origin, this.clock.now());
    const ctx = new RouteContext();
    const out = publishMessage(this.hooks, new ContextRouter(this, ctx, exchange), m);
    return isPromise(out) ? out.then(() => ctx) : ctx;
  }

  /** Routes `m` (already on `exchange`'s topic) and everything it leads to, inside `ctx`. */
  routeWith(ctx: RouteContext, exchange: Exchange, m: Message): PublishResult {
    const prev = this.current;
    this.current = ctx;
    try {
      ctx.visited.add(exchange);
      const result = this.router.publish(m);
      this.drain(ctx);
      let x: Exchange | undefined = exchange;
      while (ctx.queues.size === 0 && x?.alternateExchange !== undefined) {
        const ae: Exchange | undefined = this.vhosts.get(x.vhost)?.exchanges.get(x.alternateExchange);
        if (ae === undefined || ctx.visited.has(ae)) break;
        ctx.work.push([ae, m]);
        this.drain(ctx);
        x = ae;
      }
      return result;
    } finally {
      this.current = prev;
    }
  }

  private drain(ctx: RouteContext): void {
    while (ctx.work.length > 0) {
      const [x, m] = ctx.work.shift()!;
      if (ctx.visited.has(x)) continue;
      ctx.visited.add(x);
      this.router.publish({ ...m, topic: x.topicFor(routingKeyOf(m)) });
    }
  }

  /** An exchange received a message through an exchange-to-exchange binding. */
  forward(x: Exchange, m: Message): void {
    if (this.current !== undefined) this.current.work.push([x, m]);
    // Arrived from another protocol's publish: route after the router call returns.
    else queueMicrotask(() => this.routeInternal(x, m));
  }

  /** Routes a message produced by the broker itself (dead letters, forwarded messages). */
  routeInternal(x: Exchange, m: Message): RouteContext {
    const ctx = new RouteContext();
    this.routeWith(ctx, x, { ...m, topic: x.topicFor(routingKeyOf(m)) });
    return ctx;
  }

  /** Republishes a message to the queue's dead-letter exchange with an `x-death` record. */
  deadLetter(q: Queue, e: Entry, reason: string, dlxName: string, routingKey: string): void {
    const dlx = this.vhosts.get(q.vhost)?.exchanges.get(dlxName);
    if (dlx === undefined) return;
    const table = { ...headersTable(e.message) };
    const deaths = Array.isArray(table['x-death']) ? [...(table['x-death'] as FieldTable[])] : [];
    const i = deaths.findIndex((d) => d.queue === q.name && d.reason === reason);
    const now = new Date(this.clock.now());
    let death: FieldTable;
    if (i >= 0) {
      death = { ...deaths[i], count: Number(deaths[i].count ?? 0) + 1, time: now };
      deaths.splice(i, 1);
    } else {
      death = { count: 1, reason, queue: q.name, time: now, exchange: e.exchange, 'routing-keys': [e.routingKey] };
    }
    deaths.unshift(death);
    table['x-death'] = deaths;
    table['x-first-death-reason'] ??= reason;
    table['x-first-death-queue'] ??= q.name;
    table['x-first-death-exchange'] ??= e.exchange;
    const m = withHeadersTable(e.message, table, dlxName, routingKey, dlx.topicFor(routingKey));
    // Remember where it died so a queue it died in before drops it instead of cycling forever.
    (m as DeadLettered)[DEAD_LETTER_PATH] = {
      queues: new Set(deaths.map((d) => String(d.queue))),
      rejected: deaths.some((d) => d.reason === 'rejected'),
    };
    // Never re-enter the router from inside a delivery.
    queueMicrotask(() => this.routeInternal(dlx, m));
  }

  // ------------------------------------------------------------------ exchanges

  exchange(vhost: string, name: string): Exchange {
    const x = this.vhosts.get(vhost)?.exchanges.get(name);
    if (!x) throw notFound(`no exchange '${name}' in vhost '${vhost}'`);
    return x;
  }

  async declareExchange(vh: VirtualHost, spec: ExchangeSpec, passive: boolean): Promise<Exchange> {
    const existing = vh.exchanges.get(spec.name);
    if (passive) {
      if (!existing) throw notFound(`no exchange '${spec.name}' in vhost '${vh.name}'`);
      return existing;
    }
    if (!EXCHANGE_TYPES.has(spec.type)) throw new AmqpError(ReplyCode.commandInvalid, `invalid exchange type '${spec.type}'`);
    if (spec.name === '') throw accessRefused(`operation not permitted on the default exchange`);
    if (existing) {
      const e = existing.spec;
      for (const k of ['type', 'durable', 'autoDelete', 'internal'] as const) {
        if (e[k] !== spec[k]) throw inequivalent(argName(k), 'exchange', spec.name, vh.name, spec[k], e[k]);
      }
      if (!sameArg(e.args['alternate-exchange'], spec.args['alternate-exchange'])) {
        throw inequivalent(
          'alternate-exchange',
          'exchange',
          spec.name,
          vh.name,
          spec.args['alternate-exchange'],
          e.args['alternate-exchange'],
        );
      }
      return existing;
    }
    if (spec.name.startsWith('amq.')) throw accessRefused(`exchange name '${spec.name}' contains reserved prefix 'amq.*'`);
    const x = this.addExchange(vh, spec);
    if (spec.durable) await this.metaPut(exchangeKey(vh.name, spec.name), spec);
    return x;
  }

  async deleteExchange(vh: VirtualHost, name: string, ifUnused: boolean): Promise<void> {
    if (name === '' || name.startsWith('amq.')) throw accessRefused(`operation not permitted on exchange '${name}'`);
    const x = vh.exchanges.get(name);
    if (!x) return;
    if (ifUnused && x.outgoing.size > 0) throw preconditionFailed(`exchange '${name}' in vhost '${vh.name}' in use`);
    await this.removeExchange(vh, x);
  }

  private async removeExchange(vh: VirtualHost, x: Exchange): Promise<void> {
    x.deleted = true;
    vh.exchanges.delete(x.name);
    for (const b of [...x.outgoing]) await this.removeBinding(vh, b, false);
    for (const b of x.inbound.all()) await this.removeBinding(vh, b, false);
    this.router.detach(x.id);
    if (x.spec.durable) await this.metaDelete(exchangeKey(vh.name, x.name));
  }

  // ------------------------------------------------------------------ bindings

  /** Binds `destination` to `source`. Idempotent for an identical binding. */
  async bind(
    vh: VirtualHost,
    source: Exchange,
    destination: Queue | Exchange,
    key: string,
    args: FieldTable,
    persist = true,
  ): Promise<void> {
    if (source.spec.type === 'headers' && !validXMatch(args['x-match'])) {
      throw preconditionFailed(`invalid x-match field value ${JSON.stringify(args['x-match'])}`);
    }
    const id = bindingId(source.name, key, args);
    if (destination.inbound.byId.has(id)) return;
    const { filter, needsCheck } = bindingFilter(source.prefix, source.bridge, source.spec.type, key);
    const b: Binding = { source, destination, key, args, filter };
    if (source.spec.type === 'headers') b.check = (m) => headersMatch(args, cachedTable(m));
    else if (needsCheck) b.check = (m) => topicPatternMatches(key, routingKeyOf(m));
    if (destination.inbound.add(id, b)) {
      try {
        this.router.subscribe(destination.id, filter, { qos: 1 });
      } catch (err) {
        destination.inbound.remove(id);
        throw preconditionFailed(`invalid routing key '${key}': ${(err as Error).message}`);
      }
    }
    source.outgoing.add(b);
    if (persist && source.spec.durable && destination.spec.durable && !isExclusive(destination)) {
      await this.metaPut(bindingKey(vh.name, b), {
        vhost: vh.name,
        source: source.name,
        destination: destination.name,
        kind: destination instanceof Queue ? 'queue' : 'exchange',
        key,
        args,
      });
    }
  }

  async unbind(vh: VirtualHost, source: Exchange, destination: Queue | Exchange, key: string, args: FieldTable): Promise<void> {
    const b = destination.inbound.byId.get(bindingId(source.name, key, args));
    if (b) await this.removeBinding(vh, b, true);
  }

  private async removeBinding(vh: VirtualHost, b: Binding, autoDeleteSource: boolean): Promise<void> {
    const dest = b.destination;
    dest.inbound.remove(bindingId(b.source.name, b.key, b.args));
    if (dest.inbound.filterUnused(b.filter)) this.router.unsubscribe(dest.id, b.filter);
    b.source.outgoing.delete(b);
    if (b.source.spec.durable && dest.spec.durable) await this.metaDelete(bindingKey(vh.name, b));
    if (autoDeleteSource && b.source.spec.autoDelete && b.source.outgoing.size === 0 && !b.source.deleted) {
      await this.removeExchange(vh, b.source);
    }
  }

  // ------------------------------------------------------------------ queues

  /** The queue, checking exclusive ownership. */
  queue(vhost: string, name: string, owner: QueueOwner): Queue {
    const q = this.vhosts.get(vhost)?.queues.get(name);
    if (!q) throw notFound(`no queue '${name}' in vhost '${vhost}'`);
    checkOwner(q, owner);
    return q;
  }

  async declareQueue(vh: VirtualHost, spec: QueueSpec, passive: boolean, owner: QueueOwner): Promise<Queue> {
    const existing = vh.queues.get(spec.name);
    if (passive) {
      if (!existing) throw notFound(`no queue '${spec.name}' in vhost '${vh.name}'`);
      checkOwner(existing, owner);
      return existing;
    }
    if (spec.name === '') spec.name = `amq.gen-${randomBytes(16).toString('base64url')}`;
    else if (spec.name.startsWith('amq.') && !existing) {
      throw accessRefused(`queue name '${spec.name}' contains reserved prefix 'amq.*'`);
    }
    if (existing) {
      checkOwner(existing, owner);
      const e = existing.spec;
      for (const k of ['durable', 'exclusive', 'autoDelete'] as const) {
        if (e[k] !== spec[k]) throw inequivalent(argName(k), 'queue', spec.name, vh.name, spec[k], e[k]);
      }
      for (const k of QUEUE_ARGS_COMPARED) {
        if (!sameArg(e.args[k], spec.args[k])) throw inequivalent(k, 'queue', spec.name, vh.name, spec.args[k], e.args[k]);
      }
      existing.touch();
      return existing;
    }
    validateQueueArgs(spec, vh.name);
    const q = await this.createQueue(vh, spec, spec.exclusive ? owner : undefined, true);
    return q;
  }

  private async createQueue(vh: VirtualHost, spec: QueueSpec, owner: QueueOwner | undefined, persist: boolean): Promise<Queue> {
    const q = new Queue(this, vh.name, spec);
    q.owner = owner;
    vh.queues.set(spec.name, q);
    this.router.attach(q);
    const dx = vh.exchanges.get('')!;
    await this.bind(vh, dx, q, spec.name, {}, false);
    if (spec.durable && !spec.exclusive && this.logStore && this.metaStore) {
      q.log = new DurableLog(
        this.logStore,
        this.metaStore,
        queueLogTopic(vh.name, spec.name),
        ackKey(vh.name, spec.name),
        this.ackFlushMs,
        this.logger,
      );
      await q.log.open();
      if (persist) await this.metaPut(queueKey(vh.name, spec.name), spec);
    }
    q.touch();
    return q;
  }

  async deleteQueue(q: Queue, ifUnused = false, ifEmpty = false): Promise<number> {
    if (q.deleted) return 0;
    if (ifUnused && q.consumers.length > 0) throw preconditionFailed(`queue '${q.name}' in vhost '${q.vhost}' in use`);
    if (ifEmpty && q.messageCount > 0) throw preconditionFailed(`queue '${q.name}' in vhost '${q.vhost}' is not empty`);
    const vh = this.vhosts.get(q.vhost)!;
    const count = q.messageCount;
    q.dispose();
    vh.queues.delete(q.name);
    for (const c of [...q.consumers]) c.channel.cancelledByServer(c);
    q.consumers.length = 0;
    for (const b of q.inbound.all()) if (b.source.name !== '') await this.removeBinding(vh, b, true);
    this.router.detach(q.id);
    if (q.log) {
      await this.metaDelete(queueKey(vh.name, q.name));
      await q.log
        .destroy()
        .catch((err) => this.logger.warn({ err: (err as Error).message }, 'amqp: deleting a queue log failed'));
    }
    return count;
  }

  // ------------------------------------------------------------------ durability

  /** Loads durable exchanges, queues (with their unsettled messages) and bindings. */
  async load(): Promise<void> {
    const meta = this.metaStore;
    if (!meta) return;
    const parse = <T>(v: Buffer) => JSON.parse(v.toString('utf8')) as T;
    for (const { key, value } of await meta.scan('amqp/exchanges/')) {
      const vh = this.vhost(decodeURIComponent(key.split('/')[2]));
      const spec = parse<ExchangeSpec>(value);
      if (!vh.exchanges.has(spec.name)) this.addExchange(vh, spec);
    }
    let recovered = 0;
    for (const { key, value } of await meta.scan('amqp/queues/')) {
      const vh = this.vhost(decodeURIComponent(key.split('/')[2]));
      const spec = parse<QueueSpec>(value);
      if (vh.queues.has(spec.name)) continue;
      const q = await this.createQueue(vh, spec, undefined, false);
      await q.log?.recover((r) => {
        q.restore(fromRecord(r));
        recovered++;
      });
    }
    for (const { value } of await meta.scan('amqp/bindings/')) {
      const b = parse<{
        vhost: string;
        source: string;
        destination: string;
        kind: 'queue' | 'exchange';
        key: string;
        args: FieldTable;
      }>(value);
      const vh = this.vhosts.get(b.vhost);
      const source = vh?.exchanges.get(b.source);
      const dest = b.kind === 'queue' ? vh?.queues.get(b.destination) : vh?.exchanges.get(b.destination);
      if (vh && source && dest) await this.bind(vh, source, dest, b.key, b.args, false);
    }
    if (this.vhosts.size > 0) this.logger.info({ vhosts: [...this.vhosts.keys()], recovered }, 'amqp: durable topology loaded');
  }

  /** Writes pending ack state and stops queue timers. */
  async close(): Promise<void> {
    for (const vh of this.vhosts.values()) {
      for (const q of vh.queues.values()) {
        q.dispose();
        await q.log?.close().catch(() => undefined);
        this.router.detach(q.id);
      }
      for (const x of vh.exchanges.values()) this.router.detach(x.id);
    }
  }

  private async metaPut(key: string, value: unknown): Promise<void> {
    if (this.metaStore) await putJson(this.metaStore, key, value);
  }

  private async metaDelete(key: string): Promise<void> {
    if (this.metaStore) await this.metaStore.delete(key);
  }
}

function isExclusive(d: Queue | Exchange): boolean {
  return d instanceof Queue && d.spec.exclusive;
}

function checkOwner(q: Queue, owner: QueueOwner): void {
  if (q.owner !== undefined && q.owner.id !== owner.id) {
    throw resourceLocked(`cannot obtain exclusive access to locked queue '${q.name}' in vhost '${q.vhost}'`);
  }
}

function argName(k: string): string {
  return k === 'autoDelete' ? 'auto_delete' : k;
}

function sameArg(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function inequivalent(arg: string, kind: string, name: string, vhost: string, received: unknown, current: unknown): AmqpError {
  const show = (v: unknown) => (v === undefined ? 'none' : String(v));
  return preconditionFailed(
    `inequivalent arg '${arg}' for ${kind} '${name}' in vhost '${vhost}': received '${show(received)}' but current is '${show(current)}'`,
  );
}

function validateQueueArgs(spec: QueueSpec, vhost: string): void {
  const a = spec.args;
  const bad = (k: string) =>
    preconditionFailed(`invalid arg '${k}' for queue '${spec.name}' in vhost '${vhost}': ${JSON.stringify(a[k])}`);
  const nonNegInt = (k: string) =>
    a[k] === undefined || (typeof a[k] === 'number' && Number.isInteger(a[k]) && (a[k] as number) >= 0);
  for (const k of ['x-message-ttl', 'x-max-length', 'x-max-length-bytes']) if (!nonNegInt(k)) throw bad(k);
  if (a['x-expires'] !== undefined && !(nonNegInt('x-expires') && (a['x-expires'] as number) > 0)) throw bad('x-expires');
  if (
    a['x-overflow'] !== undefined &&
    !['drop-head', 'reject-publish', 'reject-publish-dlx'].includes(a['x-overflow'] as string)
  ) {
    throw bad('x-overflow');
  }
  if (a['x-dead-letter-exchange'] !== undefined && typeof a['x-dead-letter-exchange'] !== 'string')
    throw bad('x-dead-letter-exchange');
  if (a['x-dead-letter-routing-key'] !== undefined) {
    if (typeof a['x-dead-letter-routing-key'] !== 'string') throw bad('x-dead-letter-routing-key');
    if (a['x-dead-letter-exchange'] === undefined) {
      throw preconditionFailed(
        `invalid arg 'x-dead-letter-routing-key' for queue '${spec.name}': x-dead-letter-exchange is not set`,
      );
    }
  }
  if (a['x-single-active-consumer'] !== undefined && typeof a['x-single-active-consumer'] !== 'boolean') {
    throw bad('x-single-active-consumer');
  }
  const mp = a['x-max-priority'];
  if (mp !== undefined && !(typeof mp === 'number' && Number.isInteger(mp) && mp >= 1 && mp <= 255)) throw bad('x-max-priority');
  const type = a['x-queue-type'];
  if (type !== undefined && type !== 'classic' && type !== 'quorum') throw bad('x-queue-type');
  if (type === 'quorum') {
    // Same rules as RabbitMQ's quorum queues (stored here like a durable classic queue).
    for (const [k, v] of [
      ['durable', !spec.durable],
      ['exclusive', spec.exclusive],
      ['auto_delete', spec.autoDelete],
    ] as const) {
      if (v)
        throw preconditionFailed(
          `invalid property '${k}' for queue '${spec.name}' in vhost '${vhost}': quorum queues must be durable, non-exclusive, non-auto-delete`,
        );
    }
  }
  if (!nonNegInt('x-delivery-limit')) throw bad('x-delivery-limit');
}

function exchangeKey(vhost: string, name: string): string {
  return `amqp/exchanges/${enc(vhost)}/${enc(name)}`;
}
function queueKey(vhost: string, name: string): string {
  return `amqp/queues/${enc(vhost)}/${enc(name)}`;
}
function ackKey(vhost: string, name: string): string {
  return `amqp/acks/${enc(vhost)}/${enc(name)}`;
}
function bindingKey(vhost: string, b: Binding): string {
  const kind = b.destination instanceof Queue ? 'q' : 'x';
  return `amqp/bindings/${enc(vhost)}/${kind}/${enc(b.destination.name)}/${enc(bindingId(b.source.name, b.key, b.args))}`;
}

const BINARY_HEADERS = new Set([AmqpHeaders.table, 'correlation-data']);

/** A recovered log record back as a queue entry. */
function fromRecord(r: StoredRecord): Entry {
  const headers: Record<string, HeaderValue> = {};
  let origin: Origin = { protocol: 'amqp', clientId: '' };
  let expiresAt: number | undefined;
  for (const h of r.headers) {
    if (h.value === null) continue;
    if (h.key === 'amqp-origin') origin = JSON.parse(h.value.toString('utf8')) as Origin;
    else if (h.key === 'amqp-expires-at') expiresAt = Number(h.value.toString('utf8'));
    else headers[h.key] = BINARY_HEADERS.has(h.key) ? Buffer.from(h.value) : h.value.toString('utf8');
  }
  const message: Message = {
    topic: '',
    payload: r.value ?? Buffer.alloc(0),
    headers,
    timestamp: r.timestamp,
    durability: 'durable',
    qos: 1,
    origin,
  };
  if (r.key) message.key = r.key;
  const e: Entry = {
    message,
    exchange: String(headers[AmqpHeaders.exchange] ?? ''),
    routingKey: String(headers[AmqpHeaders.routingKey] ?? ''),
    // It may have been delivered before the restart: say so (the flag means "may have been").
    redelivered: true,
    offset: r.offset,
  };
  if (expiresAt !== undefined) e.expiresAt = expiresAt;
  return e;
}
