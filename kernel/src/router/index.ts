import {
  type AttachOptions,
  type Clock,
  type Counter,
  type Delivery,
  type DropPolicy,
  type Gauge,
  type HookBus,
  type Logger,
  type Message,
  MetricNames,
  type Metrics,
  type PublishResult,
  parseSharedFilter,
  type Router,
  type Subscriber,
  type SubscriberHandle,
  type SubscriptionOptions,
  systemClock,
} from '@robustmq/sdk';
import { ShareGroup } from './share-group.js';
import { SubscriberState, type Subscription } from './subscriber-state.js';
import { SubscriptionTrie, type TrieNode } from './trie.js';
import { assertValidTopicFilter } from './topic.js';

export { assertValidTopicFilter, isValidTopicFilter, isValidTopicName } from './topic.js';

/** Options of {@link TopicRouter}. */
export interface TopicRouterOptions {
  /** Deliveries kept per paused subscriber unless `attach` says otherwise. Default 1000. */
  queueLimit?: number;
  /** What a full queue does with one more delivery. Default `drop-oldest`. */
  dropPolicy?: DropPolicy;
  /** Receives `dropped` notifications (queue-full, expired, subscriber-error, detached). */
  hooks?: HookBus;
  /** Counts `robustmq_messages_dropped_total{reason}` and sets `robustmq_queue_depth`. */
  metrics?: Metrics;
  /** Time source for message expiry. Default the system clock. */
  clock?: Clock;
  /** Where a throwing `deliver` is reported. */
  logger?: Logger;
}

/** Outcome counters one publish accumulates. */
interface Tally {
  matched: number;
  dropped: number;
}

const EMPTY_PAYLOAD = Buffer.alloc(0);

/**
 * The kernel's topic router: a subscription trie over `/`-separated filters with `+` and `#`,
 * `$share/{group}/{filter}` groups served round robin, and per-subscriber bounded queues.
 *
 * Semantics worth knowing:
 * - A subscription may be made before its subscriber is attached; it is stored (and reported by
 *   `match`/`hasSubscribers`/`size`) but `publish` skips it until `attach`.
 * - Several non-shared subscriptions of one subscriber matching a topic give ONE delivery: the
 *   matching subscription with the highest QoS (the first found on a tie), with `overlapping`
 *   listing all of them. No Local is applied per subscription before merging.
 * - A share group gives each publish to one member, starting at its round-robin cursor. Members
 *   that are paused (or refuse with `deliver() === false`) are skipped for a ready one; when none
 *   is ready the delivery is queued at the paused member with the shortest queue.
 * - `deliver` refuses only by returning exactly `false`. A refused delivery is queued and the
 *   subscriber is paused until `resume()`. A throwing `deliver` loses that one delivery (counted
 *   as dropped, reason `subscriber-error`) without pausing the subscriber.
 * - Messages whose `expiresAt` has passed are not delivered, at publish time nor when re-offered
 *   from a queue (dropped, reason `expired`). The router does not emit `delivered`: the protocol
 *   knows when a delivery actually left.
 * - `match(topic)` has no message to compare for No Local, so it ignores No Local; for a share
 *   group it reports the member the next publish would try first, without advancing the cursor.
 */
export class TopicRouter implements Router {
  private readonly trie = new SubscriptionTrie();
  private readonly states = new Map<string, SubscriberState>();
  private readonly queueLimit: number;
  private readonly dropPolicy: DropPolicy;
  private readonly hooks: HookBus | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly droppedTotal: Counter | undefined;
  private readonly queueDepth: Gauge | undefined;
  private subscriptionCount = 0;
  private queuedTotal = 0;
  private epoch = 0;

  constructor(options: TopicRouterOptions = {}) {
    this.queueLimit = normalizeLimit(options.queueLimit ?? 1000);
    this.dropPolicy = options.dropPolicy ?? 'drop-oldest';
    this.hooks = options.hooks;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.droppedTotal = options.metrics?.counter(MetricNames.dropped, 'Messages dropped, by reason', ['reason']);
    this.queueDepth = options.metrics?.gauge(MetricNames.queueDepth, 'Deliveries waiting in subscriber queues');
  }

  /** Total subscriptions (each share group member counts once). */
  get size(): number {
    return this.subscriptionCount;
  }

  /**
   * Registers a subscriber. Re-attaching the same id replaces the subscriber object and its queue
   * options but keeps its subscriptions and queue; handles from earlier attachments stop working.
   * When the queue is not empty the subscriber stays paused until the new handle's `resume()`.
   */
  attach(subscriber: Subscriber, options: AttachOptions = {}): SubscriberHandle {
    let state = this.states.get(subscriber.id);
    if (state === undefined) {
      state = new SubscriberState(subscriber.id, this.queueLimit, this.dropPolicy);
      this.states.set(subscriber.id, state);
    }
    state.subscriber = subscriber;
    state.generation++;
    state.queueLimit = normalizeLimit(options.queueLimit ?? this.queueLimit);
    state.dropPolicy = options.dropPolicy ?? this.dropPolicy;
    this.trimQueue(state);
    if (state.queue.length === 0) state.paused = false;
    return this.handleFor(state, state.generation);
  }

  /** Removes a subscriber, its subscriptions and its queue (queued deliveries count as dropped, reason `detached`). */
  detach(subscriberId: string): void {
    const state = this.states.get(subscriberId);
    if (state === undefined) return;
    this.states.delete(subscriberId);
    for (const sub of state.subscriptions.values()) this.removeSubscription(sub);
    state.subscriptions.clear();
    state.subscriber = undefined;
    state.generation++;
    state.paused = false;
    if (state.queue.length > 0) {
      const discarded = state.queue.drain();
      this.queuedTotal -= discarded.length;
      this.updateDepth();
      for (const d of discarded) this.drop(d.message, subscriberId, 'detached');
    }
  }

  /**
   * Adds or replaces a subscription; throws a TypeError for an invalid filter.
   * @returns true when it replaced the subscriber's subscription to the same filter.
   */
  subscribe(subscriberId: string, filter: string, options: SubscriptionOptions = {}): boolean {
    assertValidTopicFilter(filter);
    let state = this.states.get(subscriberId);
    if (state === undefined) {
      state = new SubscriberState(subscriberId, this.queueLimit, this.dropPolicy);
      this.states.set(subscriberId, state);
    }
    const existing = state.subscriptions.get(filter);
    if (existing !== undefined) {
      existing.options = options;
      existing.qos = options.qos ?? 0;
      existing.noLocal = options.noLocal === true;
      return true;
    }
    const shared = parseSharedFilter(filter);
    const plain = shared === undefined ? filter : shared.filter;
    const node = this.trie.nodeFor(plain);
    let group: ShareGroup | undefined;
    if (shared !== undefined) {
      node.groups ??= new Map();
      group = node.groups.get(shared.group);
      if (group === undefined) {
        group = new ShareGroup(shared.group, plain, node);
        node.groups.set(shared.group, group);
      }
    }
    const sub: Subscription = {
      state,
      key: filter,
      filter: plain,
      options,
      qos: options.qos ?? 0,
      noLocal: options.noLocal === true,
      node,
      group,
      slot: -1,
    };
    if (group !== undefined) group.add(sub);
    else {
      node.subs ??= [];
      sub.slot = node.subs.length;
      node.subs.push(sub);
    }
    state.subscriptions.set(filter, sub);
    this.subscriptionCount++;
    return false;
  }

  /** Removes one subscription (`filter` exactly as subscribed, share prefix included). */
  unsubscribe(subscriberId: string, filter: string): boolean {
    const state = this.states.get(subscriberId);
    const sub = state?.subscriptions.get(filter);
    if (state === undefined || sub === undefined) return false;
    state.subscriptions.delete(filter);
    this.removeSubscription(sub);
    // An id known only through its subscriptions is forgotten with the last one.
    if (state.subscriber === undefined && state.subscriptions.size === 0) this.states.delete(subscriberId);
    return true;
  }

  /** Routes a message to every matching attached subscriber and to one member per share group. */
  publish(message: Message): PublishResult {
    const tally: Tally = { matched: 0, dropped: 0 };
    if (message.expiresAt !== undefined && message.expiresAt <= this.clock.now()) {
      this.drop(message, undefined, 'expired');
      return tally;
    }
    const nodes: TrieNode[] = [];
    this.trie.match(message.topic, nodes);
    if (nodes.length === 0) return tally;
    const origin = message.origin?.clientId;
    const hits = this.collect(nodes, origin, true);
    // Build every delivery before calling any subscriber: a re-entrant publish reuses the scratch fields.
    const deliveries = new Array<Delivery>(hits.length);
    for (let i = 0; i < hits.length; i++) deliveries[i] = mergedDelivery(message, hits[i]);
    const groups = collectGroups(nodes);
    for (let i = 0; i < hits.length; i++) this.offer(hits[i], deliveries[i], tally);
    if (groups !== undefined) for (const group of groups) this.offerToGroup(group, message, origin, tally);
    return tally;
  }

  /**
   * The deliveries a publish to `topic` would make, without delivering or advancing any share
   * group. Includes subscriptions of ids not attached yet; ignores No Local. The deliveries carry
   * an empty placeholder message on `topic`.
   */
  match(topic: string): Delivery[] {
    const nodes: TrieNode[] = [];
    this.trie.match(topic, nodes);
    if (nodes.length === 0) return [];
    const message: Message = {
      topic,
      payload: EMPTY_PAYLOAD,
      headers: {},
      timestamp: this.clock.now(),
      durability: 'transient',
      origin: { protocol: 'internal', clientId: '' },
    };
    const hits = this.collect(nodes, undefined, false);
    const out: Delivery[] = hits.map((state) => mergedDelivery(message, state));
    const groups = collectGroups(nodes);
    if (groups !== undefined) {
      for (const group of groups) {
        const member = peekMember(group);
        if (member !== undefined) out.push(sharedDelivery(message, group, member));
      }
    }
    return out;
  }

  /** True when any subscription (attached or not) matches the topic. */
  hasSubscribers(topic: string): boolean {
    return this.trie.matchesAny(topic);
  }

  private handleFor(state: SubscriberState, generation: number): SubscriberHandle {
    const current = () => state.generation === generation;
    return {
      resume: () => {
        if (current()) this.resume(state);
      },
      get queued() {
        return current() ? state.queue.length : 0;
      },
      takeQueued: () => (current() ? this.takeQueued(state) : []),
    };
  }

  /**
   * Non-shared subscriptions at the matched nodes, merged per subscriber: each returned state has
   * `best` (highest QoS) and, when more than one matched, `overlap`.
   */
  private collect(nodes: TrieNode[], origin: string | undefined, liveOnly: boolean): SubscriberState[] {
    const epoch = ++this.epoch;
    const hits: SubscriberState[] = [];
    for (let n = 0; n < nodes.length; n++) {
      const subs = nodes[n].subs;
      if (subs === undefined) continue;
      for (let j = 0; j < subs.length; j++) {
        const sub = subs[j];
        const state = sub.state;
        if (liveOnly && state.subscriber === undefined) continue;
        if (sub.noLocal && origin !== undefined && origin === state.clientId) continue;
        if (state.mark !== epoch) {
          state.mark = epoch;
          state.best = sub;
          state.overlap = undefined;
          hits.push(state);
        } else {
          const best = state.best as Subscription;
          if (state.overlap === undefined) state.overlap = [best];
          state.overlap.push(sub);
          if (sub.qos > best.qos) state.best = sub;
        }
      }
    }
    return hits;
  }

  /** Hands a delivery to a subscriber, or queues it when the subscriber is paused or refuses. */
  private offer(state: SubscriberState, delivery: Delivery, tally: Tally): void {
    if (state.subscriber === undefined) return; // detached by an earlier delivery of this publish
    if (state.ready) {
      const accepted = this.callDeliver(state, delivery);
      if (accepted === true) {
        tally.matched++;
        return;
      }
      if (accepted === undefined) return;
      state.paused = true;
    }
    this.enqueue(state, delivery, tally);
  }

  /** One member of the group gets the message: the first ready one from the cursor, else a queue. */
  private offerToGroup(group: ShareGroup, message: Message, origin: string | undefined, tally: Tally): void {
    const members = group.members;
    const count = members.length;
    const start = group.cursor;
    let fallback: Subscription | undefined;
    let fallbackIndex = -1;
    for (let k = 0; k < count; k++) {
      const index = (start + k) % count;
      const member = members[index];
      if (member === undefined) continue; // the group shrank during a delivery
      const state = member.state;
      if (state.subscriber === undefined) continue;
      if (member.noLocal && origin !== undefined && origin === state.clientId) continue;
      if (state.ready) {
        const accepted = this.callDeliver(state, sharedDelivery(message, group, member));
        if (accepted === true) {
          group.advancePast(index);
          tally.matched++;
          return;
        }
        if (accepted === undefined) continue;
        state.paused = true;
      }
      if (fallback === undefined || state.queue.length < fallback.state.queue.length) {
        fallback = member;
        fallbackIndex = index;
      }
    }
    if (fallback !== undefined) {
      group.advancePast(fallbackIndex);
      this.enqueue(fallback.state, sharedDelivery(message, group, fallback), tally);
    }
  }

  /** Queues a delivery, applying the drop policy when the queue is full. */
  private enqueue(state: SubscriberState, delivery: Delivery, tally: Tally): void {
    if (state.subscriber === undefined) {
      // Detached from inside its own deliver(): nothing left to queue for.
      this.drop(delivery.message, state.id, 'detached');
      return;
    }
    const queue = state.queue;
    if (queue.length >= state.queueLimit) {
      if (state.dropPolicy === 'drop-newest' || state.queueLimit === 0) {
        tally.dropped++;
        this.drop(delivery.message, state.id, 'queue-full');
        return;
      }
      while (queue.length >= state.queueLimit) {
        const evicted = queue.shift() as Delivery;
        this.queuedTotal--;
        tally.dropped++;
        this.drop(evicted.message, state.id, 'queue-full');
      }
    }
    queue.push(delivery);
    this.queuedTotal++;
    this.updateDepth();
    tally.matched++;
  }

  /** Re-offers queued deliveries in order until the subscriber refuses again. */
  private resume(state: SubscriberState): void {
    if (state.subscriber === undefined || state.draining) return;
    state.paused = false;
    if (state.queue.length === 0) return;
    state.draining = true;
    try {
      while (state.queue.length > 0 && state.subscriber !== undefined) {
        // Taken off before delivering so a re-entrant publish that evicts cannot evict it.
        const delivery = state.queue.shift() as Delivery;
        this.queuedTotal--;
        if (this.isExpired(delivery.message)) {
          this.drop(delivery.message, state.id, 'expired');
          continue;
        }
        if (this.callDeliver(state, delivery) === false) {
          state.paused = true;
          this.requeueFront(state, delivery);
          break;
        }
      }
    } finally {
      state.draining = false;
      this.updateDepth();
    }
  }

  /** Puts a refused delivery back at the head; if the queue filled meanwhile, the policy picks the victim. */
  private requeueFront(state: SubscriberState, delivery: Delivery): void {
    if (state.subscriber === undefined) {
      this.drop(delivery.message, state.id, 'detached');
      return;
    }
    const queue = state.queue;
    if (queue.length >= state.queueLimit) {
      if (state.dropPolicy === 'drop-oldest' || state.queueLimit === 0) {
        this.drop(delivery.message, state.id, 'queue-full');
        return;
      }
      const newest = queue.pop() as Delivery;
      this.queuedTotal--;
      this.drop(newest.message, state.id, 'queue-full');
    }
    queue.unshift(delivery);
    this.queuedTotal++;
  }

  private takeQueued(state: SubscriberState): Delivery[] {
    if (state.queue.length === 0) return [];
    const all = state.queue.drain();
    this.queuedTotal -= all.length;
    this.updateDepth();
    const live = all.filter((d) => !this.isExpired(d.message));
    if (live.length !== all.length) {
      for (const d of all) if (this.isExpired(d.message)) this.drop(d.message, state.id, 'expired');
    }
    return live;
  }

  /** Shrinks a queue to its (possibly lowered) limit by the drop policy. */
  private trimQueue(state: SubscriberState): void {
    const queue = state.queue;
    if (queue.length <= state.queueLimit) return;
    while (queue.length > state.queueLimit) {
      const victim = (state.dropPolicy === 'drop-newest' ? queue.pop() : queue.shift()) as Delivery;
      this.queuedTotal--;
      this.drop(victim.message, state.id, 'queue-full');
    }
    this.updateDepth();
  }

  /** Calls `deliver`: true accepted, false refused, undefined threw (dropped and logged). */
  private callDeliver(state: SubscriberState, delivery: Delivery): boolean | undefined {
    try {
      return (state.subscriber as Subscriber).deliver(delivery) !== false;
    } catch (err) {
      this.logger?.warn(
        { err, subscriberId: state.id, topic: delivery.message.topic },
        'subscriber deliver threw; delivery dropped',
      );
      this.drop(delivery.message, state.id, 'subscriber-error');
      return undefined;
    }
  }

  private removeSubscription(sub: Subscription): void {
    const node = sub.node;
    const group = sub.group;
    if (group !== undefined) {
      group.remove(sub);
      if (group.members.length === 0 && node.groups !== undefined) {
        node.groups.delete(group.name);
        if (node.groups.size === 0) node.groups = undefined;
      }
    } else if (node.subs !== undefined) {
      const subs = node.subs;
      const last = subs.pop() as Subscription;
      if (last !== sub) {
        subs[sub.slot] = last;
        last.slot = sub.slot;
      }
      sub.slot = -1;
      if (subs.length === 0) node.subs = undefined;
    }
    this.subscriptionCount--;
    this.trie.prune(node);
  }

  private isExpired(message: Message): boolean {
    return message.expiresAt !== undefined && message.expiresAt <= this.clock.now();
  }

  private drop(message: Message, subscriberId: string | undefined, reason: string): void {
    this.droppedTotal?.inc({ reason });
    if (this.hooks?.has('dropped')) {
      this.hooks.emit('dropped', subscriberId === undefined ? { message, reason } : { message, subscriberId, reason });
    }
  }

  private updateDepth(): void {
    this.queueDepth?.set(undefined, this.queuedTotal);
  }
}

function normalizeLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`queueLimit must be a non-negative number, got ${limit}`);
  return Math.floor(limit);
}

/** The one delivery for a subscriber whose non-shared subscriptions matched. */
function mergedDelivery(message: Message, state: SubscriberState): Delivery {
  const best = state.best as Subscription;
  const overlap = state.overlap;
  if (overlap === undefined) return { message, filter: best.filter, options: best.options };
  return {
    message,
    filter: best.filter,
    options: best.options,
    overlapping: overlap.map((s) => ({ filter: s.filter, options: s.options })),
  };
}

function sharedDelivery(message: Message, group: ShareGroup, member: Subscription): Delivery {
  return { message, filter: group.filter, group: group.name, options: member.options };
}

function collectGroups(nodes: TrieNode[]): ShareGroup[] | undefined {
  let groups: ShareGroup[] | undefined;
  for (let n = 0; n < nodes.length; n++) {
    const map = nodes[n].groups;
    if (map === undefined) continue;
    groups ??= [];
    for (const group of map.values()) groups.push(group);
  }
  return groups;
}

/** The member a publish would try first: ready, else attached with the shortest queue, else the cursor's. */
function peekMember(group: ShareGroup): Subscription | undefined {
  const members = group.members;
  let fallback: Subscription | undefined;
  for (let k = 0; k < members.length; k++) {
    const member = members[(group.cursor + k) % members.length];
    const state = member.state;
    if (state.subscriber === undefined) continue;
    if (state.ready) return member;
    if (fallback === undefined || state.queue.length < fallback.state.queue.length) fallback = member;
  }
  return fallback ?? members[group.cursor % members.length];
}
