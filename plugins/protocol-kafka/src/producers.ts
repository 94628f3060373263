/**
 * Idempotent producers: producer id allocation (persisted counter in the MetaStore) and the
 * per-partition sequence state (`PartitionProducers`) that lets retries be answered with their
 * original offsets instead of being appended twice.
 *
 * The state survives restarts the way Kafka's does: a snapshot per partition in the MetaStore
 * (written off the produce path, every `snapshotMs` and at shutdown) plus a replay of the headers of
 * the batches stored after the snapshot's offset. A partition's state is loaded lazily, when the
 * first idempotent batch for it arrives; produces to the partition wait for that load.
 */
import {
  getJson,
  iterateBatchHeaders,
  type LogStore,
  type Logger,
  type MetaStore,
  StorageError,
  type TopicPartition,
} from '@robustmq/sdk';
import { type PartitionSnapshot, PartitionProducers } from './partition-producers.js';
import { ErrorCode } from './protocol/errors.js';

export type { SequenceCheck } from './partition-producers.js';

const SEQ_KEY = 'kafka/producer-id/next';
const SNAPSHOT_PREFIX = 'kafka/producer-state/';
/** Producer ids handed out per MetaStore write. */
const BLOCK = 1000;
/** Bytes read per fetch while replaying a partition's log. */
const REPLAY_CHUNK = 1 << 20;

export interface ProducerStateOptions {
  /** Interval between snapshots of changed partitions (0: only at shutdown). */
  snapshotMs: number;
  /** Producers without a batch on a partition for this long are forgotten there (Kafka `producer.id.expiration.ms`). */
  expirationMs: number;
}

const snapshotKey = (topic: string, partition: number) => `${SNAPSHOT_PREFIX}${encodeURIComponent(topic)}/${partition}`;

export class ProducerStates {
  private nextId = -1;
  private limit = -1;
  private allocating: Promise<void> | undefined;
  /** Loaded partitions, by `topic\0partition`. */
  private readonly partitions = new Map<string, PartitionProducers>();
  private readonly loading = new Map<string, Promise<PartitionProducers>>();
  /** Latest epoch appended per producer id when above 0 (fences older epochs on every partition). */
  private readonly epochs = new Map<number, number>();
  /** Snapshot writes and topic deletions, one at a time. */
  private io: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastExpiry = Date.now();
  private closed = false;

  constructor(
    private readonly meta: MetaStore,
    private readonly store?: LogStore,
    private readonly logger?: Logger,
    private readonly options: ProducerStateOptions = { snapshotMs: 0, expirationMs: 86400000 },
  ) {
    if (options.snapshotMs > 0) {
      this.timer = setInterval(() => void this.snapshot(), options.snapshotMs);
      this.timer.unref();
    }
  }

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
    return { producerId: this.nextId++, producerEpoch: 0 };
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

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /**
   * The partition's state when it is loaded; otherwise, when `load` is set or a load is already
   * running, a promise of it (produces wait on it, in arrival order); otherwise undefined.
   */
  partition(topic: string, partition: number, load: boolean): PartitionProducers | Promise<PartitionProducers> | undefined {
    const key = ProducerStates.key(topic, partition);
    const loaded = this.partitions.get(key);
    if (loaded) return loaded;
    const running = this.loading.get(key);
    if (running || !load) return running;
    const p: Promise<PartitionProducers> = this.load(topic, partition).then(
      (state) => {
        // Not kept when the topic was deleted while loading.
        if (this.loading.get(key) === p) this.partitions.set(key, state);
        this.loading.delete(key);
        return state;
      },
      (err) => {
        if (this.loading.get(key) === p) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, p);
    return p;
  }

  /** Fences epochs older than the newest appended for a producer id (on any partition). */
  checkEpoch(producerId: number, epoch: number): { kind: 'error'; code: number; message: string } | undefined {
    const known = this.epochs.get(producerId);
    if (known !== undefined && epoch < known)
      return { kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${epoch} is older than ${known}` };
    return undefined;
  }

  /** Notes the epoch of an appended batch. */
  noteEpoch(producerId: number, epoch: number): void {
    // Epoch 0 fences nothing: not kept, so the map only holds producers that bumped their epoch.
    if ((this.epochs.get(producerId) ?? 0) < epoch) this.epochs.set(producerId, epoch);
  }

  /** Rebuilds a partition's state: its snapshot, then the headers of the batches stored after it. */
  private async load(topic: string, partition: number): Promise<PartitionProducers> {
    const state = new PartitionProducers(topic, partition);
    if (!this.store) return state;
    const tp: TopicPartition = { topic, partition };
    const started = Date.now();
    const snapshot = await getJson<PartitionSnapshot>(this.meta, snapshotKey(topic, partition));
    let { logStartOffset, highWatermark } = await this.store.offsets(tp);
    // A snapshot past the log's end belongs to a log that no longer exists: ignore it.
    const usable = snapshot?.v === 1 && snapshot.offset <= highWatermark;
    if (usable) state.restore(snapshot);
    let from = usable ? Math.max(snapshot.offset, logStartOffset) : logStartOffset;
    let scanned = 0;
    const now = Date.now();
    while (from < highWatermark) {
      let batches: Buffer;
      try {
        ({ batches, logStartOffset, highWatermark } = await this.store.fetch(tp, from, REPLAY_CHUNK));
      } catch (err) {
        // Retention moved the log start while replaying: go on from the new start.
        if (err instanceof StorageError && err.code === 'offset-out-of-range') {
          const o = await this.store.offsets(tp);
          if (o.logStartOffset <= from) throw err;
          from = o.logStartOffset;
          continue;
        }
        throw err;
      }
      if (batches.length === 0) break;
      let advanced = false;
      for (const { header } of iterateBatchHeaders(batches)) {
        const last = header.baseOffset + header.lastOffsetDelta;
        if (last < from) continue;
        state.replay(header, now);
        from = last + 1;
        advanced = true;
        scanned++;
      }
      if (!advanced) break;
    }
    for (const [id, p] of state.producers) this.noteEpoch(id, p.epoch);
    state.dirty = !usable || scanned > 0;
    this.logger?.debug(
      {
        topic,
        partition,
        snapshot: usable ? snapshot.offset : null,
        batches: scanned,
        producers: state.producers.size,
        ms: Date.now() - started,
      },
      'kafka: producer state loaded',
    );
    return state;
  }

  /** Writes the snapshots of partitions changed since the last one (one MetaStore batch). */
  snapshot(): Promise<void> {
    const run = this.io.then(() => this.writeSnapshots());
    this.io = run.catch((err) => this.logger?.warn({ err: (err as Error).message }, 'kafka: producer state snapshot failed'));
    return this.io;
  }

  private async writeSnapshots(): Promise<void> {
    if (!this.store) return;
    const now = Date.now();
    if (now - this.lastExpiry >= Math.min(60000, this.options.expirationMs)) {
      this.lastExpiry = now;
      for (const p of this.partitions.values()) p.expire(now - this.options.expirationMs);
    }
    const dirty = [...this.partitions.values()].filter((p) => p.dirty);
    if (dirty.length === 0) return;
    const ops: Array<{ key: string; value: Buffer }> = [];
    for (const p of dirty) {
      p.dirty = false;
      const key = ProducerStates.key(p.topic, p.partition);
      try {
        // Read the high watermark first: every batch below it was issued before the capture.
        const { highWatermark } = await this.store.offsets({ topic: p.topic, partition: p.partition });
        const captured = p.capture();
        await Promise.allSettled(p.pending());
        if (this.partitions.get(key) !== p) continue; // topic deleted meanwhile
        ops.push({
          key: snapshotKey(p.topic, p.partition),
          value: Buffer.from(JSON.stringify(PartitionProducers.serialize(highWatermark, captured))),
        });
      } catch (err) {
        if (this.partitions.get(key) !== p) continue;
        p.dirty = true;
        this.logger?.warn(
          { topic: p.topic, partition: p.partition, err: (err as Error).message },
          'kafka: producer state snapshot failed',
        );
      }
    }
    if (ops.length === 0) return;
    try {
      await this.meta.batch(ops);
    } catch (err) {
      for (const p of dirty) if (this.partitions.get(ProducerStates.key(p.topic, p.partition)) === p) p.dirty = true;
      throw err;
    }
  }

  /** Forgets a deleted topic's producer state (memory and snapshots). */
  dropTopic(topic: string): Promise<void> {
    const prefix = `${topic}\u0000`;
    for (const key of [...this.partitions.keys()]) if (key.startsWith(prefix)) this.partitions.delete(key);
    for (const key of [...this.loading.keys()]) if (key.startsWith(prefix)) this.loading.delete(key);
    const run = this.io.then(async () => {
      const entries = await this.meta.scan(`${SNAPSHOT_PREFIX}${encodeURIComponent(topic)}/`);
      if (entries.length > 0) await this.meta.batch(entries.map((e) => ({ key: e.key, value: undefined })));
    });
    this.io = run.catch((err) => this.logger?.warn({ topic, err: (err as Error).message }, 'kafka: cannot drop producer state'));
    return this.io;
  }

  /** Stops the snapshot timer and writes a last snapshot. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.loading.values()]);
    await this.snapshot();
  }
}
