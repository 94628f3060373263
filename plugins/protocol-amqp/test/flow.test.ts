import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, sleep, startAmqp } from './helpers.js';

let b: AmqpTestBroker;

beforeAll(async () => {
  // A watermark of one byte: the memory alarm is on from its first check.
  b = await startAmqp({ amqp: { memoryHighWatermark: 1 } });
});
afterAll(async () => {
  await b.stop();
});

describe('flow control', () => {
  it('blocks publishing connections with connection.blocked and stops reading them', async () => {
    const observer = await amqp.connect(b.url);
    const och = await observer.createChannel();
    await och.assertQueue('flow.q', { durable: false });
    const pub = await amqp.connect(b.url);
    pub.on('error', () => undefined);
    const blocked = new Promise<string>((r) => pub.once('blocked', r));
    const ch = await pub.createChannel();
    ch.sendToQueue('flow.q', Buffer.from('before'));
    expect(await blocked).toBe('low on memory');
    ch.sendToQueue('flow.q', Buffer.from('while blocked'));
    await sleep(100);
    // The observer never published: it is not blocked and sees only the first message.
    expect((await och.checkQueue('flow.q')).messageCount).toBe(1);
    await observer.close();
  });
});
