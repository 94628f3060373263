/**
 * The store's state as rebuilt from the log: topics with their per-partition offset index,
 * metadata entries and the data objects still referenced. `apply` is the only mutator, so a
 * replay of the same operations always yields the same state.
 */
import type { TopicConfig } from '@robustmq/sdk';
import type { Op, RangeRef } from './ops.js';

/** Offsets [base, last] of a partition live at bytes [start, start + len) of `object`. */
export interface IndexEntry extends RangeRef {
  object: string;
}

export interface PartitionState {
  entries: IndexEntry[];
  logStart: number;
  /** High watermark: the offset the next record gets. */
  next: number;
}

export interface TopicState {
  /** Incarnation id: distinguishes a re-created topic from the one deleted before it. */
  id: string;
  config: TopicConfig;
  partitions: PartitionState[];
}

/** A data-holding object: its size, the log positions whose batches it holds, index references. */
export interface ObjectInfo {
  size: number;
  lo: number;
  hi: number;
  refs: number;
}

interface SnapshotJson {
  v: 1;
  seq: number;
  epoch: number;
  claims: number[];
  topics: Array<[string, TopicState]>;
  meta: Array<[string, string]>;
  objects: Array<[string, ObjectInfo]>;
}

export class StoreState {
  /** Last applied log position. */
  seq = 0;
  epoch = 0;
  /** Log positions holding a claim: kept forever so a stale writer always collides with one. */
  readonly claims: number[] = [];
  readonly topics = new Map<string, TopicState>();
  readonly meta = new Map<string, Buffer>();
  readonly objects = new Map<string, ObjectInfo>();

  /** Applies the operations of log object `seq` whose data section starts at `dataStart` of `key`. */
  applyObject(seq: number, key: string, size: number, dataStart: number, ops: Op[]): void {
    for (const op of ops) this.apply(op, key, size, dataStart, seq);
    this.seq = seq;
  }

  apply(op: Op, key: string, size: number, dataStart: number, seq: number): void {
    switch (op.t) {
      case 'claim':
        // Monotonic even when a claimant computed its epoch from a stale state.
        this.epoch = Math.max(this.epoch + 1, op.epoch);
        if (!this.claims.includes(seq)) this.claims.push(seq);
        return;
      case 'topic':
        if (this.topics.has(op.topic)) return;
        this.topics.set(op.topic, {
          id: op.id,
          config: op.config,
          partitions: Array.from({ length: op.config.partitions }, () => ({ entries: [], logStart: 0, next: 0 })),
        });
        return;
      case 'untopic': {
        const topic = this.topics.get(op.topic);
        if (!topic) return;
        for (const p of topic.partitions) for (const e of p.entries) this.unref(e.object);
        this.topics.delete(op.topic);
        return;
      }
      case 'config': {
        const topic = this.topics.get(op.topic);
        if (topic) topic.config = { ...topic.config, ...op.patch, partitions: topic.config.partitions };
        return;
      }
      case 'grow': {
        const topic = this.topics.get(op.topic);
        if (!topic) return;
        while (topic.partitions.length < op.total) topic.partitions.push({ entries: [], logStart: 0, next: 0 });
        topic.config = { ...topic.config, partitions: topic.partitions.length };
        return;
      }
      case 'append': {
        const part = this.topics.get(op.topic)?.partitions[op.p];
        if (!part) return;
        const { base, last, len, fts, mts } = op;
        part.entries.push({ object: key, base, last, start: dataStart + op.start, len, fts, mts });
        part.next = last + 1;
        this.ref(key, size, seq, seq);
        return;
      }
      case 'trim': {
        const part = this.topics.get(op.topic)?.partitions[op.p];
        if (!part || op.start <= part.logStart) return;
        part.logStart = Math.min(op.start, part.next);
        this.dropBelowStart(part);
        return;
      }
      case 'put':
        this.meta.set(op.k, Buffer.from(op.v, 'base64'));
        return;
      case 'del':
        this.meta.delete(op.k);
        return;
      case 'compact':
        this.applyCompaction(op);
        return;
    }
  }

  private applyCompaction(op: Extract<Op, { t: 'compact' }>): void {
    const sources = new Set(op.sources);
    for (const topic of this.topics.values()) {
      for (const part of topic.partitions) {
        const kept = part.entries.filter((e) => !sources.has(e.object));
        if (kept.length === part.entries.length) continue;
        for (const e of part.entries) if (sources.has(e.object)) this.unref(e.object);
        part.entries = kept;
      }
    }
    for (const e of op.entries) {
      const topic = this.topics.get(e.topic);
      const part = topic?.id === e.id ? topic.partitions[e.p] : undefined;
      if (!part || e.last < part.logStart) continue;
      const { base, last, start, len, fts, mts } = e;
      const at = part.entries.findIndex((x) => x.base > base);
      part.entries.splice(at < 0 ? part.entries.length : at, 0, { object: op.object, base, last, start, len, fts, mts });
      this.ref(op.object, op.size, op.lo, op.hi);
    }
  }

  private dropBelowStart(part: PartitionState): void {
    let n = 0;
    while (n < part.entries.length && part.entries[n].last < part.logStart) this.unref(part.entries[n++].object);
    if (n > 0) part.entries.splice(0, n);
  }

  private ref(key: string, size: number, lo: number, hi: number): void {
    const info = this.objects.get(key);
    if (info) info.refs++;
    else this.objects.set(key, { size, lo, hi, refs: 1 });
  }

  private unref(key: string): void {
    const info = this.objects.get(key);
    if (info && --info.refs <= 0) this.objects.delete(key);
  }

  toJSON(): SnapshotJson {
    return {
      v: 1,
      seq: this.seq,
      epoch: this.epoch,
      claims: this.claims,
      topics: [...this.topics],
      meta: [...this.meta].map(([k, v]) => [k, v.toString('base64')]),
      objects: [...this.objects],
    };
  }

  static fromJSON(json: SnapshotJson): StoreState {
    const state = new StoreState();
    state.seq = json.seq;
    state.epoch = json.epoch;
    state.claims.push(...json.claims);
    for (const [name, topic] of json.topics) state.topics.set(name, topic);
    for (const [k, v] of json.meta) state.meta.set(k, Buffer.from(v, 'base64'));
    for (const [k, info] of json.objects) state.objects.set(k, info);
    return state;
  }

  encode(): Buffer {
    return Buffer.from(JSON.stringify(this.toJSON()));
  }

  static decode(bytes: Buffer): StoreState {
    return StoreState.fromJSON(JSON.parse(bytes.toString('utf8')) as SnapshotJson);
  }

  /**
   * A copy for validating and numbering new writes: topics, offsets and metadata, without the
   * offset index (never read there), so the writer does not hold the index twice.
   */
  cloneWithoutIndex(): StoreState {
    const json = this.toJSON();
    json.topics = json.topics.map(([name, t]) => [
      name,
      { ...t, config: structuredClone(t.config), partitions: t.partitions.map((p) => ({ ...p, entries: [] })) },
    ]);
    json.objects = [];
    return StoreState.fromJSON(json);
  }
}
