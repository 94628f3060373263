/**
 * Idempotent producer state of one partition: per producer id its epoch and the sequence ranges
 * and offsets of its last batches. Fed by live appends, by a snapshot and by replaying the headers
 * of stored batches (how the state is rebuilt after a restart).
 */
import type { AppendResult, BatchHeader } from '@robustmq/sdk';
import { ErrorCode } from './protocol/errors.js';

/** Batches remembered per producer and partition (Kafka keeps 5, the max in-flight requests). */
export const REMEMBERED = 5;
const SEQ_MODULUS = 2147483648;

export interface BatchEntry {
  firstSeq: number;
  lastSeq: number;
  /** The append's outcome: a retry of the same batch gets the same answer. */
  result: Promise<AppendResult>;
  /** Set once the append is stored (always set for entries from a snapshot or the log). */
  stored?: AppendResult;
}

export interface ProducerEntry {
  epoch: number;
  batches: BatchEntry[];
  /** Broker time of the producer's last batch on this partition (epoch ms), for expiration. */
  lastTimestamp: number;
}

/** Persisted form: the state as of every batch below `offset`. */
export interface PartitionSnapshot {
  v: 1;
  /** The log is replayed from here on load. */
  offset: number;
  /** [producerId, epoch, lastTimestamp, [firstSeq, lastSeq, baseOffset, lastOffset, logAppendTime][]] */
  producers: Array<[number, number, number, Array<[number, number, number, number, number]>]>;
}

/** Outcome of checking an incoming batch. */
export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; result: Promise<AppendResult> }
  | { kind: 'error'; code: number; message: string };

export class PartitionProducers {
  readonly producers = new Map<number, ProducerEntry>();
  /** Appended to since the last snapshot. */
  dirty = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Checks a batch's producer epoch and sequence against what was appended before. */
  check(producerId: number, epoch: number, baseSequence: number, count: number): SequenceCheck {
    const state = this.producers.get(producerId);
    // Unknown producer (new, or expired): accept and start tracking.
    if (!state || epoch > state.epoch) return { kind: 'append' };
    if (epoch < state.epoch) {
      return {
        kind: 'error',
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer epoch ${epoch} is older than ${state.epoch}`,
      };
    }
    const lastSeq = baseSequence + count - 1;
    for (const b of state.batches) {
      if (b.firstSeq === baseSequence && b.lastSeq === lastSeq) return { kind: 'duplicate', result: b.result };
    }
    const last = state.batches[state.batches.length - 1];
    const expected = last ? (last.lastSeq + 1) % SEQ_MODULUS : 0;
    if (baseSequence !== expected) {
      return {
        kind: 'error',
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `out of order sequence ${baseSequence} for producer ${producerId} on ${this.topic}-${this.partition}, expected ${expected}`,
      };
    }
    return { kind: 'append' };
  }

  /** Records a batch whose append was issued; a failed append is forgotten so a retry is appended. */
  appended(producerId: number, epoch: number, baseSequence: number, count: number, result: Promise<AppendResult>): void {
    const state = this.entryFor(producerId, epoch, Date.now());
    const entry: BatchEntry = { firstSeq: baseSequence, lastSeq: baseSequence + count - 1, result };
    push(state, entry);
    result.then(
      (r) => {
        entry.stored = r;
      },
      () => {
        const i = state.batches.indexOf(entry);
        if (i >= 0) state.batches.splice(i);
      },
    );
  }

  /**
   * Applies a batch found in the log (replay after a restart). Batches the state already holds (from
   * a snapshot that overlaps the replayed range) are skipped.
   */
  replay(h: BatchHeader, now: number): void {
    if (h.producerId < 0 || h.baseSequence < 0) return;
    const known = this.producers.get(h.producerId);
    if (known && h.producerEpoch < known.epoch) return;
    if (known && h.producerEpoch === known.epoch && known.batches.some((b) => (b.stored?.baseOffset ?? -1) >= h.baseOffset))
      return;
    const state = this.entryFor(h.producerId, h.producerEpoch, now);
    const stored = { baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta, logAppendTime: -1 };
    push(state, {
      firstSeq: h.baseSequence,
      lastSeq: h.baseSequence + h.lastOffsetDelta,
      result: Promise.resolve(stored),
      stored,
    });
  }

  /** The appends a snapshot taken now must wait for (their offsets are not known yet). */
  pending(): Array<Promise<AppendResult>> {
    const out: Array<Promise<AppendResult>> = [];
    for (const p of this.producers.values()) for (const b of p.batches) if (!b.stored) out.push(b.result);
    return out;
  }

  /**
   * Copies the current entries (call it after reading the high watermark that becomes the snapshot
   * offset, so every batch below that offset is in the copy). Serialize once `pending()` settled.
   */
  capture(): Array<{ id: number; epoch: number; ts: number; batches: BatchEntry[] }> {
    return [...this.producers].map(([id, p]) => ({ id, epoch: p.epoch, ts: p.lastTimestamp, batches: [...p.batches] }));
  }

  /** Serializes a capture; entries whose append failed are left out. */
  static serialize(offset: number, captured: ReturnType<PartitionProducers['capture']>): PartitionSnapshot {
    const producers: PartitionSnapshot['producers'] = [];
    for (const p of captured) {
      const batches = p.batches
        .filter((b) => b.stored)
        .map((b): [number, number, number, number, number] => [
          b.firstSeq,
          b.lastSeq,
          b.stored!.baseOffset,
          b.stored!.lastOffset,
          b.stored!.logAppendTime,
        ]);
      if (batches.length > 0) producers.push([p.id, p.epoch, p.ts, batches]);
    }
    return { v: 1, offset, producers };
  }

  /** Loads a snapshot into an empty state. */
  restore(snapshot: PartitionSnapshot): void {
    for (const [id, epoch, ts, batches] of snapshot.producers) {
      this.producers.set(id, {
        epoch,
        lastTimestamp: ts,
        batches: batches.map(([firstSeq, lastSeq, baseOffset, lastOffset, logAppendTime]) => {
          const stored = { baseOffset, lastOffset, logAppendTime };
          return { firstSeq, lastSeq, result: Promise.resolve(stored), stored };
        }),
      });
    }
  }

  /** Drops producers whose last batch is older than `before` (epoch ms); returns how many. */
  expire(before: number): number {
    let n = 0;
    for (const [id, p] of this.producers) {
      if (p.lastTimestamp < before && p.batches.every((b) => b.stored)) {
        this.producers.delete(id);
        n++;
      }
    }
    if (n > 0) this.dirty = true;
    return n;
  }

  private entryFor(producerId: number, epoch: number, now: number): ProducerEntry {
    let state = this.producers.get(producerId);
    if (!state || epoch > state.epoch) {
      state = { epoch, batches: [], lastTimestamp: now };
      this.producers.set(producerId, state);
    }
    state.lastTimestamp = Math.max(state.lastTimestamp, now);
    this.dirty = true;
    return state;
  }
}

function push(state: ProducerEntry, entry: BatchEntry): void {
  state.batches.push(entry);
  if (state.batches.length > REMEMBERED) state.batches.shift();
}
