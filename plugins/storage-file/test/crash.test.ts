import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileStorage } from '../src/index.js';
import { isCrashValue } from './fixtures/crash-value.js';
import { tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const appender = path.join(here, 'fixtures', 'appender.ts');
const KILLS = 20;
const tp = { topic: 'crash', partition: 0 };

interface Acked {
  records: Map<number, string>;
  meta: Map<string, string>;
}

/** Runs the appender until SIGKILL after `ms`, collecting the acknowledgements it printed. */
async function runAndKill(dir: string, run: number, ms: number, acked: Acked): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', appender, dir, String(run)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let pending = '';
  let ready: () => void = () => {};
  const started = new Promise<void>((r) => {
    ready = r;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? ''; // an unterminated last line was not fully printed: ignore it
    for (const line of lines) {
      const [kind, first, ...rest] = line.split(' ');
      if (kind === 'ready') ready();
      else if (kind === 'A') for (const [k, v] of rest.entries()) acked.records.set(Number(first) + k, v);
      else if (kind === 'M') acked.meta.set(first, rest[0]);
    }
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  await Promise.race([started, exited]);
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

describe('storage-file crash safety (SIGKILL during fsync-always appends)', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir('storage-file-crash-');
  });
  afterAll(async () => {
    await tmp.remove();
  });

  it(`keeps every acknowledged record and metadata write across ${KILLS} kills`, { timeout: 90_000 }, async () => {
    const acked: Acked = { records: new Map(), meta: new Map() };
    let lastHighWatermark = 0;
    for (let run = 0; run < KILLS; run++) {
      await runAndKill(tmp.dir, run, 30 + Math.floor(Math.random() * 250), acked);

      const storage = await openFileStorage({ dir: tmp.dir, segmentBytes: 16 * 1024 });
      try {
        const { logStartOffset, highWatermark } = await storage.logStore.offsets(tp);
        expect(logStartOffset).toBe(0);
        expect(highWatermark).toBeGreaterThanOrEqual(lastHighWatermark);
        const records = await storage.logStore.read(tp, 0, highWatermark + 1);
        // In order, no gap, no duplicate.
        expect(records.map((r) => r.offset)).toEqual(Array.from({ length: highWatermark }, (_, i) => i));
        // No corruption, and no value stored twice.
        const values = records.map((r) => r.value?.toString() ?? '');
        expect(values.every(isCrashValue)).toBe(true);
        expect(new Set(values).size).toBe(values.length);
        // Every acknowledged record is there, at its offset.
        for (const [offset, value] of acked.records) expect(values[offset]).toBe(value);
        for (const [key, value] of acked.meta) expect((await storage.metaStore.get(key))?.toString()).toBe(value);
        lastHighWatermark = highWatermark;
      } finally {
        await storage.close();
      }
    }
    // The runs did real work: plenty of acknowledged appends were checked.
    expect(acked.records.size).toBeGreaterThan(KILLS * 5);
    expect(acked.meta.size).toBeGreaterThan(KILLS);
  });
});
