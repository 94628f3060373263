/**
 * Background upkeep of the bucket, run one step at a time: retention (trim operations),
 * compaction of small objects into larger ones, snapshots of the state, and deletion of objects
 * that neither the newest snapshot nor the live state reference.
 */
import { randomBytes } from 'node:crypto';
import type { Op, RangeRef } from './ops.js';
import { type S3Engine, toStorageError } from './engine.js';
import { DATA_DIR, LOG_DIR, SNAPSHOT_DIR, dataKey, seqOf, snapshotKey } from './layout.js';
import type { IndexEntry } from './state.js';

export interface MaintenanceReport {
  trimmed: number;
  compacted: number;
  snapshot?: number;
  deleted: number;
}

export class Maintenance {
  private running: Promise<MaintenanceReport> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly engine: S3Engine) {}

  start(): void {
    const { clock } = this.engine;
    this.timer = clock.setInterval(() => {
      void this.run().catch((err: Error) => this.engine.logger.warn({ err: err.message }, 'S3 maintenance step failed'));
    }, this.engine.options.maintenanceIntervalMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) this.engine.clock.clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /**
   * One pass; concurrent calls share the pass in progress. `snapshot` forces a snapshot,
   * `snapshotOnly` skips retention and compaction (used at close).
   */
  run(options: { snapshot?: boolean; snapshotOnly?: boolean } = {}): Promise<MaintenanceReport> {
    this.running ??= this.pass(options.snapshot ?? false, options.snapshotOnly ?? false).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(forceSnapshot: boolean, snapshotOnly: boolean): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { trimmed: 0, compacted: 0, deleted: 0 };
    const engine = this.engine;
    if (engine.isClosed || engine.isFenced) return report;
    if (!snapshotOnly) {
      report.trimmed = await this.retention();
      if (engine.options.compaction.enabled) report.compacted = await this.compact();
    }
    const due = engine.durable.seq - engine.lastSnapshotSeq >= engine.options.snapshotEveryObjects;
    if (forceSnapshot || due || report.trimmed > 0 || report.compacted > 0) {
      report.snapshot = await this.snapshot();
      report.deleted = await this.collect(report.snapshot);
    }
    return report;
  }

  /** Trims partitions past their topic's retentionMs / retentionBytes. Returns partitions trimmed. */
  private async retention(): Promise<number> {
    const engine = this.engine;
    const now = engine.clock.now();
    const trims: Op[] = [];
    for (const [name, topic] of engine.durable.topics) {
      const { retentionMs, retentionBytes, cleanupPolicy } = topic.config;
      if (cleanupPolicy === 'compact' || (retentionMs === undefined && retentionBytes === undefined)) continue;
      topic.partitions.forEach((part, p) => {
        let start = part.logStart;
        if (retentionMs !== undefined) {
          for (const e of part.entries) {
            if (e.mts >= now - retentionMs) break;
            start = Math.max(start, e.last + 1);
          }
        }
        if (retentionBytes !== undefined) {
          // Like Kafka's active segment, the newest range is never removed for size.
          let total = part.entries.reduce((sum, e) => sum + e.len, 0);
          for (const e of part.entries.slice(0, -1)) {
            if (total <= retentionBytes) break;
            total -= e.len;
            start = Math.max(start, e.last + 1);
          }
        }
        if (start > part.logStart) trims.push({ t: 'trim', topic: name, p, start });
      });
    }
    if (trims.length === 0) return 0;
    engine.checkWritable();
    for (const op of trims) engine.addOp(op);
    await engine.commit();
    return trims.length;
  }

  /**
   * Merges the oldest run of consecutive small objects (by log position) into one object: per
   * partition their live ranges back to back. Returns the number of objects merged.
   */
  private async compact(): Promise<number> {
    const engine = this.engine;
    const { smallObjectBytes, targetObjectBytes, minObjects } = engine.options.compaction;
    const ordered = [...engine.durable.objects].sort((a, b) => a[1].lo - b[1].lo);
    let run: typeof ordered = [];
    let bytes = 0;
    for (const item of ordered) {
      const small = item[1].size < smallObjectBytes;
      if (small && bytes + item[1].size <= targetObjectBytes) {
        run.push(item);
        bytes += item[1].size;
        continue;
      }
      if (run.length >= minObjects) break;
      run = small ? [item] : [];
      bytes = small ? item[1].size : 0;
    }
    if (run.length < minObjects) return 0;

    const sources = new Set(run.map(([key]) => key));
    const chunks: Buffer[] = [];
    const entries: Extract<Op, { t: 'compact' }>['entries'] = [];
    let pos = 0;
    for (const [name, topic] of engine.durable.topics) {
      for (let p = 0; p < topic.partitions.length; p++) {
        const part = topic.partitions[p];
        const live = part.entries.filter((e) => sources.has(e.object) && e.last >= part.logStart);
        for (const group of splitBySize(live, engine.options.indexIntervalBytes)) {
          const parts = await Promise.all(group.map((e) => engine.readEntry(e)));
          const ref: RangeRef = {
            base: group[0].base,
            last: group.at(-1)!.last,
            start: pos,
            len: parts.reduce((s, b) => s + b.length, 0),
            fts: Math.min(...group.map((e) => e.fts)),
            mts: Math.max(...group.map((e) => e.mts)),
          };
          chunks.push(...parts);
          entries.push({ topic: name, id: topic.id, p, ...ref });
          pos += ref.len;
        }
      }
    }
    const body = Buffer.concat(chunks, pos);
    const key = dataKey(engine.durable.seq, engine.durable.epoch, randomBytes(4).toString('hex'));
    try {
      await engine.io.putIfAbsent(key, body, { writer: engine.writerId });
    } catch (err) {
      throw toStorageError(err, `upload of ${key}`);
    }
    engine.checkWritable();
    engine.addOp({
      t: 'compact',
      object: key,
      size: body.length,
      lo: Math.min(...run.map(([, i]) => i.lo)),
      hi: Math.max(...run.map(([, i]) => i.hi)),
      sources: [...sources],
      entries,
    });
    await engine.commit();
    engine.logger.debug({ objects: run.length, bytes: body.length, key }, 'compacted S3 objects');
    return run.length;
  }

  /** Uploads the durable state as `snapshot/<seq>`. */
  private async snapshot(): Promise<number> {
    const engine = this.engine;
    const seq = engine.durable.seq;
    const body = engine.durable.encode();
    try {
      await engine.io.put(snapshotKey(seq), body);
    } catch (err) {
      throw toStorageError(err, 'snapshot upload');
    }
    engine.lastSnapshotSeq = Math.max(engine.lastSnapshotSeq, seq);
    this.snapshotRefs = new Set(engine.durable.objects.keys());
    this.snapshotClaims = new Set(engine.durable.claims);
    return seq;
  }

  private snapshotRefs = new Set<string>();
  private snapshotClaims = new Set<number>();

  /**
   * Deletes what the snapshot at `seq` made unnecessary: log objects up to `seq` whose batches
   * nobody references (claims excepted, so a stale writer always collides with one), data
   * objects written before `seq` and unreferenced, and older snapshots.
   */
  private async collect(seq: number): Promise<number> {
    const engine = this.engine;
    const live = engine.durable.objects;
    const unused = (key: string) => !this.snapshotRefs.has(key) && !live.has(key);
    const doomed: string[] = [];
    for (const { key } of await engine.io.list(LOG_DIR)) {
      const s = seqOf(key);
      if (s <= seq && !this.snapshotClaims.has(s) && unused(key)) doomed.push(key);
    }
    for (const { key } of await engine.io.list(DATA_DIR)) {
      if (seqOf(key) < seq && unused(key)) doomed.push(key);
    }
    for (const { key } of await engine.io.list(SNAPSHOT_DIR)) {
      if (seqOf(key) < seq) doomed.push(key);
    }
    await engine.io.deleteMany(doomed);
    return doomed.length;
  }
}

/** Consecutive entries grouped so that each group stays within `max` bytes (at least one entry). */
function splitBySize(entries: IndexEntry[], max: number): IndexEntry[][] {
  const groups: IndexEntry[][] = [];
  let current: IndexEntry[] = [];
  let size = 0;
  for (const e of entries) {
    if (current.length > 0 && size + e.len > max) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += e.len;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
