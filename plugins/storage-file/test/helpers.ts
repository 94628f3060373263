/** Shared test helpers: temp data directories and storage opened with test-friendly options. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type OpenFileStorageOptions, openFileStorage } from '../src/index.js';

export async function tempDir(prefix = 'storage-file-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function open(dir: string, extra: Partial<OpenFileStorageOptions> = {}) {
  return openFileStorage({ dir, ...extra });
}

export const rec = (value: string) => ({ value: Buffer.from(value) });
