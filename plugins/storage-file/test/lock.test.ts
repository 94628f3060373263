import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { open, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'fixtures', 'hold-lock.ts');

describe('storage-file data directory lock', () => {
  let tmp: { dir: string; remove(): Promise<void> };

  beforeEach(async () => {
    tmp = await tempDir();
  });

  afterEach(async () => {
    await tmp.remove();
  });

  it('a second open in the same process fails naming the directory and the pid, and works after close', async () => {
    const first = await open(tmp.dir);
    const err = (await open(tmp.dir).then(
      () => new Error('unexpectedly opened'),
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(tmp.dir);
    expect(err.message).toContain(`pid ${process.pid}`);
    await first.close();
    const again = await open(tmp.dir);
    await again.close();
  });

  it('an open from another process fails naming that process', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, tmp.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        child.on('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
      });
      const err = (await open(tmp.dir).then(
        () => new Error('unexpectedly opened'),
        (e: unknown) => e,
      )) as Error;
      expect(err.message).toContain(tmp.dir);
      expect(err.message).toContain(`pid ${child.pid}`);
      expect((err as { code?: string }).code).toBe('unavailable');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // The owner died without cleaning up: its stale lock is taken over.
    expect((await readFile(path.join(tmp.dir, '.lock'), 'utf8')).trim()).toBe(String(child.pid));
    const mine = await open(tmp.dir);
    expect((await readFile(path.join(tmp.dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await mine.close();
  });

  it('takes over a lock file whose pid is not running', async () => {
    await writeFile(path.join(tmp.dir, '.lock'), '999999999\n');
    const s = await open(tmp.dir);
    await s.close();
  });
});
