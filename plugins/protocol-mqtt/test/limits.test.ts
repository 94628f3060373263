import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  closeClients,
  collect,
  connackOf,
  RawClient,
  sleep,
  startTestBroker,
  type TestBroker,
  tryConnect,
  waitFor,
} from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({
    maxConnections: 6,
    maxTopicLevels: 4,
    maxTopicLength: 32,
    receiveMaximum: 3,
    topicAliasMaximum: 2,
    keepAliveMax: 30,
    sessionExpiryMax: 100,
    publishRateLimit: 20,
    responseInformation: 'reply/',
    maxInflight: 2,
    maxQueuedMessages: 50,
  });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

describe('CONNACK properties and negotiated limits (5.0)', () => {
  it('announces the broker limits and overrides keep-alive and session expiry', async () => {
    const c = await client(tb, {
      protocolVersion: 5,
      keepalive: 0,
      properties: { sessionExpiryInterval: 1000, requestResponseInformation: true },
    });
    const p = connackOf(c)?.properties ?? {};
    expect(p).toMatchObject({
      receiveMaximum: 3,
      topicAliasMaximum: 2,
      maximumPacketSize: 1048576,
      serverKeepAlive: 30,
      sessionExpiryInterval: 100,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      sharedSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
    });
    expect(String(p.responseInformation)).toMatch(/^reply\//);
  });
});

describe('limits', () => {
  it('refuses topics with too many levels or too long (PUBLISH 0x90, SUBSCRIBE 0x8F)', async () => {
    const c = await RawClient.connected(tb.port, 5);
    c.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'a/b/c/d/e', qos: 0 },
        { topic: 'x'.repeat(40), qos: 0 },
        { topic: 'a/b/c/d', qos: 0 },
      ],
    });
    expect((await c.next('suback')).granted).toEqual([0x8f, 0x8f, 0]);
    c.send({ cmd: 'publish', topic: 'a/b/c/d/e', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    expect((await c.next('disconnect')).reasonCode).toBe(0x90);
    await c.waitClosed();
  });

  it('disconnects a client that exceeds the Receive Maximum with 0x93', async () => {
    const c = await RawClient.connected(tb.port, 5);
    for (let id = 1; id <= 4; id++)
      c.send({ cmd: 'publish', topic: 'rm/x', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
    expect((await c.next('disconnect')).reasonCode).toBe(0x93);
    expect(c.count('pubrec')).toBe(3);
    await c.waitClosed();
  });

  it('disconnects on a topic alias above the maximum with 0x94, and on an unknown alias with 0x82', async () => {
    const c = await RawClient.connected(tb.port, 5);
    c.send({
      cmd: 'publish',
      topic: 'al/x',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    });
    expect((await c.next('disconnect')).reasonCode).toBe(0x94);
    const d = await RawClient.connected(tb.port, 5);
    d.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    });
    expect((await d.next('disconnect')).reasonCode).toBe(0x82);
  });

  it('refuses a non-zero Session Expiry on DISCONNECT after 0 at CONNECT (0x82)', async () => {
    const c = await RawClient.connected(tb.port, 5);
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
    expect((await c.next('disconnect')).reasonCode).toBe(0x82);
  });

  it('slows a client down to the publish rate limit without losing messages', async () => {
    const sub = await client(tb, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('rate/x');
    const pub = await client(tb, { protocolVersion: 5 });
    const started = Date.now();
    for (let i = 0; i < 50; i++) pub.publish('rate/x', String(i));
    await waitFor(() => got.length === 50, 5000);
    // 20 burst + 30 at 20/s ≈ 1.5 s.
    expect(Date.now() - started).toBeGreaterThan(1000);
  });

  it('keeps at most maxInflight QoS 1 messages unacknowledged per client (3.1.1 too)', async () => {
    const sub = await RawClient.connected(tb.port, 4);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mif/x', qos: 1 }] });
    await sub.next('suback');
    const pub = await client(tb, { protocolVersion: 4 });
    for (let i = 0; i < 5; i++) await pub.publishAsync('mif/x', String(i), { qos: 1 });
    await waitFor(() => sub.count('publish') === 2);
    await sleep(100);
    expect(sub.count('publish')).toBe(2);
    const first = await sub.next('publish');
    sub.send({ cmd: 'puback', messageId: first.messageId });
    await waitFor(() => sub.count('publish') === 2);
    sub.end();
  });

  it('refuses connections above maxConnections', async () => {
    await closeClients();
    const open = [];
    for (let i = 0; i < 6; i++) open.push(await client(tb, { protocolVersion: 4 }));
    const extra = await tryConnect(tb, { protocolVersion: 4, connectTimeout: 1000 });
    expect(extra.error).toBeDefined();
    await closeClients();
    await waitFor(() => true);
  });
});

describe('features switched off', () => {
  let off: TestBroker;
  beforeAll(async () => {
    off = await startTestBroker({
      maximumQoS: 1,
      retainAvailable: false,
      wildcardSubscriptionAvailable: false,
      sharedSubscriptionAvailable: false,
    });
  });
  afterAll(async () => {
    await off.stop();
  });

  it('announces them and answers 0xA2, 0x9E, a downgraded QoS, 0x9B and 0x9A', async () => {
    const c = await RawClient.open(off.port, 5);
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'off', clean: true, keepalive: 0 });
    const ack = await c.next('connack');
    expect(ack.properties).toMatchObject({
      maximumQoS: 1,
      retainAvailable: false,
      wildcardSubscriptionAvailable: false,
      sharedSubscriptionAvailable: false,
    });
    c.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'a/+', qos: 0 },
        { topic: '$share/g/a', qos: 0 },
        { topic: 'a/b', qos: 2 },
      ],
    });
    expect((await c.next('suback')).granted).toEqual([0xa2, 0x9e, 1]);
    c.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    expect((await c.next('disconnect')).reasonCode).toBe(0x9b);
    const d = await RawClient.connected(off.port, 5);
    d.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: true, dup: false });
    expect((await d.next('disconnect')).reasonCode).toBe(0x9a);
  });
});

it('disconnects 5.0 clients with 0x8B when the broker shuts down', async () => {
  const own = await startTestBroker();
  const c = await RawClient.connected(own.port, 5);
  await own.stop();
  expect((await c.next('disconnect')).reasonCode).toBe(0x8b);
  await c.waitClosed();
});

describe('slow subscribers', () => {
  let slow: TestBroker;
  beforeAll(async () => {
    slow = await startTestBroker({ maxQueuedMessages: 50 });
  });
  afterAll(async () => {
    await slow.stop();
  });

  it('bounds what a subscriber that stops reading can hold, and keeps serving the others', async () => {
    const stuck = await RawClient.connected(slow.port, 5);
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'slow/x', qos: 0 }] });
    await stuck.next('suback');
    stuck.socket.pause();
    const before = await slow.broker.metrics.render();
    const dropsBefore = Number(/robustmq_messages_dropped_total\{reason="queue-full"\} (\d+)/.exec(before)?.[1] ?? 0);
    const pub = await client(slow, { protocolVersion: 5 });
    const payload = Buffer.alloc(8192, 1);
    for (let i = 0; i < 4000; i++) pub.publish('slow/x', payload);
    await pub.publishAsync('slow/x', payload, { qos: 1 });
    const other = await client(slow, { protocolVersion: 5 });
    const got = collect(other);
    await other.subscribeAsync('fine/x');
    await pub.publishAsync('fine/x', 'still served', { qos: 1 });
    await waitFor(() => got.length === 1);
    const after = await slow.broker.metrics.render();
    const dropsAfter = Number(/robustmq_messages_dropped_total\{reason="queue-full"\} (\d+)/.exec(after)?.[1] ?? 0);
    // 4000 × 8 KiB = 32 MiB published; beyond the kernel's socket buffers the broker holds at most
    // a quarter MiB in the socket and 50 messages in the queue, and drops the rest.
    expect(dropsAfter - dropsBefore).toBeGreaterThan(0);
    stuck.end();
  });
});
