import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startAmqp, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('durability on storage-file', () => {
  it('durable exchanges, queues, bindings and persistent messages survive a restart; acked and transient ones do not', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    let b = await startAmqp({ dataDir: dir });
    let conn = await amqp.connect(b.url);
    let ch = await conn.createConfirmChannel();
    await ch.assertExchange('orders', 'topic', { durable: true });
    await ch.assertQueue('orders.eu', { durable: true, arguments: { 'x-max-length': 100 } });
    await ch.assertQueue('scratch', { durable: false });
    await ch.bindQueue('orders.eu', 'orders', 'eu.#');
    // An exchange-to-exchange binding between durable exchanges, and a headers binding.
    await ch.assertExchange('audit', 'headers', { durable: true });
    await ch.bindExchange('audit', 'orders', '#');
    await ch.assertQueue('audit.q', { durable: true });
    await ch.bindQueue('audit.q', 'audit', '', { 'x-match': 'any', kind: 'audit' });
    for (let i = 0; i < 5; i++)
      ch.publish('orders', `eu.order.${i}`, Buffer.from(`p${i}`), { persistent: true, messageId: `m${i}` });
    ch.publish('orders', 'eu.transient', Buffer.from('t'), { persistent: false });
    await ch.waitForConfirms();
    // Consume and ack two, leave one delivered but unacked.
    const a = await ch.get('orders.eu');
    const c = await ch.get('orders.eu');
    const unacked = await ch.get('orders.eu');
    expect([a, c, unacked].map((m) => (m as amqp.GetMessage).content.toString())).toEqual(['p0', 'p1', 'p2']);
    ch.ack(a as amqp.GetMessage);
    ch.ack(c as amqp.GetMessage);
    await ch.checkQueue('orders.eu'); // round trip: acks processed
    await conn.close();
    await b.stop();

    b = await startAmqp({ dataDir: dir });
    conn = await amqp.connect(b.url);
    ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    const q = await ch.checkQueue('orders.eu');
    expect(q.messageCount).toBe(3);
    const bodies: string[] = [];
    for (;;) {
      const m = await ch.get('orders.eu', { noAck: true });
      if (!m) break;
      bodies.push(m.content.toString());
      expect(m.fields).toMatchObject({ exchange: 'orders', redelivered: true });
      expect(m.properties).toMatchObject({ deliveryMode: 2, messageId: `m${m.content.toString().slice(1)}` });
    }
    expect(bodies).toEqual(['p2', 'p3', 'p4']);
    await ch.checkExchange('orders');
    // The binding came back: routing still works.
    await new Promise<void>((res, rej) =>
      ch.publish('orders', 'eu.again', Buffer.from('again'), { persistent: true }, (e) => (e ? rej(e) : res())),
    );
    expect((await ch.checkQueue('orders.eu')).messageCount).toBe(1);
    await new Promise<void>((res, rej) =>
      ch.publish('orders', 'us.audited', Buffer.from('audited'), { persistent: true, headers: { kind: 'audit' } }, (e) =>
        e ? rej(e) : res(),
      ),
    );
    const audited = await ch.get('audit.q', { noAck: true });
    expect((audited as amqp.GetMessage).content.toString()).toBe('audited');
    // The argument came back too: redeclaring with another value is inequivalent.
    const err = await ch.assertQueue('orders.eu', { durable: true }).catch((e: { code: number }) => e);
    expect((err as { code: number }).code).toBe(406);
    const ch2 = await conn.createChannel();
    ch2.on('error', () => undefined);
    const missing = await ch2.checkQueue('scratch').catch((e: { code: number }) => e);
    expect((missing as { code: number }).code).toBe(404);
    await conn.close();
    await b.stop();
  });

  it('deleted durable queues stay deleted after a restart', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    let b = await startAmqp({ dataDir: dir });
    let conn = await amqp.connect(b.url);
    let ch = await conn.createChannel();
    await ch.assertQueue('short-lived', { durable: true });
    ch.sendToQueue('short-lived', Buffer.from('x'), { persistent: true });
    await ch.deleteQueue('short-lived');
    await conn.close();
    await b.stop();
    b = await startAmqp({ dataDir: dir });
    conn = await amqp.connect(b.url);
    ch = await conn.createChannel();
    ch.on('error', () => undefined);
    const err = await ch.checkQueue('short-lived').catch((e: { code: number }) => e);
    expect((err as { code: number }).code).toBe(404);
    await conn.close();
    await b.stop();
  });
});
