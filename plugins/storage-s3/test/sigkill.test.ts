/** A broker process killed with SIGKILL loses nothing it acknowledged. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStorage, testOptions } from './support/harness.js';
import { type S3TestServer, startS3TestServer } from './support/s3-server.js';

const CHILD = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url));

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.dispose();
});

it('every acknowledged append and metadata put survives a SIGKILL of the writing process', async () => {
  const options = testOptions(server, { flushIntervalMs: 5 });
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const acked = new Map<string, { partition: number; offset: number }>();
  const metas: string[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const enough = new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`child exited early (${code ?? signal}): ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, ...rest] = line.split(' ');
      if (kind === 'ACK') acked.set(rest[2], { partition: Number(rest[0]), offset: Number(rest[1]) });
      if (kind === 'META') metas.push(rest[0]);
      if (acked.size >= 150) resolve();
    });
  });
  await enough;
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const storage = await openStorage(options);
  for (const partition of [0, 1]) {
    const records = await storage.logStore.read({ topic: 'crash', partition }, 0, 100_000);
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    const stored = new Map(records.map((r) => [r.value!.toString(), r.offset]));
    for (const [value, ack] of acked) {
      if (ack.partition === partition) expect(stored.get(value), value).toBe(ack.offset);
    }
  }
  for (const value of metas) expect((await storage.metaStore.get(`session/${value}`))?.toString()).toBe(value);
  expect(metas.length).toBeGreaterThan(0);
  await storage.close();
});
