/**
 * Operations and record batches waiting for the next log object. Batches of one partition that
 * arrive between two structural operations on its topic are laid out back to back and indexed
 * as one range (split every `indexIntervalBytes`), so a flush of many small appends costs one
 * PUT and a handful of index entries.
 */
import type { Op } from './ops.js';

interface AppendGroup {
  t: 'group';
  topic: string;
  p: number;
  batches: Buffer[];
  base: number;
  last: number;
  fts: number;
  mts: number;
  len: number;
}

export class WriteBuffer {
  private readonly items: Array<Op | AppendGroup> = [];
  private readonly open = new Map<string, AppendGroup>();
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private done: Promise<void> | undefined;
  bytes = 0;
  /** When the first item arrived (ms). */
  since = 0;

  constructor(private readonly indexIntervalBytes: number) {}

  get empty(): boolean {
    return this.items.length === 0;
  }

  addOp(op: Op, now: number): void {
    if (this.empty) this.since = now;
    // A structural change to a topic ends its open ranges, so replay keeps the order.
    if ('topic' in op) {
      for (const [k, g] of this.open) if (g.topic === op.topic) this.open.delete(k);
    }
    this.items.push(op);
    this.bytes += 64;
  }

  addBatch(topic: string, p: number, batch: Buffer, base: number, last: number, fts: number, mts: number, now: number): void {
    if (this.empty) this.since = now;
    const key = `${topic}\u0000${p}`;
    let group = this.open.get(key);
    if (!group || group.len + batch.length > this.indexIntervalBytes) {
      group = { t: 'group', topic, p, batches: [], base, last, fts, mts, len: 0 };
      this.open.set(key, group);
      this.items.push(group);
    }
    group.batches.push(batch);
    group.last = last;
    group.fts = Math.min(group.fts, fts);
    group.mts = Math.max(group.mts, mts);
    group.len += batch.length;
    this.bytes += batch.length;
  }

  /** A promise settled with the fate of the object this buffer becomes. */
  wait(): Promise<void> {
    this.done ??= new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
    return this.done;
  }

  resolve(): void {
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  reject(err: Error): void {
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
  }

  /** The operations (append ranges relative to the data section) and the data chunks in order. */
  seal(): { ops: Op[]; data: Buffer[]; ranges: Array<{ rel: number; bytes: Buffer }> } {
    const ops: Op[] = [];
    const data: Buffer[] = [];
    const ranges: Array<{ rel: number; bytes: Buffer }> = [];
    let pos = 0;
    for (const item of this.items) {
      if (item.t !== 'group') {
        ops.push(item);
        continue;
      }
      const bytes = item.batches.length === 1 ? item.batches[0] : Buffer.concat(item.batches, item.len);
      ops.push({
        t: 'append',
        topic: item.topic,
        p: item.p,
        base: item.base,
        last: item.last,
        start: pos,
        len: item.len,
        fts: item.fts,
        mts: item.mts,
      });
      data.push(bytes);
      ranges.push({ rel: pos, bytes });
      pos += item.len;
    }
    return { ops, data, ranges };
  }
}
