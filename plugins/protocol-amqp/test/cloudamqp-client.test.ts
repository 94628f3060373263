import { AMQPClient, type AMQPMessage } from '@cloudamqp/amqp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, startAmqp, until } from './helpers.js';

let b: AmqpTestBroker;
let client: AMQPClient;

beforeAll(async () => {
  b = await startAmqp();
  client = new AMQPClient(b.url);
  await client.connect();
});
afterAll(async () => {
  await client.close();
  await b.stop();
});

describe('@cloudamqp/amqp-client', () => {
  it('declares, binds, publishes with confirms and consumes with acks', async () => {
    const ch = await client.channel();
    await ch.confirmSelect();
    await ch.exchangeDeclare('cl.topic', 'topic', { durable: false });
    const q = await ch.queue('', { exclusive: true });
    await q.bind('cl.topic', 'a.#');
    const tag = await ch.basicPublish('cl.topic', 'a.b', 'hello', {
      contentType: 'text/plain',
      headers: { h: 'v' },
      deliveryMode: 2,
    });
    expect(tag).toBe(1);
    await ch.basicPublish('cl.topic', 'b.a', 'nope');
    const got: AMQPMessage[] = [];
    await ch.prefetch(10);
    await q.subscribe({ noAck: false }, async (m) => {
      got.push(m);
      await m.ack();
    });
    await until(() => got.length === 1);
    expect(got[0].bodyToString()).toBe('hello');
    expect(got[0].exchange).toBe('cl.topic');
    expect(got[0].routingKey).toBe('a.b');
    expect(got[0].properties).toMatchObject({ contentType: 'text/plain', headers: { h: 'v' }, deliveryMode: 2 });
    await ch.close();
  });

  it('basic.get, nack with requeue (redelivered), purge and delete', async () => {
    const ch = await client.channel();
    const { name } = await ch.queue('cl.q', { durable: false });
    await ch.basicPublish('', name, 'one');
    await ch.basicPublish('', name, 'two');
    await until(() => true);
    const first = await ch.basicGet(name, { noAck: false });
    expect(first?.bodyToString()).toBe('one');
    await first?.nack(true);
    const again = await ch.basicGet(name, { noAck: true });
    expect(again?.bodyToString()).toBe('one');
    expect(again?.redelivered).toBe(true);
    expect(await ch.queuePurge(name)).toEqual({ messageCount: 1 });
    expect(await ch.basicGet(name)).toBeNull();
    expect(await ch.queueDelete(name)).toEqual({ messageCount: 0 });
    await ch.close();
  });

  it('transactions and exchange-to-exchange bindings', async () => {
    const ch = await client.channel();
    await ch.exchangeDeclare('cl.src', 'direct', { durable: false });
    await ch.exchangeDeclare('cl.dst', 'fanout', { durable: false });
    await ch.exchangeBind('cl.dst', 'cl.src', 'k');
    const q = await ch.queue('', { exclusive: true });
    await q.bind('cl.dst');
    await ch.txSelect();
    await ch.basicPublish('cl.src', 'k', 'in-tx');
    expect((await ch.queueDeclare(q.name, { passive: true })).messageCount).toBe(0);
    await ch.txCommit();
    expect((await ch.queueDeclare(q.name, { passive: true })).messageCount).toBe(1);
    await ch.basicPublish('cl.src', 'k', 'rolled-back');
    await ch.txRollback();
    expect((await ch.queueDeclare(q.name, { passive: true })).messageCount).toBe(1);
    await ch.close();
  });

  it('reports channel errors with their reply code', async () => {
    const ch = await client.channel();
    const err = await ch.queue('cl.none', { passive: true }).catch((e: Error) => e);
    expect(String(err)).toMatch(/404/);
  });

  it('prefetch limits unacked deliveries, reject requeues, recover redelivers, cancel stops', async () => {
    const ch = await client.channel();
    const q = await ch.queue('', { exclusive: true });
    await ch.basicQos(2);
    for (let i = 0; i < 5; i++) await q.publish(`m${i}`);
    const got: AMQPMessage[] = [];
    const consumer = await q.subscribe({ noAck: false }, (m) => {
      got.push(m);
    });
    await until(() => got.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(2);
    await got[0].reject(true);
    await until(() => got.length === 3);
    expect(got[2].bodyToString()).toBe('m0');
    expect(got[2].redelivered).toBe(true);
    await ch.basicRecover(true);
    await until(() => got.length === 5);
    expect(got.slice(3).every((m) => m.redelivered)).toBe(true);
    await consumer.cancel();
    const before = got.length;
    await q.publish('after-cancel');
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBe(before);
    await ch.close();
  });

  it('mandatory publishes come back through onReturn; alternate exchanges catch the rest', async () => {
    const ch = await client.channel();
    const returned: AMQPMessage[] = [];
    ch.onReturn = (m) => returned.push(m);
    await ch.basicPublish('amq.direct', 'nobody', 'lost', {}, true);
    await until(() => returned.length === 1);
    expect(returned[0].bodyToString()).toBe('lost');
    expect(returned[0].replyCode).toBe(312);
    await ch.exchangeDeclare('cl.ae', 'fanout', { durable: false });
    await ch.exchangeDeclare('cl.main', 'direct', { durable: false }, { 'alternate-exchange': 'cl.ae' });
    const q = await ch.queue('', { exclusive: true });
    await q.bind('cl.ae');
    await ch.basicPublish('cl.main', 'unbound', 'caught', {}, true);
    await new Promise((r) => setTimeout(r, 30));
    expect((await q.get())?.bodyToString()).toBe('caught');
    expect(returned.length).toBe(1);
    await ch.close();
  });

  it('dead-letters expired messages with x-death and nacks refused confirms', async () => {
    const ch = await client.channel();
    await ch.confirmSelect();
    const dead = await ch.queue('', { exclusive: true });
    const q = await ch.queue(
      '',
      { exclusive: true },
      { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead.name },
    );
    await q.publish('ttl');
    await new Promise((r) => setTimeout(r, 100));
    const m = await dead.get();
    expect(m?.bodyToString()).toBe('ttl');
    const headers: Record<string, unknown> = (m as AMQPMessage).properties.headers ?? {};
    expect((headers['x-death'] as Array<{ reason: string }>)[0].reason).toBe('expired');
    const full = await ch.queue('', { exclusive: true }, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const refused = await ch.basicPublish('', full.name, 'no room').then(
      () => 'acked',
      () => 'nacked',
    );
    expect(refused).toBe('nacked');
    await ch.close();
  });

  it('headers exchanges, single active consumer, per-message expiration and exclusive locks', async () => {
    const ch = await client.channel();
    const hq = await ch.queue('', { exclusive: true });
    await ch.queueBind(hq.name, 'amq.headers', '', { 'x-match': 'all', region: 'eu' });
    await ch.basicPublish('amq.headers', '', 'eu', { headers: { region: 'eu' } });
    await ch.basicPublish('amq.headers', '', 'us', { headers: { region: 'us' } });
    await ch.basicPublish('', hq.name, 'expired', { expiration: '10' });
    await new Promise((r) => setTimeout(r, 60));
    expect((await hq.get())?.bodyToString()).toBe('eu');
    expect(await hq.get()).toBeNull();

    const sac = await ch.queue('cl.sac', { durable: false }, { 'x-single-active-consumer': true });
    const a: string[] = [];
    const b2: string[] = [];
    const first = await sac.subscribe({ noAck: true }, (m) => {
      a.push(m.bodyToString() ?? '');
    });
    const ch2 = await client.channel();
    await ch2.basicConsume('cl.sac', { noAck: true }, (m) => {
      b2.push(m.bodyToString() ?? '');
    });
    await sac.publish('1');
    await sac.publish('2');
    await until(() => a.length === 2);
    await first.cancel();
    await sac.publish('3');
    await until(() => b2.length === 1);
    expect([a, b2]).toEqual([['1', '2'], ['3']]);
    await ch.queueDelete('cl.sac');

    const other = new AMQPClient(b.url);
    await other.connect();
    const och = await other.channel();
    const err = await och.queue(hq.name, { passive: true }).catch((e: Error) => e);
    expect(String(err)).toMatch(/405/);
    await other.close();
    await ch.close();
  });
});
