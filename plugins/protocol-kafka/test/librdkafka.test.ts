import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker } from './helpers.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs kcat with stdin. Debian package `kcat`. */
function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err}`))));
    p.stdin.end(input ?? '');
  });
}

describe('librdkafka clients: kcat and python3-confluent-kafka', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    b = await startKafkaBroker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('kcat lists metadata, produces with every codec and consumes', async () => {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 10 }, (_, i) => `${codec}-line-${i}`);
      await kcat(
        ['-b', b.bootstrap, '-P', '-t', topic, '-z', codec, '-K', ':'],
        `${lines.map((l, i) => `key${i}:${l}`).join('\n')}\n`,
      );
      const out = await kcat(['-b', b.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n']);
      expect(out.trim().split('\n')).toEqual(lines.map((l, i) => `key${i}=${l}`));
    }
    const md = JSON.parse(await kcat(['-b', b.bootstrap, '-L', '-J'])) as {
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{ topic: string; partitions: unknown[] }>;
    };
    expect(md.brokers).toEqual([{ id: 0, name: b.bootstrap }]);
    expect(md.topics.map((t) => t.topic)).toEqual(expect.arrayContaining(['kcat-none', 'kcat-zstd']));
  });

  it('kcat consumes in a balanced consumer group and commits its offsets', async () => {
    const lines = Array.from({ length: 12 }, (_, i) => `g-${i}`);
    await kcat(['-b', b.bootstrap, '-P', '-t', 'kcat-group'], `${lines.join('\n')}\n`);
    const out = await kcat(['-b', b.bootstrap, '-G', 'kcat-g', '-o', 'beginning', '-c', '12', '-q', '-f', '%s\\n', 'kcat-group']);
    expect(out.trim().split('\n').sort()).toEqual([...lines].sort());
    const admin = b.kafka().admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'kcat-g', topics: ['kcat-group'] });
    await admin.disconnect();
    expect(offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(12);
  });

  it('python3-confluent-kafka creates a topic, produces idempotently with zstd and consumes in a group', async () => {
    const { stdout } = await run(
      '/usr/bin/python3',
      [path.join(here, 'fixtures/confluent_client.py'), b.bootstrap, 'py-topic', 'py-group', '30'],
      {
        timeout: 60000,
      },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as {
      topics: string[];
      brokers: number;
      delivered: number;
      received: string[];
      committed: number;
    };
    expect(r.topics).toContain('py-topic');
    expect(r.brokers).toBe(1);
    expect(r.delivered).toBe(30);
    expect(r.received).toEqual(Array.from({ length: 30 }, (_, i) => `py-${i}`).sort());
    expect(r.committed).toBe(30);
    const admin = b.kafka().admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'py-group', topics: ['py-topic'] });
    await admin.disconnect();
    expect(offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(30);
  });
});
