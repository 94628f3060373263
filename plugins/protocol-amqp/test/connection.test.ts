import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_HEADER } from '../src/codec/constants.js';
import { RawClient } from './raw-client.js';
import { type AmqpTestBroker, startAmqp, until } from './helpers.js';

let b: AmqpTestBroker;
const logins: Array<{ username?: string; password?: string; method?: string }> = [];

beforeAll(async () => {
  b = await startAmqp({ amqp: { vhosts: ['/', 'tenant-a'], heartbeat: 30, frameMax: 65536 } });
  b.broker.hooks.register('authenticate', (req) => {
    if (req.protocol !== 'amqp') return undefined;
    logins.push({ username: req.username, password: req.password?.toString(), method: req.method });
    return req.password?.toString() === 'secret' || req.username === 'guest'
      ? { outcome: 'allow', principal: `user:${req.username}` }
      : { outcome: 'deny', reason: 'bad password' };
  });
});
afterAll(async () => {
  await b.stop();
});

const url = (user: string, pass: string, vhost = '') => `amqp://${user}:${pass}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;

describe('negotiation', () => {
  it('announces version 0-9, mechanisms and the capabilities clients look for', async () => {
    const raw = await RawClient.open(b.port);
    raw.write(PROTOCOL_HEADER);
    const start = await raw.waitFor('connection.start');
    expect(start.args).toMatchObject({ versionMajor: 0, versionMinor: 9 });
    expect(start.args.mechanisms.toString()).toBe('PLAIN AMQPLAIN');
    expect(start.args.serverProperties.product).toBe('RobustMQ');
    expect(start.args.serverProperties.capabilities).toMatchObject({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
    });
    raw.send(0, 'connection.start-ok', {
      clientProperties: {},
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0x'),
      locale: 'en_US',
    });
    const tune = await raw.waitFor('connection.tune');
    expect(tune.args).toEqual({ channelMax: 2047, frameMax: 65536, heartbeat: 30 });
    raw.close();
  });

  it('authenticates PLAIN and AMQPLAIN through the authenticate hook', async () => {
    logins.length = 0;
    const c1 = await amqp.connect(url('alice', 'secret'));
    await c1.close();
    const c2 = await amqp.connect(url('bob', 'secret'), { credentials: amqp.credentials.amqplain('bob', 'secret') });
    await c2.close();
    expect(logins).toEqual([
      { username: 'alice', password: 'secret', method: 'PLAIN' },
      { username: 'bob', password: 'secret', method: 'AMQPLAIN' },
    ]);
  });

  it('refuses bad credentials with connection.close 403 ACCESS_REFUSED', async () => {
    const err = await amqp.connect(url('mallory', 'nope')).catch((e: Error) => e);
    expect(String(err)).toMatch(/ACCESS_REFUSED|403/);
  });

  it('opens configured virtual hosts and refuses others with 530', async () => {
    const c = await amqp.connect(url('guest', 'guest', 'tenant-a'));
    const ch = await c.createChannel();
    await ch.assertQueue('only-in-tenant-a', { durable: false });
    await c.close();
    const c2 = await amqp.connect(url('guest', 'guest'));
    const ch2 = await c2.createChannel();
    ch2.on('error', () => undefined);
    const missing = await ch2.checkQueue('only-in-tenant-a').catch((e: { code: number }) => e);
    expect((missing as { code: number }).code).toBe(404);
    await c2.close().catch(() => undefined);
    const err = await amqp.connect(url('guest', 'guest', 'nowhere')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const raw = await RawClient.open(b.port);
    raw.write(PROTOCOL_HEADER);
    await raw.waitFor('connection.start');
    raw.send(0, 'connection.start-ok', {
      clientProperties: {},
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    });
    await raw.waitFor('connection.tune');
    raw.send(0, 'connection.tune-ok', { channelMax: 0, frameMax: 0, heartbeat: 0 });
    raw.send(0, 'connection.open', { virtualHost: 'nowhere' });
    const close = await raw.waitFor('connection.close');
    expect(close.args).toMatchObject({ replyCode: 530, classId: 10, methodId: 40 });
    expect(close.args.replyText).toBe("NOT_ALLOWED - vhost 'nowhere' not found");
    raw.close();
  });

  it('uses the heartbeat and frame size the client tunes to', async () => {
    const c = await amqp.connect(`${url('guest', 'guest')}?heartbeat=1&frameMax=8192`);
    const conn = (c as unknown as { connection: { heartbeat: number; frameMax: number } }).connection;
    expect(conn.heartbeat).toBe(1);
    expect(conn.frameMax).toBe(8192);
    const ch = await c.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.alloc(50_000, 1);
    ch.sendToQueue(queue, body);
    let got: Buffer | undefined;
    await ch.consume(queue, (m) => {
      got = m?.content;
    });
    await until(() => got !== undefined);
    expect(got?.equals(body)).toBe(true);
    // Idle for more than two heartbeat intervals: the heartbeats keep the connection up.
    await new Promise((r) => setTimeout(r, 2500));
    await ch.checkQueue(queue);
    await c.close();
  });

  it('drops a peer that stays silent for two heartbeat intervals, after sending it heartbeats', async () => {
    const raw = await RawClient.open(b.port);
    await raw.handshake(1);
    const t0 = Date.now();
    await raw.waitClosed(5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(raw.frames.some((f) => f.type === 8)).toBe(true);
  });

  it('channel.flow pauses and resumes deliveries', async () => {
    const raw = await RawClient.open(b.port);
    await raw.handshake();
    raw.send(1, 'channel.open');
    raw.send(1, 'queue.declare', { queue: '', exclusive: true, arguments: {} });
    const q = (await raw.waitFor('queue.declare-ok')).args.queue as string;
    raw.send(1, 'basic.consume', { queue: q, consumerTag: 'c', noAck: true, arguments: {} });
    await raw.waitFor('basic.consume-ok');
    raw.send(1, 'channel.flow', { active: false });
    expect((await raw.waitFor('channel.flow-ok')).args.active).toBe(false);
    raw.publish(1, '', q, Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 100));
    expect(raw.methods().some((m) => m.name === 'basic.deliver')).toBe(false);
    raw.send(1, 'channel.flow', { active: true });
    const deliver = await raw.waitFor('basic.deliver');
    expect(deliver.args).toMatchObject({ consumerTag: 'c', routingKey: q });
    raw.close();
  });

  it('answers a foreign protocol header with its own and closes', async () => {
    const raw = await RawClient.open(b.port);
    raw.write(Buffer.from('AMQP\x01\x01\x00\x0a'));
    await raw.waitClosed();
    expect(raw.raw.equals(PROTOCOL_HEADER)).toBe(true);
  });

  it('completes the close handshakes: client channel.close and connection.close get their -ok', async () => {
    const raw = await RawClient.open(b.port);
    await raw.handshake();
    raw.send(1, 'channel.open');
    await raw.waitFor('channel.open-ok');
    raw.send(1, 'channel.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await raw.waitFor('channel.close-ok');
    raw.send(0, 'connection.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await raw.waitFor('connection.close-ok');
    await raw.waitClosed();
  });
});

describe('errors', () => {
  async function expectConnectionClose(act: (raw: RawClient) => void, code: number): Promise<void> {
    const raw = await RawClient.open(b.port);
    await raw.handshake();
    act(raw);
    const close = await raw.waitFor('connection.close');
    expect(close.args.replyCode).toBe(code);
    raw.send(0, 'connection.close-ok');
    await raw.waitClosed();
  }

  it('a bad frame-end octet is 501 FRAME_ERROR', async () => {
    await expectConnectionClose((raw) => raw.write(Buffer.from([1, 0, 1, 0, 0, 0, 4, 0, 20, 0, 10, 0x00])), 501);
  });

  it('an unknown frame type is 501; a frame over frame_max is 501', async () => {
    await expectConnectionClose((raw) => raw.write(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0xce])), 501);
    await expectConnectionClose((raw) => raw.write(Buffer.from([1, 0, 1, 0x10, 0, 0, 0])), 501);
  });

  it('a method on an unopened channel is 504 CHANNEL_ERROR', async () => {
    await expectConnectionClose((raw) => raw.send(3, 'queue.declare', { queue: 'x' }), 504);
  });

  it('a content header without basic.publish is 505 UNEXPECTED_FRAME', async () => {
    await expectConnectionClose((raw) => {
      raw.send(1, 'channel.open');
      raw.write(Buffer.from([2, 0, 1, 0, 0, 0, 14, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xce]));
    }, 505);
  });

  it('an unknown method is 540 NOT_IMPLEMENTED; a truncated method is 502 SYNTAX_ERROR', async () => {
    await expectConnectionClose((raw) => raw.write(Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 99, 0xce])), 540);
    await expectConnectionClose((raw) => {
      raw.send(1, 'channel.open');
      raw.write(Buffer.from([1, 0, 1, 0, 0, 0, 6, 0, 50, 0, 10, 0, 0, 0xce]));
    }, 502);
  });

  it('a second channel.open on an open channel is 504', async () => {
    await expectConnectionClose((raw) => {
      raw.send(1, 'channel.open');
      raw.send(1, 'channel.open');
    }, 504);
  });

  it('a channel exception closes only the channel; frames until close-ok are ignored', async () => {
    const raw = await RawClient.open(b.port);
    await raw.handshake();
    raw.send(1, 'channel.open');
    raw.send(2, 'channel.open');
    raw.send(1, 'queue.declare', { queue: 'missing-q', passive: true, arguments: {} });
    const close = await raw.waitFor('channel.close');
    expect(close.channel).toBe(1);
    expect(close.args).toMatchObject({ replyCode: 404, classId: 50, methodId: 10 });
    raw.send(1, 'queue.declare', { queue: 'ignored', arguments: {} });
    raw.send(1, 'channel.close-ok');
    raw.send(2, 'queue.declare', { queue: '', exclusive: true, arguments: {} });
    const ok = await raw.waitFor('queue.declare-ok');
    expect(ok.channel).toBe(2);
    expect(raw.methods().filter((m) => m.name === 'queue.declare-ok').length).toBe(1);
    raw.close();
  });

  it('random bytes after the handshake close that connection only (seeded fuzz, 20 connections)', async () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 20; i++) {
      const raw = await RawClient.open(b.port);
      await raw.handshake();
      raw.send(1, 'channel.open');
      // Half the time a plausible frame header with a random payload, else pure noise.
      const len = 1 + Math.floor(rand() * 300);
      const junk = Buffer.alloc(len);
      for (let j = 0; j < len; j++) junk[j] = Math.floor(rand() * 256);
      if (i % 2 === 0) {
        const header = Buffer.from([1 + Math.floor(rand() * 3), 0, 1, 0, 0, 0, 0]);
        header.writeUInt32BE(len, 3);
        raw.write(Buffer.concat([header, junk, Buffer.from([0xce])]));
      } else raw.write(junk);
      await new Promise((r) => setTimeout(r, 5));
      raw.close();
    }
    const c = await amqp.connect(b.url);
    const ch = await c.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('still here'));
    let got = '';
    await ch.consume(queue, (m) => {
      got = m?.content.toString() ?? '';
    });
    await until(() => got === 'still here');
    await c.close();
  });

  it('the broker keeps serving after malformed connections', async () => {
    const c = await amqp.connect(b.url);
    const ch = await c.createChannel();
    await ch.assertQueue('', { exclusive: true });
    await c.close();
  });
});
