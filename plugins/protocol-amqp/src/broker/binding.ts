import type { Delivery, Message } from '@robustmq/sdk';
import type { FieldTable } from '../codec/field-table.js';
import type { Exchange } from './exchange.js';
import type { Queue } from './queue.js';

/** One binding: messages of `source` whose routing key / headers match go to `destination`. */
export interface Binding {
  source: Exchange;
  destination: Queue | Exchange;
  key: string;
  args: FieldTable;
  /** The router filter this binding subscribes its destination to. */
  filter: string;
  /** Set when the router filter is wider than the binding: the destination re-checks. */
  check?: (m: Message) => boolean;
}

/** Identity of a binding among its destination's bindings. */
export function bindingId(source: string, key: string, args: FieldTable): string {
  return `${source}\u0000${key}\u0000${stableJson(args)}`;
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Date) return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

/**
 * The bindings that lead into one destination, grouped by router filter: the destination holds one
 * router subscription per filter however many bindings share it.
 */
export class Inbound {
  private readonly byFilter = new Map<string, Binding[]>();
  readonly byId = new Map<string, Binding>();

  /** Adds a binding; returns true when it is the first for its filter (subscribe now). */
  add(id: string, b: Binding): boolean {
    this.byId.set(id, b);
    const list = this.byFilter.get(b.filter);
    if (list) {
      list.push(b);
      return false;
    }
    this.byFilter.set(b.filter, [b]);
    return true;
  }

  /** Removes a binding; returns true when it was the last for its filter (unsubscribe now). */
  remove(id: string): Binding | undefined {
    const b = this.byId.get(id);
    if (!b) return undefined;
    this.byId.delete(id);
    const list = this.byFilter.get(b.filter);
    if (list) {
      const i = list.indexOf(b);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byFilter.delete(b.filter);
    }
    return b;
  }

  /** True when no binding remains on `filter`. */
  filterUnused(filter: string): boolean {
    return !this.byFilter.has(filter);
  }

  /** True when some binding behind the matched filter(s) accepts the message. */
  accepts(d: Delivery): boolean {
    if (d.overlapping === undefined) return this.acceptsOn(d.filter, d.message);
    for (const o of d.overlapping) if (this.acceptsOn(o.filter, d.message)) return true;
    return false;
  }

  private acceptsOn(filter: string, m: Message): boolean {
    const list = this.byFilter.get(filter);
    if (!list) return false;
    for (const b of list) if (b.check === undefined || b.check(m)) return true;
    return false;
  }

  all(): Binding[] {
    return [...this.byId.values()];
  }
}
