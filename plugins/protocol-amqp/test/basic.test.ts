import amqp, { type Channel, type ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { until, useAmqplibSuite } from './helpers.js';

const suite = useAmqplibSuite();
const channel = () => suite.channel();

function collect(ch: Channel, queue: string, opts: amqp.Options.Consume = {}): Promise<{ tag: string; got: ConsumeMessage[] }> {
  const got: ConsumeMessage[] = [];
  return ch.consume(queue, (m) => m && got.push(m), opts).then((r) => ({ tag: r.consumerTag, got }));
}

describe('basic publish / consume / get', () => {
  it('delivers through the default exchange with properties intact', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('hello'), {
      contentType: 'text/plain',
      contentEncoding: 'utf8',
      headers: { n: 1, s: 'x', nested: { ok: true } },
      deliveryMode: 1,
      priority: 3,
      correlationId: 'c-1',
      replyTo: 'replies',
      messageId: 'm-1',
      timestamp: 1700000000,
      type: 'greeting',
      appId: 'tests',
    });
    const { got } = await collect(ch, queue, { noAck: true });
    await until(() => got.length === 1);
    const m = got[0];
    expect(m.content.toString()).toBe('hello');
    expect(m.fields).toMatchObject({ exchange: '', routingKey: queue, redelivered: false, deliveryTag: 1 });
    expect(m.properties).toMatchObject({
      contentType: 'text/plain',
      contentEncoding: 'utf8',
      headers: { n: 1, s: 'x', nested: { ok: true } },
      deliveryMode: 1,
      priority: 3,
      correlationId: 'c-1',
      replyTo: 'replies',
      messageId: 'm-1',
      timestamp: 1700000000,
      type: 'greeting',
      appId: 'tests',
    });
    await ch.close();
  });

  it('carries large bodies split over frames and empty bodies', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const big = Buffer.alloc(1024 * 1024 + 17, 7);
    ch.sendToQueue(queue, big);
    ch.sendToQueue(queue, Buffer.alloc(0));
    const { got } = await collect(ch, queue, { noAck: true });
    await until(() => got.length === 2);
    expect(got[0].content.equals(big)).toBe(true);
    expect(got[1].content.length).toBe(0);
    await ch.close();
  });

  it('basic.get returns messages with the remaining count, then get-empty', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (const s of ['a', 'b', 'c']) ch.sendToQueue(queue, Buffer.from(s));
    await until(() => true);
    const first = await ch.get(queue);
    expect((first as amqp.GetMessage).content.toString()).toBe('a');
    expect((first as amqp.GetMessage).fields.messageCount).toBe(2);
    const second = await ch.get(queue, { noAck: true });
    expect((second as amqp.GetMessage).content.toString()).toBe('b');
    ch.ack(first as amqp.GetMessage);
    const third = await ch.get(queue, { noAck: true });
    expect((third as amqp.GetMessage).fields.messageCount).toBe(0);
    expect(await ch.get(queue)).toBe(false);
    await ch.close();
  });

  it('round-robins between consumers and respects per-consumer prefetch', async () => {
    const ch1 = await channel();
    const ch2 = await channel();
    const { queue } = await ch1.assertQueue('', { exclusive: true });
    await ch1.prefetch(2);
    await ch2.prefetch(2);
    const c1 = await collect(ch1, queue);
    const c2 = await collect(ch2, queue);
    for (let i = 0; i < 10; i++) ch1.sendToQueue(queue, Buffer.from(String(i)));
    await until(() => c1.got.length + c2.got.length === 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(c1.got.length).toBe(2);
    expect(c2.got.length).toBe(2);
    ch1.ack(c1.got[1], true);
    await until(() => c1.got.length === 4);
    const { messageCount } = await ch1.checkQueue(queue);
    expect(messageCount).toBe(4);
    await ch1.close();
    await ch2.close();
  });

  it('gives messages to higher x-priority consumers first, lower ones only when those are full', async () => {
    const hi = await channel();
    const lo = await channel();
    const { queue } = await hi.assertQueue('', { exclusive: true });
    await hi.prefetch(2);
    const h = await collect(hi, queue, { priority: 10 });
    const l = await collect(lo, queue);
    for (let i = 0; i < 3; i++) hi.sendToQueue(queue, Buffer.from(String(i)));
    await until(() => h.got.length + l.got.length === 3);
    expect([h.got.length, l.got.length]).toEqual([2, 1]);
    hi.ack(h.got[1], true);
    for (let i = 3; i < 5; i++) hi.sendToQueue(queue, Buffer.from(String(i)));
    await until(() => h.got.length === 4);
    expect(l.got.length).toBe(1);
    await hi.close();
    await lo.close();
  });

  it('applies a global (per-channel) prefetch across consumers', async () => {
    const ch = await channel();
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.prefetch(3, true);
    const a = await collect(ch, q1);
    const c = await collect(ch, q2);
    for (let i = 0; i < 5; i++) {
      ch.sendToQueue(q1, Buffer.from('x'));
      ch.sendToQueue(q2, Buffer.from('y'));
    }
    await until(() => a.got.length + c.got.length === 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.got.length + c.got.length).toBe(3);
    await ch.close();
  });

  it('nack and reject with requeue redeliver with the redelivered flag; without requeue they are dropped', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('one'));
    ch.sendToQueue(queue, Buffer.from('two'));
    const { got } = await collect(ch, queue);
    await until(() => got.length === 2);
    ch.nack(got[1], true, true); // multiple: both back, in order
    await until(() => got.length === 4);
    expect(got.slice(2).map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['one', true],
      ['two', true],
    ]);
    ch.reject(got[2], true);
    await until(() => got.length === 5);
    expect(got[4].content.toString()).toBe('one');
    ch.reject(got[4], false);
    ch.nack(got[3], false, false);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(5);
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    await ch.close();
  });

  it('basic.recover requeues unacked messages', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('r'));
    const { got } = await collect(ch, queue);
    await until(() => got.length === 1);
    await ch.recover();
    await until(() => got.length === 2);
    expect(got[1].fields.redelivered).toBe(true);
    ch.ack(got[1]);
    await ch.close();
  });

  it('unacked messages return to the queue, redelivered, when the consumer channel closes', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('redeliver-on-close');
    ch.sendToQueue(queue, Buffer.from('m1'));
    ch.sendToQueue(queue, Buffer.from('m2'));
    const ch2 = await channel();
    const { got } = await collect(ch2, queue);
    await until(() => got.length === 2);
    await ch2.close();
    const again = await collect(ch, queue);
    await until(() => again.got.length === 2);
    expect(again.got.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m1', true],
      ['m2', true],
    ]);
    ch.ackAll();
    await ch.deleteQueue(queue);
    await ch.close();
  });

  it('acking an unknown delivery tag is a 406 channel error', async () => {
    const ch = await channel();
    const closed = new Promise<Error>((r) => ch.once('error', r));
    ch.ack({ fields: { deliveryTag: 999 } } as ConsumeMessage);
    const err = await closed;
    expect(err.message).toMatch(/406.*unknown delivery tag 999/);
  });

  it('basic.cancel stops deliveries; deleting the queue cancels consumers from the server', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('cancel-me');
    const { tag, got } = await collect(ch, queue, { noAck: true });
    ch.sendToQueue(queue, Buffer.from('1'));
    await until(() => got.length === 1);
    await ch.cancel(tag);
    ch.sendToQueue(queue, Buffer.from('2'));
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(1);
    let cancelled: unknown = 'not yet';
    await ch.consume(queue, (m) => {
      if (m === null) cancelled = null;
    });
    const other = await channel();
    await other.deleteQueue(queue);
    await until(() => cancelled === null);
    await other.close();
    await ch.close();
  });

  it('exclusive consumers refuse a second consumer with 403', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.consume(queue, () => undefined, { exclusive: true });
    const err = await ch.consume(queue, () => undefined).catch((e: Error) => e);
    expect(String(err)).toMatch(/403/);
  });

  it('reusing a consumer tag on a channel is a 530 connection error', async () => {
    const c2 = await amqp.connect(suite.broker.url);
    c2.on('error', () => undefined);
    const ch = await c2.createChannel();
    ch.on('error', () => undefined);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.consume(queue, () => undefined, { consumerTag: 't1' });
    const closed = new Promise<Error>((r) => c2.once('close', r));
    ch.consume(queue, () => undefined, { consumerTag: 't1' }).catch(() => undefined);
    expect(String(await closed)).toMatch(/530/);
  });
});

describe('direct reply-to', () => {
  it('answers RPC requests through amq.rabbitmq.reply-to without a reply queue', async () => {
    const server = await channel();
    await server.assertQueue('rpc.requests', { durable: false });
    await server.consume('rpc.requests', (m) => {
      if (!m) return;
      expect(m.properties.replyTo).toMatch(/^amq\.rabbitmq\.reply-to\..+/);
      server.sendToQueue(m.properties.replyTo, Buffer.from(`re:${m.content}`), { correlationId: m.properties.correlationId });
      server.ack(m);
    });
    const client = await channel();
    const replies: ConsumeMessage[] = [];
    await client.consume('amq.rabbitmq.reply-to', (m) => m && replies.push(m), { noAck: true });
    client.sendToQueue('rpc.requests', Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' });
    await until(() => replies.length === 1);
    expect(replies[0].content.toString()).toBe('re:ping');
    expect(replies[0].properties.correlationId).toBe('c1');
    expect(replies[0].fields.exchange).toBe('');
    await server.deleteQueue('rpc.requests');
    // Without the reply consumer the reply-to is refused with 406.
    const other = await channel();
    const closed = new Promise<{ code: number }>((r) => other.once('error', r));
    other.sendToQueue('anything', Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' });
    expect((await closed).code).toBe(406);
  });
});

describe('mandatory, confirms and transactions', () => {
  it('returns unroutable mandatory messages with 312 NO_ROUTE', async () => {
    const ch = await channel();
    const returned: amqp.Message[] = [];
    ch.on('return', (m) => returned.push(m));
    ch.publish('amq.direct', 'nobody-home', Buffer.from('lost'), { mandatory: true, messageId: 'r1' });
    ch.publish('amq.direct', 'nobody-home', Buffer.from('silent'));
    await until(() => returned.length === 1);
    expect(returned[0].fields).toMatchObject({
      replyCode: 312,
      replyText: 'NO_ROUTE',
      exchange: 'amq.direct',
      routingKey: 'nobody-home',
    });
    expect(returned[0].content.toString()).toBe('lost');
    expect(returned[0].properties.messageId).toBe('r1');
    await new Promise((r) => setTimeout(r, 30));
    expect(returned.length).toBe(1);
    await ch.close();
  });

  it('confirms every publish in order, routed or not', async () => {
    const ch = await suite.conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const acks: number[] = [];
    const all = [];
    for (let i = 0; i < 50; i++) {
      all.push(
        new Promise<void>((res, rej) =>
          ch.sendToQueue(i % 2 ? queue : 'missing-queue', Buffer.from(String(i)), { persistent: true }, (err) => {
            if (err) rej(err);
            else {
              acks.push(i);
              res();
            }
          }),
        ),
      );
    }
    await Promise.all(all);
    expect(acks).toEqual([...Array(50).keys()]);
    await ch.waitForConfirms();
    expect((await ch.checkQueue(queue)).messageCount).toBe(25);
    await ch.close();
  });

  it('tx.commit makes publishes and acks happen; tx.rollback discards them', async () => {
    const ch = await channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    // amqplib has no tx helpers: send the methods through its RPC layer.
    const rpc = (ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }).rpc.bind(ch);
    await rpc(5898250 /* tx.select */, {}, 5898251);
    ch.sendToQueue(queue, Buffer.from('t1'));
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    await rpc(5898260 /* tx.commit */, {}, 5898261);
    expect((await ch.checkQueue(queue)).messageCount).toBe(1);
    ch.sendToQueue(queue, Buffer.from('t2'));
    await rpc(5898270 /* tx.rollback */, {}, 5898271);
    expect((await ch.checkQueue(queue)).messageCount).toBe(1);
    const m = await ch.get(queue);
    expect((m as amqp.GetMessage).content.toString()).toBe('t1');
    ch.ack(m as amqp.GetMessage);
    await rpc(5898270, {}, 5898271); // ack rolled back: still unacked
    await rpc(5898260, {}, 5898261);
    await ch.recover();
    const again = await ch.get(queue);
    expect((again as amqp.GetMessage).fields.redelivered).toBe(true);
    await ch.close();
  });

  it('refuses confirm.select on a transactional channel with 406', async () => {
    const ch = await channel();
    const rpc = (ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }).rpc.bind(ch);
    await rpc(5898250, {}, 5898251);
    const err = await rpc(5570570 /* confirm.select */, { nowait: false }, 5570571).catch((e: Error) => e);
    expect(String(err)).toMatch(/406/);
  });
});
