import type { Message } from './message.js';

/**
 * Options a subscription carries through the router untouched except `qos`-like fields the
 * protocol interprets. The router only reads `noLocal`.
 */
export interface SubscriptionOptions {
  /** Maximum QoS granted (MQTT) — the protocol applies it on delivery. */
  qos?: 0 | 1 | 2;
  /** Do not deliver messages whose origin clientId equals the subscriber id (MQTT 5 No Local). */
  noLocal?: boolean;
  /** Protocol-specific data returned with each match (MQTT subscription identifier, retain-as-published…). */
  [extra: string]: unknown;
}

/** One delivery the router hands to a subscriber. */
export interface Delivery {
  message: Message;
  /** The filter that matched, without any `$share/group/` prefix. */
  filter: string;
  /** Share group name when the match came through a shared subscription. */
  group?: string;
  options: SubscriptionOptions;
  /**
   * Present when several non-shared subscriptions of the same subscriber matched: every one of them
   * (`filter`/`options` above is the one with the highest QoS). The router delivers once per
   * subscriber, so protocols can merge subscription identifiers (MQTT 5 §3.3.4).
   */
  overlapping?: Array<{ filter: string; options: SubscriptionOptions }>;
}

/**
 * A live consumer of messages of any protocol. `deliver` returns false when the subscriber
 * cannot take more right now (socket backpressure, flow-control window full); the router then
 * keeps the delivery in the subscriber's bounded queue and stops calling `deliver` until the
 * subscriber calls {@link SubscriberHandle.resume}.
 */
export interface Subscriber {
  /** Unique id across protocols, e.g. `mqtt:client-1`. Also compared for No Local. */
  readonly id: string;
  /** The client id used for No Local comparisons (defaults to `id`). */
  readonly clientId?: string;
  deliver(delivery: Delivery): boolean;
}

/** What to do when a subscriber's queue is full. */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

export interface AttachOptions {
  /** Deliveries kept while the subscriber is paused. Default from kernel config. */
  queueLimit?: number;
  dropPolicy?: DropPolicy;
}

/** The subscriber's side of its attachment to the router. */
export interface SubscriberHandle {
  /** Call when the subscriber can take deliveries again: queued ones are re-offered in order. */
  resume(): void;
  /** Deliveries waiting in the bounded queue. */
  readonly queued: number;
  /** Removes the queued deliveries and returns them (for moving into a persistent offline queue). */
  takeQueued(): Delivery[];
}

/** Outcome of one publish through the router. */
export interface PublishResult {
  /** Subscribers that received or queued the message. */
  matched: number;
  /** Deliveries dropped because a queue was full. */
  dropped: number;
}

/** The topic router shared by every protocol. */
export interface Router {
  /** Registers a subscriber; subscriptions refer to it by id. Re-attaching replaces it. */
  attach(subscriber: Subscriber, options?: AttachOptions): SubscriberHandle;
  /** Removes a subscriber and all its subscriptions. */
  detach(subscriberId: string): void;
  /**
   * Adds or replaces a subscription. `filter` may be `$share/{group}/{filter}`. Returns true when it
   * replaced an existing subscription of the same subscriber and filter.
   */
  subscribe(subscriberId: string, filter: string, options?: SubscriptionOptions): boolean;
  /** Returns true when a subscription was removed. */
  unsubscribe(subscriberId: string, filter: string): boolean;
  /** Routes a message to every matching subscriber (one member per share group). */
  publish(message: Message): PublishResult;
  /** Matching subscriptions of a topic without delivering (one per share group chosen). */
  match(topic: string): Delivery[];
  /** True when any subscription matches the topic. */
  hasSubscribers(topic: string): boolean;
  /** Total subscriptions. */
  readonly size: number;
}

/** Splits `$share/group/filter` into its parts, or returns undefined for a plain filter. */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice(7);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { group: rest.slice(0, slash), filter: rest.slice(slash + 1) };
}
