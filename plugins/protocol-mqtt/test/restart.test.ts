import { afterEach, expect, it } from 'vitest';
import { startPlugin } from './harness.js';
import { client, closeClients, collect, connackOf, RawClient, sleep, waitFor } from './helpers.js';

afterEach(closeClients);

it('restores sessions, offline queue, in-flight state and retained messages from the MetaStore after a restart', async () => {
  const data = new Map<string, Buffer>();
  const one = await startPlugin({}, data);
  const url1 = `mqtt://127.0.0.1:${one.port}`;
  const session = { protocolVersion: 5 as const, clientId: 'survivor', clean: false, properties: { sessionExpiryInterval: 600 } };
  const sub = await client(url1, session);
  await sub.subscribeAsync('rs/+', { qos: 1 });
  await sub.endAsync();
  // An in-flight message that the client never acknowledges.
  const raw = await RawClient.connected(one.port, 5, {
    clientId: 'inflight-survivor',
    clean: false,
    properties: { sessionExpiryInterval: 600 },
  });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rs/+', qos: 1 }] });
  await raw.next('suback');
  const pub = await client(url1, { protocolVersion: 5 });
  await pub.publishAsync('rs/a', 'queued-1', { qos: 1 });
  await pub.publishAsync('rs/b', 'queued-2', { qos: 1 });
  await pub.publishAsync('rs/keep', 'retained', { qos: 1, retain: true });
  const unacked = await raw.next('publish');
  raw.end();
  await pub.endAsync();
  await sleep(50);
  await one.stop();
  expect([...data.keys()].some((k) => k.startsWith('mqtt/queue/survivor/'))).toBe(true);

  const two = await startPlugin({}, data);
  const url2 = `mqtt://127.0.0.1:${two.port}`;
  const back = await client(url2, session);
  expect(connackOf(back)?.sessionPresent).toBe(true);
  const got = collect(back);
  await waitFor(() => got.length === 3);
  expect(got.map((g) => g.payload)).toEqual(['queued-1', 'queued-2', 'retained']);

  const rawBack = await RawClient.open(two.port, 5);
  rawBack.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: 'inflight-survivor',
    clean: false,
    keepalive: 0,
    properties: { sessionExpiryInterval: 600 },
  });
  expect((await rawBack.next('connack')).sessionPresent).toBe(true);
  const resent = await rawBack.next('publish');
  expect(resent).toMatchObject({ dup: true, messageId: unacked.messageId });
  expect(resent.payload.toString()).toBe(unacked.payload.toString());

  const fresh = await client(url2, { protocolVersion: 5 });
  const gotFresh = collect(fresh);
  await fresh.subscribeAsync('rs/keep');
  await waitFor(() => gotFresh.length === 1);
  expect(gotFresh[0]).toMatchObject({ payload: 'retained' });
  rawBack.end();
  await closeClients();
  await two.stop();
});

/**
 * A persistent session subscribes and goes offline; the MetaStore then takes 300 ms per offline-queue
 * write. A QoS 1 PUBLISH for it must not be acknowledged before its copy is stored, and acks stay in order.
 */
async function expectAckAfterSlowQueueWrite(clientId: string, setup?: (h: Awaited<ReturnType<typeof startPlugin>>) => void) {
  const data = new Map<string, Buffer>();
  let slow = false;
  const h = await startPlugin({}, data, (store) => ({
    ...store,
    get: (k) => store.get(k),
    scan: (p) => store.scan(p),
    delete: (k) => store.delete(k),
    batch: (ops) => store.batch(ops),
    compareAndSet: (k, e, n) => store.compareAndSet(k, e, n),
    flush: () => store.flush(),
    close: () => store.close(),
    put: async (k, v) => {
      if (slow && k.startsWith('mqtt/queue/')) await sleep(300);
      await store.put(k, v);
    },
  }));
  setup?.(h);
  const url = `mqtt://127.0.0.1:${h.port}`;
  const sub = await client(url, {
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
  });
  await sub.subscribeAsync('dur/x', { qos: 1 });
  await sub.endAsync();
  slow = true;
  const pub = await RawClient.connected(h.port, 5);
  const started = Date.now();
  pub.send({ cmd: 'publish', topic: 'dur/x', payload: Buffer.from('kept'), qos: 1, messageId: 7, retain: false, dup: false });
  pub.send({ cmd: 'publish', topic: 'other/y', payload: Buffer.from('free'), qos: 1, messageId: 8, retain: false, dup: false });
  const first = await pub.next('puback');
  expect(first.messageId).toBe(7);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  expect([...data.keys()].some((k) => k.startsWith(`mqtt/queue/${clientId}/`))).toBe(true);
  // Acknowledgements stay in order.
  expect((await pub.next('puback')).messageId).toBe(8);
  pub.end();
  await closeClients();
  await h.stop();
}

it('acknowledges a QoS 1 PUBLISH only once the copy for an offline persistent session is stored', async () => {
  await expectAckAfterSlowQueueWrite('durable-sub');
});

it('acknowledges only once the copy is stored also when an async rule filter routes the message later', async () => {
  await expectAckAfterSlowQueueWrite('durable-sub-filtered', (h) => {
    // An async filter that transforms: routing happens after the PUBLISH handler returned, on a new message object.
    h.hooks.register('filter', async (m) => ({
      verdict: 'transform',
      message: { ...m, headers: { ...m.headers, seen: 'yes' } },
    }));
  });
});

it('sends a delayed Will after a restart when its client does not come back', async () => {
  const data = new Map<string, Buffer>();
  const one = await startPlugin({}, data);
  const c = await RawClient.connected(one.port, 5, {
    clientId: 'will-across-restart',
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    will: {
      topic: 'wr/restart',
      payload: Buffer.from('gone for good'),
      qos: 1,
      retain: true,
      properties: { willDelayInterval: 1 },
    },
  });
  c.end();
  await sleep(100);
  await one.stop();
  const two = await startPlugin({}, data);
  const watcher = await client(`mqtt://127.0.0.1:${two.port}`, { protocolVersion: 5 });
  const got = collect(watcher);
  await watcher.subscribeAsync('wr/restart', { qos: 1 });
  await waitFor(() => got.length === 1, 3000, 'will after restart');
  expect(got[0].payload).toBe('gone for good');
  await sleep(100);
  const record = JSON.parse(data.get('mqtt/session/will-across-restart')?.toString() ?? '{}');
  expect(record.will).toBeUndefined();
  await closeClients();
  await two.stop();
});
