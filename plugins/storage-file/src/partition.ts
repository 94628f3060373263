/**
 * One topic-partition log: an ordered list of segments, the append pipeline with group commit, and
 * offset/time lookups.
 *
 * Appends queue up; one writer loop at a time takes as many queued appends as fit in the active
 * segment, assigns their offsets, writes them with one `pwritev`, syncs once (under
 * `fsync: always`) and only then publishes the new high watermark and resolves them. Appends that
 * arrive while a round is in flight form the next round: that is the group commit.
 */
import * as path from 'node:path';
import {
  type AppendResult,
  type BatchHeader,
  batchSize,
  decodeBatchRecords,
  encodeRecordBatch,
  type FetchResult,
  iterateBatchHeaders,
  lastOffsetOf,
  type Logger,
  OffsetOutOfRangeError,
  type PartitionOffsets,
  type RecordInput,
  readBatchHeader,
  StorageError,
  type StoredRecord,
  setBaseOffset,
  type TopicPartition,
} from '@robustmq/sdk';
import { sizeBatch, writeBatch } from './batch-encoder.js';
import { type StorageFs, toStorageError, writeFully } from './fs.js';
import {
  CLEANED_SUFFIX,
  COMPACTED_FILE,
  indexFile,
  LOG_START_FILE,
  parseSegmentFile,
  segmentFile,
  TRASH_PREFIX,
  timeIndexFile,
} from './paths.js';
import { Segment } from './segment.js';
import type { Stage, StagingPool } from './staging.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** Settings that may change at run time (topic config over store defaults). */
export interface PartitionLimits {
  segmentBytes: number;
  segmentMs: number;
  retentionMs?: number;
  retentionBytes?: number;
}

export interface PartitionContext {
  fs: StorageFs;
  logger: Logger;
  now: () => number;
  fsync: FsyncPolicy;
  indexIntervalBytes: number;
  /** Memory appends are encoded into (returned after each round's write). */
  staging: StagingPool;
  limits: () => PartitionLimits;
}

type Pending = {
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
} & ({ records: RecordInput[] } | { batch: Buffer; headers: BatchHeader[] });

interface Prepared {
  entry: Pending;
  /** The bytes to write, in order: staging memory (records) or the log-owned raw batch. */
  pieces: Buffer[];
  size: number;
  /** (position in the pieces, header) of each batch, offsets already assigned. */
  batches: Array<{ at: number; header: BatchHeader }>;
  result: AppendResult;
}

const READ_CHUNK = 1 << 20;

export class PartitionLog {
  private segments: Segment[] = [];
  private logStartOffset = 0;
  /** Offset of the next record; also the high watermark, since only committed data counts. */
  private nextOffset = 0;
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  /** Set when a failed round could not be truncated away; retried before the next write. */
  private truncateTo: number | undefined;
  private closedError: StorageError | undefined;
  /** Offsets may have gaps: compaction ran on this partition (marker file present). */
  private allowGaps = false;
  /** Retention, record deletion and compaction run one at a time. */
  private maintenance: Promise<unknown> = Promise.resolve();
  /** Base offset of the newest sealed segment the last compaction pass covered. */
  private compactedThrough = -1;
  /** A segment file was created since the directory was last synced (`interval`). */
  private dirDirty = false;
  /** Set by retention to roll an expired active segment at the writer's next round. */
  private rollRequested = false;
  /** Background sealing of rolled segments, in roll order. */
  private sealing: Promise<void> = Promise.resolve();

  private constructor(
    readonly tp: TopicPartition,
    readonly dir: string,
    private readonly ctx: PartitionContext,
  ) {}

  private get label(): string {
    return `${this.tp.topic}-${this.tp.partition}`;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** Opens (or creates) the partition in `dir`, recovering the tail of its last segment. */
  static async open(tp: TopicPartition, dir: string, ctx: PartitionContext): Promise<PartitionLog> {
    const log = new PartitionLog(tp, dir, ctx);
    await ctx.fs.mkdir(dir);
    const names = await ctx.fs.readdir(dir);
    const bases: number[] = [];
    for (const name of names) {
      const base = parseSegmentFile(name);
      if (base !== undefined) bases.push(base);
      else if (name.endsWith('.tmp') || name.endsWith(CLEANED_SUFFIX) || name.startsWith(TRASH_PREFIX)) {
        await ctx.fs.rmrf(path.join(dir, name));
      }
    }
    // Index files whose segment is gone (deleted by retention before a crash).
    for (const name of names) {
      const m = /^(\d{20})\.(index|timeindex)$/.exec(name);
      if (m && !bases.includes(Number(m[1]))) await ctx.fs.unlink(path.join(dir, name));
    }
    bases.sort((a, b) => a - b);
    log.allowGaps = await ctx.fs.exists(path.join(dir, COMPACTED_FILE));
    const opts = { indexIntervalBytes: ctx.indexIntervalBytes, logger: ctx.logger, allowGaps: log.allowGaps };
    try {
      if (bases.length === 0) {
        log.segments.push(await Segment.create(ctx.fs, dir, 0, opts));
      } else {
        for (const [i, base] of bases.entries()) {
          log.segments.push(await Segment.open(ctx.fs, dir, base, i === bases.length - 1, opts));
        }
      }
    } catch (err) {
      await Promise.all(log.segments.map((s) => s.close().catch(() => {})));
      throw toStorageError(err, `open partition ${log.label} in ${dir}`);
    }
    // Sealed segments that had to be scanned (no valid index files): sync them and write their
    // indexes in the background, so the next start does not scan them again.
    if (ctx.fsync !== 'never') {
      for (const seg of log.segments.slice(0, -1)) {
        if (seg.indexesTrusted) continue;
        seg.dirty = true;
        log.scheduleSeal(seg);
      }
    }
    const last = log.active;
    // Age-based rolling counts from when this process started appending to the segment.
    last.createdAt = ctx.now();
    log.nextOffset = last.lastOffset + 1;
    let checkpoint = 0;
    try {
      checkpoint = Number((await ctx.fs.readFile(path.join(dir, LOG_START_FILE))).toString('utf8').trim()) || 0;
    } catch {
      // No checkpoint: nothing was ever deleted by offset.
    }
    log.logStartOffset = Math.min(Math.max(checkpoint, log.segments[0].baseOffset), log.nextOffset);
    return log;
  }

  offsets(): PartitionOffsets {
    this.checkOpen();
    return { logStartOffset: this.logStartOffset, highWatermark: this.nextOffset };
  }

  /** Queues records as one batch. */
  append(records: RecordInput[]): Promise<AppendResult> {
    return this.enqueue({ records });
  }

  /** Queues raw batches (already validated by the caller; `batch` is owned by the log). */
  appendBatch(batch: Buffer, headers: BatchHeader[]): Promise<AppendResult> {
    return this.enqueue({ batch, headers });
  }

  private enqueue(fields: { records: RecordInput[] } | { batch: Buffer; headers: BatchHeader[] }): Promise<AppendResult> {
    this.checkOpen();
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ ...fields, resolve, reject } as Pending);
      if (!this.writing) this.writing = this.writeLoop();
    });
  }

  private async writeLoop(): Promise<void> {
    // Let appends issued in the same tick join the first round.
    await Promise.resolve();
    try {
      do await this.writeRound();
      while (this.pending.length > 0 || this.rollRequested);
    } finally {
      this.writing = undefined;
    }
  }

  /** Rolls the active segment through the writer (so it never races an append), when not empty. */
  private async requestRoll(): Promise<void> {
    this.rollRequested = true;
    if (!this.writing) this.writing = this.writeLoop();
    await this.writing;
  }

  private prepare(entry: Pending, offset: number, now: number, stage: Stage): Prepared {
    if ('records' in entry) {
      const sized = sizeBatch(entry.records, now);
      const buf = stage.take(sized.size);
      const header = writeBatch(sized, offset, buf);
      return {
        entry,
        pieces: [buf],
        size: buf.length,
        batches: [{ at: 0, header }],
        result: { baseOffset: offset, lastOffset: lastOffsetOf(header), logAppendTime: now },
      };
    }
    const batches: Prepared['batches'] = [];
    let at = 0;
    let next = offset;
    for (const h of entry.headers) {
      setBaseOffset(entry.batch, at, next);
      batches.push({ at, header: { ...h, baseOffset: next } });
      next += h.lastOffsetDelta + 1;
      at += batchSize(h);
    }
    return {
      entry,
      pieces: [entry.batch],
      size: entry.batch.length,
      batches,
      result: { baseOffset: offset, lastOffset: next - 1, logAppendTime: now },
    };
  }

  private async writeRound(): Promise<void> {
    const now = this.ctx.now();
    const limits = this.ctx.limits();
    const round: Prepared[] = [];
    let offset = this.nextOffset;
    let bytes = 0;
    // Records are encoded into staging memory, given back only once the write has completed.
    const stage = this.ctx.staging.acquire();
    try {
      if (this.truncateTo !== undefined) {
        await this.active.file.truncate(this.truncateTo);
        this.truncateTo = undefined;
      }
      if (this.rollRequested) {
        this.rollRequested = false;
        if (this.active.size > 0) await this.roll(offset);
      }
      while (this.pending.length > 0) {
        const entry = this.pending[0];
        let prepared: Prepared;
        try {
          prepared = this.prepare(entry, offset, now, stage);
        } catch (err) {
          this.pending.shift();
          entry.reject(err);
          continue;
        }
        if (round.length === 0) {
          const seg = this.active;
          const full = seg.size > 0 && seg.size + prepared.size > limits.segmentBytes;
          const old = seg.size > 0 && now - seg.createdAt >= limits.segmentMs;
          if (full || old) await this.roll(offset);
        } else if (this.active.size + bytes + prepared.size > limits.segmentBytes) {
          break; // next round, in a new segment
        }
        this.pending.shift();
        round.push(prepared);
        bytes += prepared.size;
        offset = prepared.result.lastOffset + 1;
      }
      if (round.length === 0) return;
      const seg = this.active;
      const buffers: Buffer[] = [];
      for (const p of round) for (const b of p.pieces) buffers.push(b);
      await writeFully(seg.file, buffers, seg.size);
      if (this.ctx.fsync === 'always') await seg.file.datasync();
      else seg.dirty = true;
    } catch (err) {
      const error = toStorageError(err, `append to ${this.label}`);
      if (round.length > 0) await this.discardTail();
      // Everything taken or still queued in this round fails; later appends retry from a clean tail.
      for (const p of round) p.entry.reject(error);
      if (round.length === 0) for (const p of this.pending.splice(0)) p.reject(error);
      this.ctx.logger.error({ partition: this.label, code: error.code, err: error.message }, 'storage-file: append failed');
      return;
    } finally {
      stage.release();
    }
    this.commit(round, bytes);
  }

  /** Publishes a written round: indexes, sizes, high watermark, then the acknowledgements. */
  private commit(round: Prepared[], bytes: number): void {
    const seg = this.active;
    let pos = seg.size;
    for (const p of round) {
      for (const { at, header } of p.batches) {
        seg.index.onBatch(pos + at, header.baseOffset, batchSize(header), seg.maxTimestamp);
        if (header.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = header.maxTimestamp;
      }
      pos += p.size;
    }
    seg.size += bytes;
    const last = round[round.length - 1].result.lastOffset;
    seg.lastOffset = last;
    this.nextOffset = last + 1;
    for (const p of round) p.entry.resolve(p.result);
  }

  /** Cuts whatever a failed round may have written after the committed size. */
  private async discardTail(): Promise<void> {
    const seg = this.active;
    try {
      await seg.file.truncate(seg.size);
      this.truncateTo = undefined;
    } catch {
      this.truncateTo = seg.size;
    }
  }

  /**
   * Starts a new active segment at `base`. The old one is sealed in the background (fsync when it
   * has unsynced writes, then its index files), so a roll never stalls appends behind a large
   * fsync. Index files are written only after the segment is synced: a sealed segment without
   * them is fully re-validated on the next start.
   */
  private async roll(base: number): Promise<void> {
    const old = this.active;
    // The new file's directory entry: synced now under `always`, with the next periodic sync under
    // `interval`, left to the OS under `never`.
    const seg = await Segment.create(
      this.ctx.fs,
      this.dir,
      base,
      { indexIntervalBytes: this.ctx.indexIntervalBytes, logger: this.ctx.logger },
      this.ctx.fsync === 'always',
    );
    if (this.ctx.fsync === 'interval') this.dirDirty = true;
    seg.createdAt = this.ctx.now();
    this.segments.push(seg);
    this.scheduleSeal(old);
  }

  private scheduleSeal(seg: Segment): void {
    seg.acquire();
    this.sealing = this.sealing.then(() => this.seal(seg)).finally(() => seg.release());
  }

  /**
   * Under `never` nothing is synced, so no index files are written either: a sealed segment without
   * them is CRC-checked on start, which keeps data the OS never flushed from being trusted.
   */
  private async seal(seg: Segment): Promise<void> {
    if (seg.isRetired || this.ctx.fsync === 'never') return;
    try {
      if (seg.dirty) await seg.file.datasync();
      seg.dirty = false;
      await seg.writeIndexes();
    } catch (err) {
      // The data is as durable as the policy promised; a missing index is rebuilt on the next start.
      this.ctx.logger.warn({ segment: seg.logPath, err: (err as Error).message }, 'storage-file: could not seal segment');
    }
  }

  /** Syncs the active segment when it has unsynced writes (interval / never policies, flush). */
  async sync(): Promise<void> {
    await this.writing;
    await this.sealing;
    if (this.dirDirty) {
      this.dirDirty = false;
      try {
        await this.ctx.fs.syncDir(this.dir);
      } catch (err) {
        this.dirDirty = true;
        throw toStorageError(err, `sync directory of ${this.label}`);
      }
    }
    const seg = this.active;
    if (!seg?.dirty) return;
    seg.dirty = false;
    try {
      await seg.file.datasync();
    } catch (err) {
      seg.dirty = true;
      throw toStorageError(err, `sync ${this.label}`);
    }
  }

  /** Index of the segment that would hold `offset`. */
  private segmentFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid].baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  async fetch(offset: number, maxBytes: number): Promise<FetchResult> {
    // A segment retired (deleted by retention, replaced by compaction) under a running read makes
    // it start over on the current segment list.
    for (;;) {
      const result = await this.fetchOnce(offset, maxBytes);
      if (result) return result;
    }
  }

  private async fetchOnce(offset: number, maxBytes: number): Promise<FetchResult | undefined> {
    const range = this.offsets();
    if (offset < range.logStartOffset || offset > range.highWatermark) throw new OffsetOutOfRangeError(this.tp, offset, range);
    const parts: Buffer[] = [];
    let total = 0;
    let target = offset;
    const segments = this.segments.slice();
    for (let i = this.segmentFor(offset); i < segments.length && target < range.highWatermark; i++) {
      const seg = segments[i];
      seg.acquire();
      try {
        this.checkOpen(); // closed (topic deleted, store closed) while this read was waiting
        if (seg.isRetired) return undefined;
        const limit = seg.size;
        const loc = await seg.locate(target, limit);
        if (!loc) continue;
        const first = batchSize(loc.header);
        const room = maxBytes - total;
        if (parts.length > 0 && first > room) break;
        const chunk = await seg.read(loc.position, Math.max(first, Math.min(room, limit - loc.position)));
        let cut = 0;
        for (const { pos, header } of iterateBatchHeaders(chunk)) {
          if (header.baseOffset >= range.highWatermark) break;
          cut = pos + batchSize(header);
          target = lastOffsetOf(header) + 1;
        }
        if (cut === 0) break;
        parts.push(cut === chunk.length ? chunk : chunk.subarray(0, cut));
        total += cut;
        if (loc.position + cut < limit) break; // maxBytes reached inside this segment
      } finally {
        seg.release();
      }
    }
    const batches = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    return { ...range, batches };
  }

  /** Decoded records from `offset` (clamped to the log start), at most `maxRecords`. */
  async read(offset: number, maxRecords: number): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    let next = Math.max(offset, this.offsets().logStartOffset);
    while (out.length < maxRecords && next < this.nextOffset) {
      // Enough bytes for the records still wanted (fetch returns at least one whole batch).
      const { batches } = await this.fetch(next, Math.min(READ_CHUNK, Math.max(16 * 1024, (maxRecords - out.length) * 512)));
      if (batches.length === 0) break;
      for (const { pos, header } of iterateBatchHeaders(batches)) {
        if (lastOffsetOf(header) < next) continue;
        for (const r of decodeBatchRecords(batches, pos, header)) {
          if (r.offset >= next && out.length < maxRecords) out.push(r);
        }
        next = lastOffsetOf(header) + 1;
        if (out.length >= maxRecords) break;
      }
    }
    return out;
  }

  async offsetForTimestamp(timestamp: number): Promise<number | undefined> {
    const { logStartOffset, highWatermark } = this.offsets();
    const segments = this.segments.slice();
    for (let i = this.segmentFor(logStartOffset); i < segments.length; i++) {
      const seg = segments[i];
      if (seg.maxTimestamp < timestamp) continue;
      seg.acquire();
      try {
        this.checkOpen(); // closed (topic deleted, store closed) while this read was waiting
        if (seg.isRetired) return this.offsetForTimestamp(timestamp); // start over on the current segments
        let from = seg.index.lookupTime(timestamp);
        const limit = seg.size;
        while (from < limit) {
          let found: { position: number; header: BatchHeader } | undefined;
          await seg.scan(from, limit, false, (position, header) => {
            if (header.maxTimestamp >= timestamp && lastOffsetOf(header) >= logStartOffset) {
              found = { position, header };
              return false;
            }
            return true;
          });
          if (!found || found.header.baseOffset >= highWatermark) break;
          const buf = await seg.read(found.position, batchSize(found.header));
          const hit = decodeBatchRecords(buf, 0, readBatchHeader(buf, 0)).find(
            (r) => r.timestamp >= timestamp && r.offset >= logStartOffset && r.offset < highWatermark,
          );
          if (hit) return hit.offset;
          from = found.position + batchSize(found.header);
        }
      } finally {
        seg.release();
      }
    }
    return undefined;
  }

  /** Advances the log start offset (persisted) and drops whole segments below it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maintenance.then(fn);
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  deleteRecordsBefore(offset: number): Promise<number> {
    this.checkOpen();
    return this.exclusive(() => this.deleteRecordsBeforeNow(offset));
  }

  private async deleteRecordsBeforeNow(offset: number): Promise<number> {
    const range = this.offsets();
    if (offset > range.highWatermark) throw new OffsetOutOfRangeError(this.tp, offset, range);
    if (offset <= this.logStartOffset) return this.logStartOffset;
    try {
      await this.ctx.fs.writeFileAtomic(path.join(this.dir, LOG_START_FILE), Buffer.from(String(offset)));
    } catch (err) {
      throw toStorageError(err, `delete records of ${this.label}`);
    }
    this.logStartOffset = offset;
    await this.dropSegments(this.countBelowStart());
    return this.logStartOffset;
  }

  private countBelowStart(): number {
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n + 1].baseOffset <= this.logStartOffset) n++;
    return n;
  }

  /**
   * Deletes sealed segments past retention: by age (their newest timestamp older than
   * retentionMs) and by size (oldest first while the rest still holds retentionBytes). The active
   * segment is never deleted. Returns how many segments went.
   */
  applyRetention(now: number): Promise<number> {
    return this.exclusive(() => this.applyRetentionNow(now));
  }

  private async applyRetentionNow(now: number): Promise<number> {
    if (this.closedError) return 0;
    const { retentionMs, retentionBytes } = this.ctx.limits();
    // An active segment whose data is all past retention is rolled so that it can go too.
    if (retentionMs !== undefined && this.active.size > 0 && this.active.maxTimestamp < now - retentionMs) {
      await this.requestRoll();
      if (this.closedError) return 0;
    }
    const sealed = this.segments.length - 1;
    let n = this.countBelowStart();
    if (retentionMs !== undefined) {
      while (n < sealed && this.segments[n].maxTimestamp < now - retentionMs) n++;
    }
    if (retentionBytes !== undefined) {
      let total = this.segments.reduce((sum, s) => sum + s.size, 0);
      let k = 0;
      while (k < sealed && total - this.segments[k].size >= retentionBytes) total -= this.segments[k++].size;
      n = Math.max(n, k);
    }
    await this.dropSegments(n);
    return n;
  }

  private async dropSegments(n: number): Promise<void> {
    if (n <= 0) return;
    const gone = this.segments.splice(0, n);
    this.logStartOffset = Math.max(this.logStartOffset, this.segments[0].baseOffset);
    for (const seg of gone) {
      try {
        await seg.delete();
      } catch (err) {
        this.ctx.logger.warn({ segment: seg.logPath, err: (err as Error).message }, 'storage-file: could not delete segment');
      }
    }
  }

  /**
   * Key compaction of the sealed segments (topics with `cleanupPolicy: 'compact'`): a record is
   * dropped when a later record in the log has the same key. Records keep their offsets (batches
   * get gaps), batches left whole keep their bytes, records without a key and tombstones stay,
   * and the log start offset does not move. Each rewritten segment goes to `<base>.log.cleaned`,
   * is synced and renamed over the original; readers holding the old file keep reading it.
   * Runs only when a segment was sealed since the last pass. Returns the records removed.
   */
  compact(): Promise<number> {
    return this.exclusive(async () => {
      await this.sealing; // sealed segments have their final index files before they are rewritten
      const sealed = this.segments.slice(0, -1);
      if (this.closedError || sealed.length === 0 || sealed[sealed.length - 1].baseOffset === this.compactedThrough) return 0;
      const latest = new Map<string, number>();
      for (const seg of this.segments.slice()) {
        await this.eachRecordBatch(seg, (records) => {
          for (const r of records) if (r.key) latest.set(r.key.toString('latin1'), r.offset);
        });
      }
      let removed = 0;
      for (const seg of sealed) {
        if (this.closedError) return removed;
        removed += await this.rewrite(seg, latest);
      }
      this.compactedThrough = sealed[sealed.length - 1].baseOffset;
      return removed;
    });
  }

  private async eachRecordBatch(
    seg: Segment,
    fn: (records: StoredRecord[], buf: Buffer, pos: number, header: BatchHeader) => void,
  ): Promise<void> {
    seg.acquire();
    try {
      await seg.forEachBatch(seg.size, (buf, pos, header) => fn(decodeBatchRecords(buf, pos, header), buf, pos, header));
    } finally {
      seg.release();
    }
  }

  private async rewrite(seg: Segment, latest: Map<string, number>): Promise<number> {
    const out: Buffer[] = [];
    let removed = 0;
    await this.eachRecordBatch(seg, (records, buf, pos, h) => {
      const keep = records.filter((r) => r.key === null || latest.get(r.key.toString('latin1')) === r.offset);
      removed += records.length - keep.length;
      if (keep.length === records.length) out.push(Buffer.from(buf.subarray(pos, pos + batchSize(h))));
      else if (keep.length > 0) {
        out.push(
          encodeRecordBatch(
            keep.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
            {
              baseOffset: h.baseOffset,
              offsets: keep.map((r) => r.offset),
              partitionLeaderEpoch: h.partitionLeaderEpoch,
              producerId: h.producerId,
              producerEpoch: h.producerEpoch,
              baseSequence: h.baseSequence,
            },
          ),
        );
      }
    });
    if (removed === 0) return 0;
    const { fs } = this.ctx;
    const base = seg.baseOffset;
    const logPath = path.join(this.dir, segmentFile(base));
    if (!this.allowGaps) {
      // Before the first rewrite lands: from now on recovery must accept offset gaps here.
      await fs.writeFileAtomic(path.join(this.dir, COMPACTED_FILE), Buffer.from('1\n'));
      this.allowGaps = true;
    }
    const cleaned = await fs.open(`${logPath}${CLEANED_SUFFIX}`, true);
    try {
      await cleaned.truncate(0);
      if (out.length > 0) await writeFully(cleaned, out, 0);
      await cleaned.datasync();
    } finally {
      await cleaned.close();
    }
    for (const name of [indexFile(base), timeIndexFile(base)]) {
      await fs.unlink(path.join(this.dir, name)).catch(() => undefined);
    }
    await fs.rename(`${logPath}${CLEANED_SUFFIX}`, logPath);
    await fs.syncDir(this.dir);
    const fresh = await Segment.open(fs, this.dir, base, true, {
      indexIntervalBytes: this.ctx.indexIntervalBytes,
      logger: this.ctx.logger,
      allowGaps: true,
    });
    await fresh.writeIndexes();
    const at = this.segments.indexOf(seg);
    if (at >= 0 && !this.closedError) this.segments[at] = fresh;
    else await fresh.close();
    seg.retire();
    await seg.close(); // the old file: closes once in-flight reads are done with it
    return removed;
  }

  /** Sizes for tests and metrics. */
  segmentInfo(): Array<{ baseOffset: number; size: number }> {
    return this.segments.map((s) => ({ baseOffset: s.baseOffset, size: s.size }));
  }

  private checkOpen(): void {
    if (this.closedError) throw this.closedError;
  }

  /**
   * Waits for the round in flight, syncs and closes. Appends queued afterwards fail with `error`.
   */
  async close(error: StorageError = new StorageError('storage-file is closed', 'closed')): Promise<void> {
    if (this.closedError) return;
    while (this.writing) await this.writing;
    this.closedError = error;
    await this.sealing;
    await this.maintenance;
    for (const p of this.pending.splice(0)) p.reject(error);
    const seg = this.active;
    if (seg.dirty) await seg.file.datasync().catch(() => {});
    await Promise.all(this.segments.map((s) => s.close().catch(() => {})));
  }
}
