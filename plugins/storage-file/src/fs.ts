/**
 * The file-system seam. Every disk operation of the plugin goes through {@link StorageFs}, so tests
 * can inject ENOSPC / EIO without a real full disk, and the store maps failures to StorageError.
 */
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { StorageError } from '@robustmq/sdk';

/** The subset of a `FileHandle` the store uses. */
export interface StorageFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(len: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/** Path-level operations. */
export interface StorageFs {
  /** Opens for reading and writing, creating the file when `create` is set. */
  open(file: string, create: boolean): Promise<StorageFile>;
  readFile(file: string): Promise<Buffer>;
  /** Writes a small file durably and atomically (tmp + fsync + rename + directory fsync). */
  writeFileAtomic(file: string, data: Buffer): Promise<void>;
  mkdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  rmrf(target: string): Promise<void>;
  exists(target: string): Promise<boolean>;
  /** fsync of a directory, so created/renamed/deleted entries survive a crash. */
  syncDir(dir: string): Promise<void>;
}

class NodeFile implements StorageFile {
  constructor(private readonly fh: fsp.FileHandle) {}
  read(buffer: Buffer, offset: number, length: number, position: number) {
    return this.fh.read(buffer, offset, length, position);
  }
  writev(buffers: Buffer[], position: number) {
    // A single buffer goes through write(): cheaper than writev's per-call buffer-list handling.
    if (buffers.length === 1) return this.fh.write(buffers[0], 0, buffers[0].length, position);
    return this.fh.writev(buffers, position);
  }
  datasync() {
    return this.fh.datasync();
  }
  truncate(len: number) {
    return this.fh.truncate(len);
  }
  async size() {
    return (await this.fh.stat()).size;
  }
  close() {
    return this.fh.close();
  }
}

/** The real file system (node:fs/promises). */
export const nodeFs: StorageFs = {
  async open(file, create) {
    const flags = create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR;
    return new NodeFile(await fsp.open(file, flags, 0o644));
  },
  readFile: (file) => fsp.readFile(file),
  async writeFileAtomic(file, data) {
    const tmp = `${file}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    await nodeFs.syncDir(path.dirname(file));
  },
  async mkdir(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  readdir: (dir) => fsp.readdir(dir),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
  rmrf: (target) => fsp.rm(target, { recursive: true, force: true }),
  async exists(target) {
    try {
      await fsp.stat(target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  },
  async syncDir(dir) {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } catch (err) {
      // Some file systems refuse fsync on directories; the entry is then as durable as it gets.
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    } finally {
      await fh.close();
    }
  },
};

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Wraps an fs failure as a {@link StorageError}: `disk-full` for ENOSPC/EDQUOT/EFBIG, `io` for the
 * rest. StorageErrors pass through unchanged.
 */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (code && DISK_FULL_CODES.has(code)) return new StorageError(`${what}: disk full (${detail})`, 'disk-full');
  return new StorageError(`${what}: I/O error (${detail})`, 'io');
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readAt(file: StorageFile, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Writes all buffers at `position`, continuing after short writes. */
export async function writeFully(file: StorageFile, buffers: Buffer[], position: number): Promise<number> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = 0;
  let pending = buffers;
  while (written < total) {
    const { bytesWritten } = await file.writev(pending, position + written);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    written += bytesWritten;
    if (written < total) pending = sliceFrom(buffers, written);
  }
  return total;
}

function sliceFrom(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
