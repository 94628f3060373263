/**
 * The log of one durable queue: persistent messages appended to the kernel LogStore (one topic per
 * queue, partition 0), and which offsets are settled, kept in the MetaStore. Settled offsets below
 * the low mark are released with `deleteRecordsBefore`.
 */
import { getJson, type LogStore, type Logger, type MetaStore, putJson, type RecordInput, type StoredRecord } from '@robustmq/sdk';

interface AckState {
  /** Every offset below this one is settled. */
  low: number;
  /** Settled offsets at or above `low`. */
  settled: number[];
}

/** Log topic name of a durable queue. */
export function queueLogTopic(vhost: string, queue: string): string {
  return `amqp.${encodeURIComponent(vhost)}.${encodeURIComponent(queue)}`;
}

export class DurableLog {
  private low = 0;
  private readonly settled = new Set<number>();
  private pending: Array<{ record: RecordInput; resolve: (o: number) => void; reject: (e: unknown) => void }> = [];
  private flushScheduled = false;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private released = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;
  private destroyed = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LogStore,
    private readonly meta: MetaStore,
    readonly topic: string,
    private readonly metaKey: string,
    private readonly flushMs: number,
    private readonly logger: Logger,
  ) {}

  /** Creates the topic if needed and loads the settled offsets. */
  async open(): Promise<void> {
    await this.store.createTopic(this.topic, { partitions: 1 });
    const state = await getJson<AckState>(this.meta, this.metaKey);
    if (state) {
      this.low = state.low;
      for (const o of state.settled) this.settled.add(o);
    }
    const { logStartOffset } = await this.store.offsets({ topic: this.topic, partition: 0 });
    if (logStartOffset > this.low) this.advance(logStartOffset);
    this.released = logStartOffset;
  }

  /** Calls `fn` for every unsettled record, in offset order. */
  async recover(fn: (r: StoredRecord) => void): Promise<void> {
    const tp = { topic: this.topic, partition: 0 };
    const { highWatermark } = await this.store.offsets(tp);
    let next = this.low;
    while (next < highWatermark) {
      const records = await this.store.read(tp, next, 1000);
      if (records.length === 0) break;
      for (const r of records) if (r.offset >= this.low && !this.settled.has(r.offset)) fn(r);
      next = records[records.length - 1].offset + 1;
    }
  }

  /** Appends a record; resolves with its offset once the store made it durable. Appends of one tick share a batch. */
  append(record: RecordInput): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.writeBatch());
      }
    });
  }

  private writeBatch(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.writes = this.store
      .append(
        { topic: this.topic, partition: 0 },
        batch.map((b) => b.record),
      )
      .then(
        (res) => {
          for (let i = 0; i < batch.length; i++) batch[i].resolve(res.baseOffset + i);
        },
        (err) => {
          for (const b of batch) b.reject(err);
        },
      );
  }

  /** Marks an offset settled (acked, dropped, expired, dead-lettered, purged). */
  settle(offset: number): void {
    if (offset < this.low) return;
    if (offset === this.low) this.advance(offset + 1);
    else this.settled.add(offset);
    this.markDirty();
  }

  /** Settles everything appended so far (purge). */
  async settleAll(): Promise<void> {
    await this.writes;
    const { highWatermark } = await this.store.offsets({ topic: this.topic, partition: 0 });
    this.settled.clear();
    this.low = Math.max(this.low, highWatermark);
    this.markDirty();
  }

  private advance(to: number): void {
    this.low = to;
    while (this.settled.delete(this.low)) this.low++;
    for (const o of this.settled) if (o < this.low) this.settled.delete(o);
  }

  private markDirty(): void {
    this.dirty = true;
    if (this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.saveState().catch((err) =>
          this.logger.warn({ err: (err as Error).message, topic: this.topic }, 'amqp: ack state write failed'),
        );
      }, this.flushMs);
      this.timer.unref?.();
    }
  }

  /** Writes the settled offsets and releases fully settled records. */
  async saveState(): Promise<void> {
    if (!this.dirty || this.destroyed) return;
    this.dirty = false;
    const state: AckState = { low: this.low, settled: [...this.settled].sort((a, b) => a - b) };
    await putJson(this.meta, this.metaKey, state);
    if (this.destroyed) return;
    if (this.low > this.released) {
      this.released = await this.store.deleteRecordsBefore({ topic: this.topic, partition: 0 }, this.low);
    }
  }

  /** Waits for pending appends and writes the ack state. */
  async close(): Promise<void> {
    if (this.pending.length > 0) this.writeBatch();
    await this.writes.catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.saveState();
    this.closed = true;
  }

  /** Deletes the queue's log and ack state (queue.delete). */
  async destroy(): Promise<void> {
    this.closed = true;
    this.destroyed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writes.catch(() => undefined);
    await this.saving;
    await this.store.deleteTopic(this.topic);
    await this.meta.delete(this.metaKey);
  }
}
