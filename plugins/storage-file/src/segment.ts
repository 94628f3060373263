/**
 * One segment of a partition log: a file of back-to-back RecordBatch v2 batches whose first batch
 * starts at `baseOffset`, plus its sparse {@link SegmentIndex}.
 */
import * as path from 'node:path';
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  type BatchHeader,
  batchSize,
  iterateBatchHeaders,
  lastOffsetOf,
  type Logger,
  RECORD_BATCH_MAGIC,
  readBatchHeader,
  validateBatch,
} from '@robustmq/sdk';
import { readAt, type StorageFile, type StorageFs } from './fs.js';
import { indexFile, segmentFile, timeIndexFile } from './paths.js';
import { SegmentIndex } from './segment-index.js';

const SCAN_CHUNK = 1 << 20;
/** Lookups start within about one index interval of their batch: read little. */
const LOCATE_CHUNK = 16 * 1024;

/** Called for each batch during a scan; return false to stop. */
type Visit = (position: number, header: BatchHeader) => boolean | undefined;

export interface SegmentOptions {
  indexIntervalBytes: number;
  logger: Logger;
  /** Offsets may jump between batches (the partition was compacted). Default: contiguous. */
  allowGaps?: boolean;
}

export class Segment {
  /** Committed bytes: everything below is acknowledged and readable. */
  size = 0;
  /** Largest batch max timestamp in the segment (-Infinity when empty). */
  maxTimestamp = Number.NEGATIVE_INFINITY;
  /** Offset of the last record (baseOffset - 1 when empty). */
  lastOffset: number;
  /** Wall-clock time the segment was opened for appends (segmentMs rolls). */
  createdAt = Date.now();
  /** Written since the last fsync (interval/never policies). */
  dirty = false;
  /** Opened from index files that matched the log (no scan was needed). */
  indexesTrusted = false;
  private refs = 0;
  private deleted = false;
  private replaced = false;
  private closed = false;
  /** close() calls waiting for in-flight reads to release the file. */
  private closeWaiters: Array<() => void> = [];

  private constructor(
    private readonly fs: StorageFs,
    readonly dir: string,
    readonly baseOffset: number,
    readonly file: StorageFile,
    public index: SegmentIndex,
  ) {
    this.lastOffset = baseOffset - 1;
  }

  get logPath(): string {
    return path.join(this.dir, segmentFile(this.baseOffset));
  }

  /** Creates a new empty segment (and makes its directory entry durable). */
  static async create(fs: StorageFs, dir: string, baseOffset: number, opts: SegmentOptions, syncDir = true): Promise<Segment> {
    const file = await fs.open(path.join(dir, segmentFile(baseOffset)), true);
    try {
      await file.truncate(0);
      if (syncDir) await fs.syncDir(dir);
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
    return new Segment(fs, dir, baseOffset, file, new SegmentIndex(baseOffset, opts.indexIntervalBytes));
  }

  /**
   * Opens an existing segment. `recover` (the last segment of a partition) validates every batch
   * by CRC and truncates a torn tail. A sealed segment trusts its index files when they match the
   * log size, and is fully scanned (and repaired) otherwise.
   */
  static async open(fs: StorageFs, dir: string, baseOffset: number, recover: boolean, opts: SegmentOptions): Promise<Segment> {
    const file = await fs.open(path.join(dir, segmentFile(baseOffset)), false);
    const seg = new Segment(fs, dir, baseOffset, file, new SegmentIndex(baseOffset, opts.indexIntervalBytes));
    try {
      const fileSize = await file.size();
      if (!recover) {
        const loaded = await seg.loadIndexes(fileSize, opts.indexIntervalBytes);
        if (loaded) {
          seg.indexesTrusted = true;
          return seg;
        }
        opts.logger.info({ segment: seg.logPath }, 'storage-file: index missing or stale, rebuilding');
      }
      await seg.recover(fileSize, opts.logger, opts.allowGaps ?? false);
      return seg;
    } catch (err) {
      await file.close().catch(() => {});
      throw err;
    }
  }

  private async loadIndexes(fileSize: number, intervalBytes: number): Promise<boolean> {
    let offsets: Buffer;
    let times: Buffer;
    try {
      offsets = await this.fs.readFile(path.join(this.dir, indexFile(this.baseOffset)));
      times = await this.fs.readFile(path.join(this.dir, timeIndexFile(this.baseOffset)));
    } catch {
      return false;
    }
    const index = SegmentIndex.load(this.baseOffset, intervalBytes, fileSize, offsets, times);
    if (!index) return false;
    // Walk the batches after the last index entry to learn the tail (last offset, max timestamp)
    // and to check the file ends on a batch boundary.
    const from = index.offsetPositions.at(-1) ?? 0;
    let maxTs = index.times.at(-1) ?? Number.NEGATIVE_INFINITY;
    let last = this.baseOffset - 1;
    const end = await this.scan(from, fileSize, false, (_pos, h) => {
      if (h.maxTimestamp > maxTs) maxTs = h.maxTimestamp;
      last = lastOffsetOf(h);
      return true;
    });
    if (end !== fileSize) return false;
    this.index = index;
    this.size = fileSize;
    this.maxTimestamp = maxTs;
    this.lastOffset = last;
    return true;
  }

  /** Full CRC scan from the start: rebuilds the index and truncates anything after the last valid batch. */
  private async recover(fileSize: number, logger: Logger, allowGaps: boolean): Promise<void> {
    const index = new SegmentIndex(this.baseOffset, this.index.intervalBytes);
    let maxTs = Number.NEGATIVE_INFINITY;
    let next = this.baseOffset;
    const end = await this.scan(0, fileSize, true, (pos, h) => {
      // Appends are contiguous, so any other base offset (not covered by the CRC) is damage;
      // after compaction offsets may jump forward, never back.
      if (allowGaps ? h.baseOffset < next : h.baseOffset !== next) return false;
      index.onBatch(pos, h.baseOffset, batchSize(h), maxTs);
      if (h.maxTimestamp > maxTs) maxTs = h.maxTimestamp;
      next = lastOffsetOf(h) + 1;
      return true;
    });
    if (end < fileSize) {
      logger.warn(
        { segment: this.logPath, validBytes: end, fileBytes: fileSize },
        'storage-file: truncating torn or corrupt tail of segment',
      );
      await this.file.truncate(end);
      await this.file.datasync();
    }
    this.index = index;
    this.size = end;
    this.maxTimestamp = maxTs;
    this.lastOffset = next - 1;
  }

  /**
   * Walks batches from `from` to `end`, optionally checking CRCs. Returns the position after the
   * last good batch visited (or where `visit` stopped).
   */
  async scan(from: number, end: number, verify: boolean, visit: Visit, chunkSize = SCAN_CHUNK): Promise<number> {
    let pos = from;
    outer: while (end - pos >= BATCH_HEADER_SIZE) {
      const chunk = await readAt(this.file, pos, Math.min(chunkSize, end - pos));
      let p = 0;
      while (chunk.length - p >= BATCH_HEADER_SIZE) {
        const h = readBatchHeader(chunk, p);
        if (h.magic !== RECORD_BATCH_MAGIC || h.batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) return pos + p;
        const size = batchSize(h);
        if (pos + p + size > end) return pos + p;
        let buf = chunk;
        let at = p;
        if (p + size > chunk.length) {
          if (p > 0) break; // refill the chunk from this batch
          if (!verify) {
            // A batch larger than the chunk: the header is all a walk needs.
            if (visit(pos, h) === false) return pos;
            pos += size;
            continue outer;
          }
          buf = await readAt(this.file, pos, size);
          at = 0;
        }
        if (verify) {
          try {
            validateBatch(buf, at);
          } catch {
            return pos + p;
          }
        }
        if (visit(pos + p, h) === false) return pos + p;
        if (buf !== chunk) {
          pos += size;
          continue outer;
        }
        p += size;
      }
      if (p === 0) return pos;
      pos += p;
    }
    return pos;
  }

  /**
   * Finds the batch holding `offset` (or the first after it) below `limit` bytes.
   * Returns its position and header, or undefined when the segment has nothing at or after it.
   */
  async locate(offset: number, limit: number): Promise<{ position: number; header: BatchHeader } | undefined> {
    let found: { position: number; header: BatchHeader } | undefined;
    await this.scan(
      this.index.lookupOffset(offset),
      limit,
      false,
      (position, header) => {
        if (lastOffsetOf(header) >= offset) {
          found = { position, header };
          return false;
        }
        return true;
      },
      LOCATE_CHUNK,
    );
    return found;
  }

  /** Finds the first batch whose max timestamp is ≥ `timestamp`, below `limit` bytes. */
  async locateTime(
    timestamp: number,
    minOffset: number,
    limit: number,
  ): Promise<{ position: number; header: BatchHeader } | undefined> {
    let found: { position: number; header: BatchHeader } | undefined;
    await this.scan(this.index.lookupTime(timestamp), limit, false, (position, header) => {
      if (header.maxTimestamp >= timestamp && lastOffsetOf(header) >= minOffset) {
        found = { position, header };
        return false;
      }
      return true;
    });
    return found;
  }

  /** Calls `fn` for every whole batch below `limit` bytes, in order (compaction). */
  async forEachBatch(limit: number, fn: (buf: Buffer, pos: number, header: BatchHeader) => void): Promise<void> {
    let pos = 0;
    while (limit - pos >= BATCH_HEADER_SIZE) {
      const chunk = await readAt(this.file, pos, Math.min(SCAN_CHUNK, limit - pos));
      let next = 0;
      for (const { pos: at, header } of iterateBatchHeaders(chunk)) {
        fn(chunk, at, header);
        next = at + batchSize(header);
      }
      if (next === 0) {
        // A batch larger than the chunk.
        const header = readBatchHeader(chunk, 0);
        fn(await readAt(this.file, pos, batchSize(header)), 0, header);
        next = batchSize(header);
      }
      pos += next;
    }
  }

  read(position: number, length: number): Promise<Buffer> {
    return readAt(this.file, position, length);
  }

  /** Persists both indexes for the current size (sealed segments and clean shutdown). */
  async writeIndexes(): Promise<void> {
    await this.fs.writeFileAtomic(path.join(this.dir, indexFile(this.baseOffset)), this.index.serializeOffsets(this.size));
    await this.fs.writeFileAtomic(path.join(this.dir, timeIndexFile(this.baseOffset)), this.index.serializeTimes(this.size));
  }

  /** Deleted, or replaced by a compacted copy: readers must go back to the partition's list. */
  get isRetired(): boolean {
    return this.deleted || this.replaced;
  }

  /** Marks the segment as replaced (compaction) so readers that still hold it start over. */
  retire(): void {
    this.replaced = true;
  }

  /** Pins the file open during a read. */
  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && (this.deleted || this.closeWaiters.length > 0)) {
      const waiters = this.closeWaiters.splice(0);
      void this.closeFile()
        .catch(() => {})
        .finally(() => {
          for (const done of waiters) done();
        });
    }
  }

  /** Deletes the files; the handle closes once in-flight reads release it (POSIX keeps it readable). */
  async delete(): Promise<void> {
    this.deleted = true;
    for (const name of [segmentFile(this.baseOffset), indexFile(this.baseOffset), timeIndexFile(this.baseOffset)]) {
      await this.fs.unlink(path.join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    if (this.refs === 0) await this.closeFile();
  }

  /** Closes the file once in-flight reads (and a pending seal) are done with it. */
  async close(): Promise<void> {
    if (this.refs === 0) return this.closeFile();
    await new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
    });
  }

  private async closeFile(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }
}
