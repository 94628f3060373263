/**
 * Idempotent producers: producer id allocation (persisted counter in the MetaStore) and, per
 * producer and partition, the sequence numbers of the last batches so retries are answered with
 * the original offsets instead of being appended twice.
 */
import type { AppendResult, MetaStore } from '@robustmq/sdk';
import { ErrorCode } from './protocol/errors.js';

const SEQ_KEY = 'kafka/producer-id/next';
/** Producer ids handed out per MetaStore write. */
const BLOCK = 1000;
/** Batches remembered per producer and partition (Kafka keeps 5, the max in-flight requests). */
const REMEMBERED = 5;

interface BatchEntry {
  firstSeq: number;
  lastSeq: number;
  /** The append's outcome: a retry of the same batch gets the same answer. */
  result: Promise<AppendResult>;
}

interface PartitionProducerState {
  epoch: number;
  batches: BatchEntry[];
}

/** Outcome of checking an incoming batch. */
export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; result: Promise<AppendResult> }
  | { kind: 'error'; code: number; message: string };

export class ProducerStates {
  private nextId = -1;
  private limit = -1;
  private allocating: Promise<void> | undefined;
  private readonly states = new Map<string, PartitionProducerState>();
  /** Latest epoch handed out per producer id. */
  private readonly epochs = new Map<number, number>();

  constructor(private readonly meta: MetaStore) {}

  /**
   * Allocates a new producer id with epoch 0. Like Kafka, a non-transactional InitProducerId always
   * gets a fresh id, whatever id and epoch the client sent.
   */
  async init(): Promise<{ producerId: number; producerEpoch: number }> {
    while (this.nextId < 0 || this.nextId >= this.limit) {
      this.allocating ??= this.allocateBlock().finally(() => {
        this.allocating = undefined;
      });
      await this.allocating;
    }
    const id = this.nextId++;
    this.epochs.set(id, 0);
    return { producerId: id, producerEpoch: 0 };
  }

  private async allocateBlock(): Promise<void> {
    for (;;) {
      const raw = await this.meta.get(SEQ_KEY);
      const start = raw ? Number(raw.toString()) : 1000;
      const next = Buffer.from(String(start + BLOCK));
      if (await this.meta.compareAndSet(SEQ_KEY, raw, next)) {
        this.nextId = start;
        this.limit = start + BLOCK;
        return;
      }
    }
  }

  private static key(producerId: number, topic: string, partition: number): string {
    return `${producerId}\u0000${topic}\u0000${partition}`;
  }

  /** Checks a batch's producer epoch and sequence against what was appended before. */
  check(topic: string, partition: number, producerId: number, epoch: number, baseSequence: number, count: number): SequenceCheck {
    const known = this.epochs.get(producerId);
    if (known !== undefined && epoch < known)
      return { kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${epoch} is older than ${known}` };
    const state = this.states.get(ProducerStates.key(producerId, topic, partition));
    // No state (new producer, or state lost with a restart): accept and start tracking.
    if (!state || epoch > state.epoch) return { kind: 'append' };
    const lastSeq = baseSequence + count - 1;
    for (const b of state.batches) {
      if (b.firstSeq === baseSequence && b.lastSeq === lastSeq) return { kind: 'duplicate', result: b.result };
    }
    const last = state.batches[state.batches.length - 1];
    const expected = last ? (last.lastSeq + 1) % 2147483648 : 0;
    if (baseSequence !== expected) {
      return {
        kind: 'error',
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `out of order sequence ${baseSequence} for producer ${producerId} on ${topic}-${partition}, expected ${expected}`,
      };
    }
    return { kind: 'append' };
  }

  /** Records a batch whose append was issued; a failed append is forgotten so a retry is appended. */
  appended(
    topic: string,
    partition: number,
    producerId: number,
    epoch: number,
    baseSequence: number,
    count: number,
    result: Promise<AppendResult>,
  ): void {
    const key = ProducerStates.key(producerId, topic, partition);
    let state = this.states.get(key);
    if (!state || epoch > state.epoch) {
      state = { epoch, batches: [] };
      this.states.set(key, state);
    }
    if ((this.epochs.get(producerId) ?? -1) < epoch) this.epochs.set(producerId, epoch);
    const entry: BatchEntry = { firstSeq: baseSequence, lastSeq: baseSequence + count - 1, result };
    state.batches.push(entry);
    if (state.batches.length > REMEMBERED) state.batches.shift();
    const owner = state;
    result.catch(() => {
      const i = owner.batches.indexOf(entry);
      if (i >= 0) owner.batches.splice(i);
    });
  }
}
