import type { Delivery, DropPolicy, Subscriber, SubscriptionOptions } from '@robustmq/sdk';
import { RingQueue } from './queue.js';
import type { ShareGroup } from './share-group.js';
import type { TrieNode } from './trie.js';

/** One subscription of one subscriber, as stored in the trie. */
export interface Subscription {
  readonly state: SubscriberState;
  /** The filter exactly as subscribed, `$share/{group}/` prefix included. */
  readonly key: string;
  /** The filter without any share prefix. */
  readonly filter: string;
  options: SubscriptionOptions;
  /** `options.qos` as a number (0 when absent), compared when subscriptions overlap. */
  qos: number;
  noLocal: boolean;
  readonly node: TrieNode;
  /** The share group, for a `$share/…` subscription. */
  readonly group: ShareGroup | undefined;
  /** Index in `node.subs` (non-shared only), for O(1) removal. */
  slot: number;
}

/**
 * Everything the router keeps per subscriber id: the live subscriber (absent until attached), its
 * subscriptions, its bounded queue and its paused flag. The `mark`/`best`/`overlap` fields are
 * scratch space for merging overlapping matches during one publish without a per-publish Map.
 */
export class SubscriberState {
  subscriber: Subscriber | undefined = undefined;
  readonly subscriptions = new Map<string, Subscription>();
  readonly queue = new RingQueue<Delivery>();
  queueLimit: number;
  dropPolicy: DropPolicy;
  /** Set when `deliver` returned false; cleared by `resume()`. */
  paused = false;
  /** True while `resume()` re-offers the queue (guards against re-entrant resumes). */
  draining = false;
  /** Bumped on attach/detach so stale handles stop acting. */
  generation = 0;
  mark = 0;
  best: Subscription | undefined = undefined;
  overlap: Subscription[] | undefined = undefined;

  constructor(
    readonly id: string,
    queueLimit: number,
    dropPolicy: DropPolicy,
  ) {
    this.queueLimit = queueLimit;
    this.dropPolicy = dropPolicy;
  }

  /** The id compared with a message's origin for No Local. */
  get clientId(): string {
    return this.subscriber?.clientId ?? this.id;
  }

  /** Attached, not paused and nothing queued: a delivery may go straight to `deliver`. */
  get ready(): boolean {
    return this.subscriber !== undefined && !this.paused && !this.draining && this.queue.length === 0;
  }
}
