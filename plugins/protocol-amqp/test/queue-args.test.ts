import type { Channel, ConsumeMessage, GetMessage, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { eventually, sleep, until, useAmqplibSuite } from './helpers.js';

const suite = useAmqplibSuite();
const channel = () => suite.channel();

async function drain(ch: Channel, queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return out;
    out.push(m);
  }
}
const bodies = (ms: Message[]) => ms.map((m) => m.content.toString());
const deaths = (m: Message) => (m.properties.headers?.['x-death'] ?? []) as unknown as Array<Record<string, unknown>>;

describe('queue arguments', () => {
  it('x-message-ttl and per-message expiration expire messages, dead-lettering them with x-death', async () => {
    const ch = await channel();
    const dead = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.assertExchange('dlx.ttl', 'fanout', { durable: false });
    await ch.bindQueue(dead, 'dlx.ttl', '');
    const q = (
      await ch.assertQueue('', { exclusive: true, arguments: { 'x-message-ttl': 300, 'x-dead-letter-exchange': 'dlx.ttl' } })
    ).queue;
    const plain = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from('old'));
    ch.sendToQueue(plain, Buffer.from('short'), { expiration: '40' });
    ch.sendToQueue(plain, Buffer.from('long'), { expiration: '60000' });
    expect((await ch.checkQueue(q)).messageCount).toBe(1);
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 0, 5000, 'the TTL');
    await eventually(async () => (await ch.checkQueue(dead)).messageCount === 1, 5000, 'the dead letter');
    const dl = await drain(ch, dead);
    expect(bodies(dl)).toEqual(['old']);
    const death = deaths(dl[0])[0];
    expect(death).toMatchObject({ count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] });
    expect(dl[0].properties.headers?.['x-first-death-reason']).toBe('expired');
    expect(bodies(await drain(ch, plain))).toEqual(['long']);
  });

  it('x-max-length drop-head drops (and dead-letters) the oldest', async () => {
    const ch = await channel();
    const dead = (await ch.assertQueue('', { exclusive: true })).queue;
    const q = (
      await ch.assertQueue('', {
        exclusive: true,
        arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead },
      })
    ).queue;
    for (const s of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(s));
    await sleep(50);
    expect(bodies(await drain(ch, q))).toEqual(['3', '4']);
    const dl = await drain(ch, dead);
    expect(bodies(dl)).toEqual(['1', '2']);
    expect(deaths(dl[0])[0].reason).toBe('maxlen');
    expect(dl[0].fields.routingKey).toBe(dead);
  });

  it('x-overflow reject-publish nacks confirms of refused messages', async () => {
    const ch = await suite.conn.createConfirmChannel();
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } }))
      .queue;
    const outcome = (s: string) =>
      new Promise<string>((res) => ch.sendToQueue(q, Buffer.from(s), {}, (err) => res(err ? 'nack' : 'ack')));
    expect(await Promise.all([outcome('a'), outcome('b')])).toEqual(['ack', 'nack']);
    expect((await ch.checkQueue(q)).messageCount).toBe(1);
    await ch.close();
  });

  it('rejected messages are dead-lettered with reason rejected and the original routing key', async () => {
    const ch = await channel();
    await ch.assertExchange('dlx.rej', 'topic', { durable: false });
    const dead = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(dead, 'dlx.rej', '#');
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-dead-letter-exchange': 'dlx.rej' } })).queue;
    ch.sendToQueue(q, Buffer.from('bad'), { headers: { keep: 'me' } });
    const got: ConsumeMessage[] = [];
    await ch.consume(q, (m) => m && got.push(m));
    await until(() => got.length === 1);
    ch.nack(got[0], false, false);
    await sleep(30);
    const dl = await drain(ch, dead);
    expect(bodies(dl)).toEqual(['bad']);
    expect(dl[0].fields).toMatchObject({ exchange: 'dlx.rej', routingKey: q });
    expect(dl[0].properties.headers).toMatchObject({ keep: 'me', 'x-first-death-reason': 'rejected', 'x-first-death-queue': q });
  });

  it('drops a message that would dead-letter in a cycle without rejections; a retry loop through a reject works', async () => {
    const ch = await channel();
    await ch.assertQueue('cyc.a', {
      durable: false,
      arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'cyc.b' },
    });
    await ch.assertQueue('cyc.b', {
      durable: false,
      arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'cyc.a' },
    });
    ch.sendToQueue('cyc.a', Buffer.from('loop'));
    await eventually(
      async () => (await ch.checkQueue('cyc.a')).messageCount + (await ch.checkQueue('cyc.b')).messageCount === 0,
      5000,
      'the cycle to stop',
    );
    await sleep(100);
    expect((await ch.checkQueue('cyc.a')).messageCount + (await ch.checkQueue('cyc.b')).messageCount).toBe(0);

    await ch.assertQueue('retry.work', {
      durable: false,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'retry.wait' },
    });
    await ch.assertQueue('retry.wait', {
      durable: false,
      arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'retry.work' },
    });
    const seen: ConsumeMessage[] = [];
    await ch.consume('retry.work', (m) => {
      if (!m) return;
      seen.push(m);
      if (seen.length < 3) ch.reject(m, false);
      else ch.ack(m);
    });
    ch.sendToQueue('retry.work', Buffer.from('job'));
    await until(() => seen.length === 3);
    const deaths3 = deaths(seen[2]);
    expect(deaths3.find((d) => d.queue === 'retry.work')).toMatchObject({ reason: 'rejected', count: 2 });
    expect(deaths3.find((d) => d.queue === 'retry.wait')).toMatchObject({ reason: 'expired', count: 2 });
    for (const q of ['cyc.a', 'cyc.b', 'retry.work', 'retry.wait']) await ch.deleteQueue(q);
  });

  it('x-expires deletes an unused queue', async () => {
    const ch = await channel();
    await ch.assertQueue('expiring', { durable: false, arguments: { 'x-expires': 300 } });
    await ch.checkQueue('expiring');
    // Each failed passive declare closes the probing channel: open a fresh one per probe.
    let code: number | undefined;
    await eventually(
      async () => {
        const c = await suite.conn.createChannel();
        c.on('error', () => undefined);
        code = await c.checkQueue('expiring').then(
          async () => {
            await c.close();
            return undefined;
          },
          (e: { code: number }) => e.code,
        );
        return code !== undefined;
      },
      5000,
      'the queue to expire',
    );
    expect(code).toBe(404);
  });

  it('x-single-active-consumer gives everything to one consumer until it goes', async () => {
    const ch1 = await channel();
    const ch2 = await channel();
    await ch1.assertQueue('sac.q', { durable: false, arguments: { 'x-single-active-consumer': true } });
    const a: string[] = [];
    const c: string[] = [];
    const first = await ch1.consume('sac.q', (m) => m && a.push(m.content.toString()), { noAck: true });
    await ch2.consume('sac.q', (m) => m && c.push(m.content.toString()), { noAck: true });
    for (const s of ['1', '2', '3']) ch1.sendToQueue('sac.q', Buffer.from(s));
    await until(() => a.length === 3);
    expect(c).toEqual([]);
    await ch1.cancel(first.consumerTag);
    ch1.sendToQueue('sac.q', Buffer.from('4'));
    await until(() => c.length === 1);
    expect(c).toEqual(['4']);
    await ch1.deleteQueue('sac.q');
  });

  it('x-max-priority delivers higher priorities first, FIFO within a level', async () => {
    const ch = await channel();
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-priority': 5 } })).queue;
    const sends: Array<[string, number | undefined]> = [
      ['low-1', undefined],
      ['high', 5],
      ['mid-1', 3],
      ['over', 9],
      ['mid-2', 3],
      ['low-2', 0],
    ];
    for (const [body, priority] of sends) ch.sendToQueue(q, Buffer.from(body), priority === undefined ? {} : { priority });
    await sleep(30);
    expect(bodies(await drain(ch, q))).toEqual(['high', 'over', 'mid-1', 'mid-2', 'low-1', 'low-2']);
  });

  it('accepts quorum queues (durable only) and dead-letters past x-delivery-limit', async () => {
    const ch = await channel();
    const dead = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.assertQueue('qq.work', {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': 1,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': dead,
      },
    });
    ch.sendToQueue('qq.work', Buffer.from('poison'));
    const seen: ConsumeMessage[] = [];
    const { consumerTag } = await ch.consume('qq.work', (m) => {
      if (!m) return;
      seen.push(m);
      ch.nack(m, false, true);
    });
    await until(() => seen.length === 2);
    await sleep(50);
    expect(seen.length).toBe(2);
    await ch.cancel(consumerTag);
    const dl = await drain(ch, dead);
    expect(bodies(dl)).toEqual(['poison']);
    expect(deaths(dl[0])[0].reason).toBe('delivery_limit');
    await ch.deleteQueue('qq.work');
    const ch2 = await channel();
    const err = await ch2
      .assertQueue('qq.bad', { exclusive: true, arguments: { 'x-queue-type': 'quorum' } })
      .catch((e: { code: number }) => e);
    expect((err as { code: number }).code).toBe(406);
  });

  it('rejects invalid argument values with 406', async () => {
    for (const args of [
      { 'x-overflow': 'nope' },
      { 'x-expires': 0 },
      { 'x-single-active-consumer': 'yes' },
      { 'x-dead-letter-routing-key': 'k' },
    ]) {
      const ch = await channel();
      const err = await ch.assertQueue('', { exclusive: true, arguments: args }).catch((e: { code: number }) => e);
      expect((err as { code: number }).code).toBe(406);
    }
  });
});
