/**
 * The data-directory lock: `<dir>/.lock` holds the owner's PID. It is created atomically
 * (hard link of a fully written temp file, which fails when the lock exists), so two brokers —
 * in two processes or in one — never open the same directory. A lock whose PID no longer runs is
 * stale (the owner crashed) and is taken over.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { StorageError } from '@robustmq/sdk';
import { LOCK_FILE } from './paths.js';

const heldInProcess = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DirLock {
  private released = false;

  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  /** Takes the lock of `dir` (created if needed) or throws a StorageError naming the holder. */
  static async acquire(dir: string): Promise<DirLock> {
    await fsp.mkdir(dir, { recursive: true });
    const real = await fsp.realpath(dir);
    if (heldInProcess.has(real)) {
      throw new StorageError(
        `data directory ${dir} is already open by this process (pid ${process.pid}); close the other store first`,
        'unavailable',
      );
    }
    const file = path.join(real, LOCK_FILE);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await fsp.writeFile(tmp, `${process.pid}\n`);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await fsp.link(tmp, file);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
        }
        const holder = Number.parseInt(await fsp.readFile(file, 'utf8').catch(() => ''), 10);
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
          throw new StorageError(
            `data directory ${dir} is locked by another process (pid ${holder}); stop it or choose another directory (lock file ${file})`,
            'unavailable',
          );
        }
        // Stale: its owner is gone. Renaming is atomic, so only one contender removes it.
        const stale = `${file}.stale-${randomBytes(4).toString('hex')}`;
        if (
          await fsp.rename(file, stale).then(
            () => true,
            () => false,
          )
        ) {
          const moved = Number.parseInt(await fsp.readFile(stale, 'utf8').catch(() => ''), 10);
          if (moved !== holder && isRunning(moved)) {
            // Another contender took the lock between our read and the rename: give it back.
            await fsp.link(stale, file).catch(() => undefined);
            await fsp.rm(stale, { force: true });
            throw new StorageError(`data directory ${dir} is locked by another process (pid ${moved})`, 'unavailable');
          }
          await fsp.rm(stale, { force: true });
        }
      }
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    heldInProcess.add(real);
    return new DirLock(real, file);
  }

  /** Removes the lock file. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldInProcess.delete(this.dir);
    const content = await fsp.readFile(this.file, 'utf8').catch(() => '');
    if (Number.parseInt(content, 10) === process.pid) await fsp.rm(this.file, { force: true });
  }
}
