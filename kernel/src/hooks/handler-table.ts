import type { HookMap, HookName, Unregister } from '@robustmq/sdk';

/** One registered handler with what the bus needs to call it and report on it. */
export interface HandlerEntry<K extends HookName = HookName> {
  readonly handler: HookMap[K];
  readonly order: number;
  /** Registration sequence: breaks ties between equal orders. */
  readonly seq: number;
  readonly owner: string;
  /** Milliseconds an async answer may take; not finite or ≤ 0 means no deadline. */
  readonly deadlineMs: number;
}

const EMPTY: readonly HandlerEntry[] = Object.freeze([]);

/**
 * The handlers of every hook, each list sorted by (order, registration). Lists are replaced on
 * change and never mutated, so a run already in progress keeps the snapshot it started with when a
 * handler is registered or removed meanwhile.
 */
export class HandlerTable {
  private readonly lists = new Map<HookName, readonly HandlerEntry[]>();
  private nextSeq = 0;

  /** Adds a handler in its ordered place and returns the function that removes it (idempotent). */
  add<K extends HookName>(name: K, init: Omit<HandlerEntry<K>, 'seq'>): Unregister {
    const entry: HandlerEntry = { ...(init as Omit<HandlerEntry, 'seq'>), seq: this.nextSeq++ };
    const list: readonly HandlerEntry[] = this.list(name);
    // Insert after every entry with order ≤ ours: equal orders keep registration order.
    let at = list.length;
    while (at > 0 && list[at - 1].order > entry.order) at--;
    this.lists.set(name, [...list.slice(0, at), entry, ...list.slice(at)]);
    return () => {
      const current: readonly HandlerEntry[] = this.list(name);
      if (!current.includes(entry)) return;
      const next = current.filter((e) => e !== entry);
      if (next.length === 0) this.lists.delete(name);
      else this.lists.set(name, next);
    };
  }

  /** The current ordered snapshot of a hook's handlers. */
  list<K extends HookName>(name: K): readonly HandlerEntry<K>[] {
    return (this.lists.get(name) ?? EMPTY) as readonly HandlerEntry<K>[];
  }

  has(name: HookName): boolean {
    return this.lists.has(name);
  }
}
