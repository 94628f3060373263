import { createMessage, Headers, publishMessage } from '@robustmq/sdk';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { client, closeClients, collect, startTestBroker, type TestBroker, waitFor } from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ sysInterval: 1 });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

it('delivers a message from another protocol with its headers as MQTT 5 properties', async () => {
  const sub = await client(tb, { protocolVersion: 5 });
  const got = collect(sub);
  await sub.subscribeAsync('orders/+', { qos: 1 });
  const message = createMessage({
    topic: 'orders/42',
    payload: Buffer.from('{"id":42}'),
    origin: { protocol: 'amqp', clientId: 'svc' },
    durability: 'durable',
    expiresAt: Date.now() + 60_000,
    headers: {
      [Headers.contentType]: 'application/json',
      [Headers.responseTopic]: 'replies/svc',
      [Headers.correlationData]: Buffer.from('c-1'),
      [`${Headers.mqttUserPrefix}tenant`]: 'acme',
    },
  });
  publishMessage(tb.broker.hooks, tb.broker.router, message);
  await waitFor(() => got.length === 1);
  const p = got[0].packet;
  // A durable message without an MQTT QoS is delivered at QoS 1.
  expect(p.qos).toBe(1);
  expect(p.properties).toMatchObject({
    contentType: 'application/json',
    responseTopic: 'replies/svc',
    userProperties: { tenant: 'acme' },
  });
  expect(p.properties?.correlationData?.toString()).toBe('c-1');
  expect(p.properties?.messageExpiryInterval).toBeGreaterThan(55);
});

it('publishes MQTT messages to the kernel router with headers other protocols can read', async () => {
  const seen: Array<{ topic: string; headers: Record<string, unknown>; qos?: number; expiresAt?: number }> = [];
  const off = tb.broker.hooks.register('published', (m) => {
    if (m.topic === 'x/headers') seen.push(m);
  });
  const pub = await client(tb, { protocolVersion: 5 });
  await pub.publishAsync('x/headers', 'v', {
    qos: 1,
    properties: { contentType: 'text/plain', userProperties: { a: 'b' }, messageExpiryInterval: 30 },
  });
  await waitFor(() => seen.length === 1);
  expect(seen[0].headers).toMatchObject({ 'content-type': 'text/plain', 'mqtt-user-a': 'b' });
  expect(seen[0].qos).toBe(1);
  expect(seen[0].expiresAt).toBeGreaterThan(Date.now() + 25_000);
  off();
});

it('publishes $SYS statistics and keeps them retained', async () => {
  const c = await client(tb, { protocolVersion: 4 });
  await c.subscribeAsync('x/warm');
  const sys = await client(tb, { protocolVersion: 5 });
  const got = collect(sys);
  await sys.subscribeAsync('$SYS/broker/#');
  // The retained values come first; the next interval publishes fresh ones live.
  const live = () => got.find((g) => g.topic === '$SYS/broker/clients/connected' && !g.packet.retain);
  await waitFor(() => live() !== undefined, 3000);
  const byTopic = new Map(got.map((g) => [g.topic, g.payload]));
  expect(Number(live()?.payload)).toBeGreaterThanOrEqual(2);
  expect(byTopic.get('$SYS/broker/version')).toMatch(/^RobustMQ /);
  expect(byTopic.has('$SYS/broker/messages/received')).toBe(true);
  expect(byTopic.has('$SYS/broker/subscriptions/count')).toBe(true);
  expect(got.find((g) => g.topic === '$SYS/broker/uptime')?.packet.retain).toBe(true);
});

it('a retained Will is kept as the retained message of its topic', async () => {
  const { RawClient } = await import('./helpers.js');
  const c = await RawClient.connected(tb.port, 4, {
    will: { topic: 'wr/status', payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  c.end();
  await new Promise((r) => setTimeout(r, 100));
  const later = await client(tb, { protocolVersion: 4 });
  const got = collect(later);
  await later.subscribeAsync('wr/status', { qos: 1 });
  await waitFor(() => got.length === 1);
  expect(got[0]).toMatchObject({ payload: 'offline' });
  expect(got[0].packet.retain).toBe(true);
});

it('skips a message from another protocol that MQTT cannot encode, without failing the publisher', async () => {
  const sub = await client(tb, { protocolVersion: 4 });
  const got = collect(sub);
  await sub.subscribeAsync('long/#');
  const tooLong = createMessage({
    topic: `long/${'x'.repeat(70_000)}`,
    payload: Buffer.from('no'),
    origin: { protocol: 'kafka', clientId: 'k' },
  });
  expect(() => publishMessage(tb.broker.hooks, tb.broker.router, tooLong)).not.toThrow();
  publishMessage(
    tb.broker.hooks,
    tb.broker.router,
    createMessage({ topic: 'long/ok', payload: Buffer.from('yes'), origin: { protocol: 'kafka', clientId: 'k' } }),
  );
  await waitFor(() => got.length === 1);
  expect(got[0].payload).toBe('yes');
});
