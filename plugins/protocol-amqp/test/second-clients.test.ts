import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, startAmqp } from './helpers.js';

const run = promisify(execFile);
let b: AmqpTestBroker;

beforeAll(async () => {
  b = await startAmqp();
});
afterAll(async () => {
  await b.stop();
});

describe('pika (python3-pika)', () => {
  it('declares, publishes with confirms, gets, nacks, consumes and sees returns and 404s', async () => {
    // Debian's pika imports only under /usr/bin/python3 (see shared notes).
    const { stdout } = await run('/usr/bin/python3', [join(import.meta.dirname, 'fixtures', 'pika_client.py'), String(b.port)], {
      timeout: 20_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(out.get).toEqual({
      body: 'from-pika',
      rk: 'py.one',
      exchange: 'pika.x',
      headers: { lang: 'python' },
      content_type: 'text/plain',
      delivery_mode: 2,
    });
    expect(out.consumed).toEqual([{ body: 'from-pika', redelivered: true }]);
    expect(out.unroutable).toBe('returned');
    expect(out.passive).toBe(404);
  });
});

describe('amqp-tools (amqp-publish, amqp-consume)', () => {
  it('amqp-publish reaches an amqplib consumer and amqp-consume receives an amqplib publish', async () => {
    const url = `amqp://guest:guest@127.0.0.1:${b.port}`;
    const conn = await amqp.connect(url);
    const ch = await conn.createChannel();
    await ch.assertQueue('tools.in', { durable: false });
    await run('amqp-publish', ['-u', url, '-r', 'tools.in', '-b', 'from-amqp-publish', '-C', 'text/plain'], { timeout: 10_000 });
    const m = await ch.get('tools.in', { noAck: true });
    expect((m as amqp.GetMessage).content.toString()).toBe('from-amqp-publish');
    expect((m as amqp.GetMessage).properties.contentType).toBe('text/plain');

    await ch.assertQueue('tools.out', { durable: false });
    const consumer = spawn('amqp-consume', ['-u', url, '-q', 'tools.out', '-c', '2', 'cat'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    consumer.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((r) => consumer.on('exit', r));
    // Publish once the consumer is attached.
    for (let i = 0; i < 200 && (await ch.checkQueue('tools.out')).consumerCount === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    ch.sendToQueue('tools.out', Buffer.from('first;'));
    ch.sendToQueue('tools.out', Buffer.from('second;'));
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (code === 'timeout') consumer.kill();
    expect(code).toBe(0);
    expect(output).toBe('first;second;');
    await conn.close();
  });
});
