import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, startAmqp } from './helpers.js';

let b: AmqpTestBroker;
const asked: string[] = [];

beforeAll(async () => {
  b = await startAmqp();
  b.broker.hooks.register('authorize', (req) => {
    if (req.protocol !== 'amqp') return undefined;
    asked.push(`${req.action}:${req.resource}:${req.principal}`);
    if (req.action === 'publish' && (req.resource === 'forbidden' || req.resource.startsWith('private/'))) return 'deny';
    if (req.action === 'consume' && req.resource === 'secret') return 'deny';
    if (req.action === 'subscribe' && req.resource.startsWith('private/')) return 'deny';
    return 'allow';
  });
});
afterAll(async () => {
  await b.stop();
});

async function codeOf(fn: (ch: amqp.Channel) => unknown): Promise<number> {
  const conn = await amqp.connect(b.url);
  const ch = await conn.createChannel();
  const closed = new Promise<{ code: number }>((r) => ch.once('error', r));
  Promise.resolve(fn(ch)).catch(() => undefined);
  const { code } = await closed;
  await conn.close();
  return code;
}

describe('the authorize hook', () => {
  it('refuses publishes, consumes and amq.topic bindings it denies with 403', async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    await ch.assertExchange('forbidden', 'fanout', { durable: false });
    await ch.assertQueue('secret', { durable: false });
    await ch.assertQueue('open', { durable: false });
    ch.sendToQueue('open', Buffer.from('fine'));
    await ch.bindQueue('open', 'amq.topic', 'public.#');
    await ch.consume('open', () => undefined);
    await conn.close();

    expect(await codeOf((c) => c.publish('forbidden', '', Buffer.from('x')))).toBe(403);
    expect(await codeOf((c) => c.publish('amq.topic', 'private.data', Buffer.from('x')))).toBe(403);
    expect(await codeOf((c) => c.consume('secret', () => undefined))).toBe(403);
    expect(await codeOf((c) => c.get('secret'))).toBe(403);
    expect(await codeOf((c) => c.bindQueue('open', 'amq.topic', 'private.*'))).toBe(403);
    expect(asked).toEqual(
      expect.arrayContaining([
        'publish::guest',
        'subscribe:public/#:guest',
        'consume:open:guest',
        'publish:forbidden:guest',
        'publish:private/data:guest',
        'consume:secret:guest',
        'subscribe:private/+:guest',
      ]),
    );
  });
});
