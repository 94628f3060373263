import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, sleep, startAmqp, until } from './helpers.js';

let b: AmqpTestBroker;
let conn: ChannelModel;

beforeAll(async () => {
  b = await startAmqp();
  conn = await amqp.connect(b.url);
  conn.on('error', () => undefined);
});
afterAll(async () => {
  await conn.close().catch(() => undefined);
  await b.stop();
});

async function channel(c: ChannelModel = conn): Promise<Channel> {
  const ch = await c.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

/** The reply code a rejected operation closed its channel with. */
async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  const err = (await p.then(
    () => undefined,
    (e: { code?: number }) => e,
  )) as { code?: number } | undefined;
  return err?.code;
}

async function drain(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return out;
    out.push(m.content.toString());
  }
}

describe('exchanges', () => {
  it('routes direct, fanout and topic exchanges, including # in the middle of a pattern', async () => {
    const ch = await channel();
    await ch.assertExchange('t.direct', 'direct', { durable: false });
    await ch.assertExchange('t.fanout', 'fanout', { durable: false });
    await ch.assertExchange('t.topic', 'topic', { durable: false });
    const q = async () => (await ch.assertQueue('', { exclusive: true })).queue;
    const [d1, f1, f2, t1, t2, t3] = [await q(), await q(), await q(), await q(), await q(), await q()];
    await ch.bindQueue(d1, 't.direct', 'k/with+odd#chars');
    await ch.bindQueue(f1, 't.fanout', 'ignored');
    await ch.bindQueue(f2, 't.fanout', '');
    await ch.bindQueue(t1, 't.topic', 'a.*.c');
    await ch.bindQueue(t2, 't.topic', '#.error');
    await ch.bindQueue(t3, 't.topic', 'a.#.z');
    ch.publish('t.direct', 'k/with+odd#chars', Buffer.from('d'));
    ch.publish('t.direct', 'k', Buffer.from('no'));
    ch.publish('t.fanout', 'anything', Buffer.from('f'));
    for (const rk of ['a.b.c', 'a.b.c.d', 'x.error', 'error', 'a.error.x', 'a.z', 'a.b.c.z', 'b.z'])
      ch.publish('t.topic', rk, Buffer.from(rk));
    await sleep(50);
    expect(await drain(ch, d1)).toEqual(['d']);
    expect(await drain(ch, f1)).toEqual(['f']);
    expect(await drain(ch, f2)).toEqual(['f']);
    expect(await drain(ch, t1)).toEqual(['a.b.c']);
    expect(await drain(ch, t2)).toEqual(['x.error', 'error']);
    expect(await drain(ch, t3)).toEqual(['a.z', 'a.b.c.z']);
    await ch.close();
  });

  it('routes headers exchanges with x-match all and any', async () => {
    const ch = await channel();
    const all = (await ch.assertQueue('', { exclusive: true })).queue;
    const any = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(all, 'amq.headers', '', { 'x-match': 'all', format: 'pdf', type: 'report' });
    await ch.bindQueue(any, 'amq.match', '', { 'x-match': 'any', format: 'pdf', type: 'report' });
    ch.publish('amq.headers', '', Buffer.from('both'), { headers: { format: 'pdf', type: 'report' } });
    ch.publish('amq.headers', '', Buffer.from('one'), { headers: { format: 'pdf', type: 'log' } });
    ch.publish('amq.match', '', Buffer.from('any'), { headers: { type: 'report' } });
    await sleep(50);
    expect(await drain(ch, all)).toEqual(['both']);
    expect(await drain(ch, any)).toEqual(['any']);
    const err = await codeOf(ch.bindQueue(all, 'amq.headers', '', { 'x-match': 'some' }));
    expect(err).toBe(406);
  });

  it('declare is idempotent, passive checks existence, inequivalent redeclare is 406, reserved names 403', async () => {
    const ch = await channel();
    await ch.assertExchange('ex.same', 'topic', { durable: false });
    await ch.assertExchange('ex.same', 'topic', { durable: false });
    await ch.checkExchange('ex.same');
    expect(await codeOf(ch.assertExchange('ex.same', 'fanout', { durable: false }))).toBe(406);
    const ch2 = await channel();
    expect(await codeOf(ch2.checkExchange('ex.missing'))).toBe(404);
    const ch3 = await channel();
    expect(await codeOf(ch3.assertExchange('amq.custom', 'direct'))).toBe(403);
    const ch4 = await channel();
    await ch4.checkExchange('amq.topic');
    await ch4.assertExchange('amq.topic', 'topic', { durable: true });
  });

  it('an unknown exchange type is a 503 connection error', async () => {
    const c = await amqp.connect(b.url);
    c.on('error', () => undefined);
    const ch = await channel(c);
    const closed = new Promise<Error>((r) => c.once('close', r));
    ch.assertExchange('bad.type', 'x-nope').catch(() => undefined);
    expect(String(await closed)).toMatch(/503/);
  });

  it('publishing to a missing exchange is 404; to an internal exchange 403', async () => {
    const ch = await channel();
    const closed = new Promise<{ code: number }>((r) => ch.once('error', r));
    ch.publish('does-not-exist', 'k', Buffer.from('x'));
    expect((await closed).code).toBe(404);
    const ch2 = await channel();
    await ch2.assertExchange('ex.internal', 'fanout', { internal: true, durable: false });
    const closed2 = new Promise<{ code: number }>((r) => ch2.once('error', r));
    ch2.publish('ex.internal', '', Buffer.from('x'));
    expect((await closed2).code).toBe(403);
  });

  it('exchange-to-exchange bindings forward, once per queue, and unbind stops them', async () => {
    const ch = await channel();
    await ch.assertExchange('e2e.src', 'topic', { durable: false });
    await ch.assertExchange('e2e.dst', 'fanout', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindExchange('e2e.dst', 'e2e.src', 'orders.#');
    await ch.bindQueue(q, 'e2e.dst', '');
    await ch.bindQueue(q, 'e2e.src', 'orders.new'); // reachable two ways: delivered once
    ch.publish('e2e.src', 'orders.new', Buffer.from('o1'));
    ch.publish('e2e.src', 'payments.new', Buffer.from('p1'));
    await sleep(50);
    expect(await drain(ch, q)).toEqual(['o1']);
    const got = await ch.get(q);
    expect(got).toBe(false);
    await ch.unbindExchange('e2e.dst', 'e2e.src', 'orders.#');
    ch.publish('e2e.src', 'orders.old', Buffer.from('o2'));
    await sleep(50);
    expect(await drain(ch, q)).toEqual([]);
  });

  it('sends unroutable messages to the alternate exchange', async () => {
    const ch = await channel();
    await ch.assertExchange('ae.unrouted', 'fanout', { durable: false });
    await ch.assertExchange('ae.main', 'direct', { durable: false, alternateExchange: 'ae.unrouted' });
    const routed = (await ch.assertQueue('', { exclusive: true })).queue;
    const stray = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(routed, 'ae.main', 'known');
    await ch.bindQueue(stray, 'ae.unrouted', '');
    const returned: unknown[] = [];
    ch.on('return', (m) => returned.push(m));
    ch.publish('ae.main', 'known', Buffer.from('k'), { mandatory: true });
    ch.publish('ae.main', 'unknown', Buffer.from('u'), { mandatory: true });
    await sleep(50);
    expect(await drain(ch, routed)).toEqual(['k']);
    expect(await drain(ch, stray)).toEqual(['u']);
    expect(returned).toEqual([]);
  });

  it('delete: if-unused refuses with 406, deleting amq.* is 403, auto-delete exchanges go with their last binding', async () => {
    const ch = await channel();
    await ch.assertExchange('del.used', 'fanout', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'del.used', '');
    expect(await codeOf(ch.deleteExchange('del.used', { ifUnused: true }))).toBe(406);
    const ch2 = await channel();
    expect(await codeOf(ch2.deleteExchange('amq.direct'))).toBe(403);
    const ch3 = await channel();
    await ch3.deleteExchange('del.used');
    expect(await codeOf(ch3.checkExchange('del.used'))).toBe(404);
    const ch4 = await channel();
    await ch4.assertExchange('del.auto', 'fanout', { durable: false, autoDelete: true });
    const q2 = (await ch4.assertQueue('', { exclusive: true })).queue;
    await ch4.bindQueue(q2, 'del.auto', '');
    await ch4.unbindQueue(q2, 'del.auto', '');
    expect(await codeOf(ch4.checkExchange('del.auto'))).toBe(404);
  });
});

describe('queues', () => {
  it('declare returns counts; passive 404; inequivalent 406; amq.* names 403', async () => {
    const ch = await channel();
    const ok = await ch.assertQueue('qd.1', { durable: false });
    expect(ok).toEqual({ queue: 'qd.1', messageCount: 0, consumerCount: 0 });
    ch.sendToQueue('qd.1', Buffer.from('x'));
    await ch.consume('qd.1', () => undefined);
    await sleep(20);
    expect(await ch.checkQueue('qd.1')).toMatchObject({ consumerCount: 1 });
    expect(await codeOf(ch.assertQueue('qd.1', { durable: true }))).toBe(406);
    const ch2 = await channel();
    expect(await codeOf(ch2.assertQueue('qd.1', { durable: false, arguments: { 'x-message-ttl': 5 } }))).toBe(406);
    const ch3 = await channel();
    expect(await codeOf(ch3.checkQueue('qd.missing'))).toBe(404);
    const ch4 = await channel();
    expect(await codeOf(ch4.assertQueue('amq.mine'))).toBe(403);
    const ch5 = await channel();
    expect(await codeOf(ch5.assertQueue('qd.badarg', { arguments: { 'x-max-length': -1 } }))).toBe(406);
    const ch6 = await channel();
    await ch6.deleteQueue('qd.1');
  });

  it('exclusive queues are locked (405) to other connections and vanish with their connection', async () => {
    const owner = await amqp.connect(b.url);
    const ch = await channel(owner);
    await ch.assertQueue('ex.q', { exclusive: true });
    const other = await channel();
    expect(await codeOf(other.checkQueue('ex.q'))).toBe(405);
    const other2 = await channel();
    expect(await codeOf(other2.consume('ex.q', () => undefined))).toBe(405);
    await owner.close();
    const other3 = await channel();
    await until(() => true);
    expect(await codeOf(other3.checkQueue('ex.q'))).toBe(404);
  });

  it('auto-delete queues are deleted when their last consumer cancels', async () => {
    const ch = await channel();
    await ch.assertQueue('ad.q', { autoDelete: true, durable: false });
    const { consumerTag } = await ch.consume('ad.q', () => undefined);
    await ch.checkQueue('ad.q');
    await ch.cancel(consumerTag);
    expect(await codeOf(ch.checkQueue('ad.q'))).toBe(404);
  });

  it('purge and delete with if-empty / if-unused', async () => {
    const ch = await channel();
    await ch.assertQueue('pd.q', { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue('pd.q', Buffer.from('x'));
    await sleep(20);
    expect(await ch.purgeQueue('pd.q')).toEqual({ messageCount: 3 });
    ch.sendToQueue('pd.q', Buffer.from('y'));
    await sleep(20);
    expect(await codeOf(ch.deleteQueue('pd.q', { ifEmpty: true }))).toBe(406);
    const ch2 = await channel();
    const { consumerTag } = await ch2.consume('pd.q', () => undefined);
    expect(await codeOf(ch2.deleteQueue('pd.q', { ifUnused: true }))).toBe(406);
    const ch3 = await channel();
    await ch3.deleteQueue('pd.q');
    expect(consumerTag).toBeTruthy();
    expect(await codeOf(ch3.purgeQueue('pd.q'))).toBe(404);
  });

  it('unbind stops routing; binding to the default exchange is 403', async () => {
    const ch = await channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'amq.direct', 'k1');
    ch.publish('amq.direct', 'k1', Buffer.from('a'));
    await sleep(20);
    await ch.unbindQueue(q, 'amq.direct', 'k1');
    ch.publish('amq.direct', 'k1', Buffer.from('b'));
    await sleep(20);
    expect(await drain(ch, q)).toEqual(['a']);
    expect(await codeOf(ch.bindQueue(q, '', 'k'))).toBe(403);
  });
});

describe('consumers of removed queues', () => {
  it('a consumer gets a cancel when its queue is deleted by another connection', async () => {
    const ch = await channel();
    await ch.assertQueue('gone.q', { durable: false });
    const seen: Array<ConsumeMessage | null> = [];
    await ch.consume('gone.q', (m) => seen.push(m));
    const other = await channel();
    await other.deleteQueue('gone.q');
    await until(() => seen.includes(null));
  });
});
