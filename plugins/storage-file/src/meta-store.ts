/**
 * The file MetaStore: the whole key space in memory, made durable by a write-ahead journal (WAL)
 * with periodic snapshots.
 *
 * Writes queue up; one writer loop at a time evaluates the queued requests in order (compare-and-set
 * sees the effect of every earlier request), appends one WAL record per request with a single
 * write, syncs once under `fsync: always` (group commit), and only then applies them to the
 * in-memory map and resolves. Readers therefore see only durable state, and a batch becomes
 * visible all at once.
 *
 * Every `snapshotEvery` records the writer starts a new WAL file and writes a snapshot of the map
 * as of the end of the previous one; once the snapshot is durable the older files are deleted.
 * Start-up loads the newest valid snapshot and replays the WAL files after it, dropping a torn
 * record at the very end.
 */
import * as path from 'node:path';
import { type Logger, type MetaEntry, type MetaStore, StorageError } from '@robustmq/sdk';
import { nodeFs, readAt, type StorageFile, type StorageFs, toStorageError, writeFully } from './fs.js';
import { decodeSnapshot, decodeWal, encodeSnapshot, encodeWalRecord, type MetaOp } from './meta-codec.js';
import { offsetName } from './paths.js';
import type { FsyncPolicy } from './partition.js';

export interface FileMetaStoreOptions {
  /** The `meta` directory. */
  dir: string;
  logger: Logger;
  fs?: StorageFs;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** WAL records between snapshots. */
  snapshotEvery: number;
}

type RequestBody =
  | { kind: 'put'; key: string; value: Buffer }
  | { kind: 'delete'; key: string }
  | { kind: 'cas'; key: string; expected: Buffer | undefined; next: Buffer | undefined }
  | { kind: 'batch'; ops: MetaOp[] };

type Request = RequestBody & {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
};

const walName = (seq: number) => `wal-${offsetName(seq)}.log`;
const snapshotName = (seq: number) => `snapshot-${offsetName(seq)}.snap`;

function parseName(name: string, kind: 'wal' | 'snapshot'): number | undefined {
  const m = (kind === 'wal' ? /^wal-(\d{20})\.log$/ : /^snapshot-(\d{20})\.snap$/).exec(name);
  return m ? Number(m[1]) : undefined;
}

function sameValue(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.equals(b);
}

export class FileMetaStore implements MetaStore {
  private readonly state = new Map<string, Buffer>();
  private readonly fs: StorageFs;
  private wal!: StorageFile;
  private walSeq = 0;
  private walSize = 0;
  private walDirty = false;
  /** Set when a failed write could not be truncated away; retried before the next write. */
  private walTruncateTo: number | undefined;
  private recordsSinceSnapshot = 0;
  /** Approximate size of the key space (key characters + value bytes). */
  private stateBytes = 0;
  private snapshotting: Promise<void> | undefined;
  /** snapshot() calls waiting for the writer to rotate. */
  private forced: Array<() => void> = [];
  private queue: Request[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly opts: FileMetaStoreOptions) {
    this.fs = opts.fs ?? nodeFs;
  }

  /** Loads the snapshot and WAL files under `opts.dir` and opens the journal for appends. */
  static async open(opts: FileMetaStoreOptions): Promise<FileMetaStore> {
    const store = new FileMetaStore(opts);
    try {
      await store.recover();
    } catch (err) {
      throw toStorageError(err, `open metadata store in ${opts.dir}`);
    }
    if (opts.fsync === 'interval') {
      store.timer = setInterval(() => {
        store.flush().catch((err) => opts.logger.error({ err: (err as Error).message }, 'storage-file: meta fsync failed'));
      }, opts.fsyncIntervalMs);
      store.timer.unref();
    }
    return store;
  }

  private async recover(): Promise<void> {
    const { dir, logger } = this.opts;
    await this.fs.mkdir(dir);
    const names = await this.fs.readdir(dir);
    const snapshots = names.map((n) => parseName(n, 'snapshot')).filter((n): n is number => n !== undefined);
    const wals = names.map((n) => parseName(n, 'wal')).filter((n): n is number => n !== undefined);
    for (const n of names) if (n.endsWith('.tmp')) await this.fs.unlink(path.join(dir, n));
    snapshots.sort((a, b) => b - a);
    wals.sort((a, b) => a - b);

    let covered = 0;
    let loaded = false;
    for (const seq of snapshots) {
      const snap = decodeSnapshot(await this.fs.readFile(path.join(dir, snapshotName(seq))));
      if (!snap) {
        logger.warn({ file: snapshotName(seq) }, 'storage-file: ignoring damaged metadata snapshot');
        continue;
      }
      this.apply(snap.entries.map(([key, value]) => ({ key, value })));
      covered = snap.walSeq;
      loaded = true;
      break;
    }
    const replay = wals.filter((s) => s > covered);
    if (snapshots.length > 0 && !loaded && wals[0] !== 1) {
      throw new StorageError(`metadata snapshots in ${dir} are all damaged and older journal files are gone`, 'corrupt');
    }
    for (const [i, seq] of replay.entries()) {
      const file = path.join(dir, walName(seq));
      const buf = await this.fs.readFile(file);
      const { records, validBytes } = decodeWal(buf);
      for (const ops of records) this.apply(ops);
      this.recordsSinceSnapshot += records.length;
      if (validBytes < buf.length) {
        if (i < replay.length - 1) {
          throw new StorageError(`metadata journal ${file} is damaged at byte ${validBytes} and is not the last one`, 'corrupt');
        }
        logger.warn({ file, validBytes, fileBytes: buf.length }, 'storage-file: truncating torn tail of metadata journal');
      }
    }
    // Journal files already covered by the snapshot are leftovers of an interrupted cleanup.
    for (const seq of wals) if (seq <= covered) await this.fs.unlink(path.join(dir, walName(seq)));
    for (const seq of snapshots) if (seq < covered) await this.fs.unlink(path.join(dir, snapshotName(seq)));

    this.walSeq = replay.at(-1) ?? covered + 1;
    this.wal = await this.fs.open(path.join(dir, walName(this.walSeq)), true);
    this.walSize = await this.wal.size();
    const valid = replay.length ? decodeWal(await readAt(this.wal, 0, this.walSize)).validBytes : 0;
    if (valid < this.walSize) {
      await this.wal.truncate(valid);
      await this.wal.datasync();
      this.walSize = valid;
    }
    await this.fs.syncDir(dir);
  }

  private apply(ops: MetaOp[]): void {
    for (const op of ops) {
      const previous = this.state.get(op.key);
      if (previous !== undefined) this.stateBytes -= op.key.length + previous.length;
      if (op.value === undefined) this.state.delete(op.key);
      else {
        this.state.set(op.key, op.value);
        this.stateBytes += op.key.length + op.value.length;
      }
    }
  }

  /**
   * A snapshot costs the whole key space, so it waits for both `snapshotEvery` records and a
   * journal at least half the size of the state: snapshot work stays proportional to journal bytes.
   */
  private snapshotDue(): boolean {
    return this.recordsSinceSnapshot >= this.opts.snapshotEvery && this.walSize >= this.stateBytes / 2;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('storage-file metadata store is closed', 'closed');
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.checkOpen();
    const v = this.state.get(key);
    return v === undefined ? undefined : Buffer.from(v);
  }

  async scan(prefix: string): Promise<MetaEntry[]> {
    this.checkOpen();
    const out: MetaEntry[] = [];
    for (const [key, value] of this.state) if (key.startsWith(prefix)) out.push({ key, value: Buffer.from(value) });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.enqueue({ kind: 'put', key, value: Buffer.from(value) }) as Promise<void>;
  }

  delete(key: string): Promise<boolean> {
    return this.enqueue({ kind: 'delete', key }) as Promise<boolean>;
  }

  compareAndSet(key: string, expected: Buffer | undefined, next: Buffer | undefined): Promise<boolean> {
    return this.enqueue({
      kind: 'cas',
      key,
      expected: expected === undefined ? undefined : Buffer.from(expected),
      next: next === undefined ? undefined : Buffer.from(next),
    }) as Promise<boolean>;
  }

  batch(ops: Array<{ key: string; value: Buffer | undefined }>): Promise<void> {
    const copy = ops.map((op) => ({ key: op.key, value: op.value === undefined ? undefined : Buffer.from(op.value) }));
    return this.enqueue({ kind: 'batch', ops: copy }) as Promise<void>;
  }

  private enqueue(fields: RequestBody): Promise<unknown> {
    try {
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ...fields, resolve, reject } as Request);
      if (!this.writing) this.writing = this.writeLoop();
    });
  }

  private async writeLoop(): Promise<void> {
    await Promise.resolve();
    try {
      while (this.queue.length > 0) await this.writeRound(this.queue.splice(0));
    } finally {
      this.writing = undefined;
    }
  }

  private async writeRound(round: Request[]): Promise<void> {
    // Evaluate in order against the committed state plus this round's earlier writes.
    const overlay = new Map<string, Buffer | undefined>();
    const view = (key: string) => (overlay.has(key) ? overlay.get(key) : this.state.get(key));
    const records: Buffer[] = [];
    const results: unknown[] = [];
    const allOps: MetaOp[] = [];
    for (const req of round) {
      let ops: MetaOp[] = [];
      let result: unknown;
      switch (req.kind) {
        case 'put':
          ops = [{ key: req.key, value: req.value }];
          break;
        case 'delete':
          result = view(req.key) !== undefined;
          if (result) ops = [{ key: req.key, value: undefined }];
          break;
        case 'cas':
          result = sameValue(view(req.key), req.expected);
          if (result) ops = [{ key: req.key, value: req.next }];
          break;
        case 'batch':
          ops = req.ops;
          break;
      }
      for (const op of ops) overlay.set(op.key, op.value);
      if (ops.length > 0) records.push(encodeWalRecord(ops));
      for (const op of ops) allOps.push(op);
      results.push(result);
    }
    if (records.length > 0) {
      try {
        if (this.walTruncateTo !== undefined) {
          await this.wal.truncate(this.walTruncateTo);
          this.walTruncateTo = undefined;
        }
        const written = await writeFully(this.wal, records, this.walSize);
        if (this.opts.fsync === 'always') await this.wal.datasync();
        else this.walDirty = true;
        this.walSize += written;
      } catch (err) {
        const error = toStorageError(err, 'metadata write');
        try {
          await this.wal.truncate(this.walSize);
        } catch {
          this.walTruncateTo = this.walSize;
        }
        this.opts.logger.error({ code: error.code, err: error.message }, 'storage-file: metadata write failed');
        for (const req of round) req.reject(error);
        return;
      }
    }
    this.apply(allOps);
    this.recordsSinceSnapshot += records.length;
    for (const [i, req] of round.entries()) req.resolve(results[i]);
    const forced = this.forced.splice(0);
    if (forced.length > 0 || (!this.snapshotting && this.snapshotDue())) {
      try {
        if (forced.length > 0) await this.snapshotting; // one snapshot at a time
        await this.rotate();
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'storage-file: metadata journal rotation failed; will retry');
      } finally {
        for (const done of forced) done();
      }
    }
  }

  /** Starts a new journal file and snapshots the state as of the end of the previous one. */
  private async rotate(): Promise<void> {
    const { dir } = this.opts;
    const oldSeq = this.walSeq;
    if (this.walDirty) await this.wal.datasync();
    const next = await this.fs.open(path.join(dir, walName(oldSeq + 1)), true);
    await next.truncate(0);
    await this.fs.syncDir(dir);
    const old = this.wal;
    this.wal = next;
    this.walSeq = oldSeq + 1;
    this.walSize = 0;
    this.walDirty = false;
    this.walTruncateTo = undefined;
    this.recordsSinceSnapshot = 0;
    await old.close();
    const entries = [...this.state.entries()];
    this.snapshotting = this.writeSnapshot(oldSeq, entries).finally(() => {
      this.snapshotting = undefined;
    });
  }

  private async writeSnapshot(seq: number, entries: Array<[string, Buffer]>): Promise<void> {
    const { dir, logger } = this.opts;
    try {
      await this.fs.writeFileAtomic(path.join(dir, snapshotName(seq)), encodeSnapshot(seq, entries));
      for (const name of await this.fs.readdir(dir)) {
        const w = parseName(name, 'wal');
        const s = parseName(name, 'snapshot');
        if ((w !== undefined && w <= seq) || (s !== undefined && s < seq)) await this.fs.unlink(path.join(dir, name));
      }
    } catch (err) {
      // The journal files stay, so nothing is lost; the next rotation tries again.
      logger.warn({ err: (err as Error).message }, 'storage-file: metadata snapshot failed');
      this.recordsSinceSnapshot = this.opts.snapshotEvery;
    }
  }

  /** Forces a snapshot now (tests, tooling). Runs through the writer so it never races a write. */
  async snapshot(): Promise<void> {
    this.checkOpen();
    await new Promise<void>((resolve, reject) => {
      this.forced.push(resolve);
      this.batch([]).catch(reject);
    });
    await this.snapshotting;
  }

  async flush(): Promise<void> {
    this.checkOpen();
    await this.writing;
    if (!this.walDirty) return;
    this.walDirty = false;
    try {
      await this.wal.datasync();
    } catch (err) {
      this.walDirty = true;
      throw toStorageError(err, 'metadata sync');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    while (this.writing) await this.writing;
    await this.snapshotting;
    this.closed = true;
    if (this.walDirty) await this.wal.datasync().catch(() => {});
    await this.wal.close();
  }
}
