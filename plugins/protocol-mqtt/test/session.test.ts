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
  waitFor,
} from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ maxQueuedMessages: 5 });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

const persistent = (v: 4 | 5, clientId: string) =>
  v === 5
    ? { protocolVersion: v, clientId, clean: false, properties: { sessionExpiryInterval: 300 } }
    : { protocolVersion: v, clientId, clean: false };

describe.each([4, 5] as const)('sessions, protocol version %i', (v) => {
  it('keeps subscriptions and queues QoS 1/2 (not QoS 0) while offline; Session Present on return', async () => {
    const id = `persist-${v}`;
    const first = await client(tb, persistent(v, id));
    await first.subscribeAsync(`ps${v}/x`, { qos: 2 });
    await first.endAsync();
    const pub = await client(tb, { protocolVersion: v });
    await pub.publishAsync(`ps${v}/x`, 'q0', { qos: 0 });
    await pub.publishAsync(`ps${v}/x`, 'q1', { qos: 1 });
    await pub.publishAsync(`ps${v}/x`, 'q2', { qos: 2 });
    const again = await client(tb, persistent(v, id));
    expect(connackOf(again)?.sessionPresent).toBe(true);
    const got = collect(again);
    await waitFor(() => got.length === 2);
    expect(got.map((g) => g.payload)).toEqual(['q1', 'q2']);
    // Subscriptions are still there for live messages.
    await pub.publishAsync(`ps${v}/x`, 'live', { qos: 1 });
    await waitFor(() => got.length === 3);
  });

  it('Clean Start / Clean Session discards the old session', async () => {
    const id = `cleaned-${v}`;
    const first = await client(tb, persistent(v, id));
    await first.subscribeAsync(`cl${v}/x`, { qos: 1 });
    await first.endAsync();
    const raw = await RawClient.open(tb.port, v);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: v, clientId: id, clean: true, keepalive: 0 });
    const ack = await raw.next('connack');
    expect(ack.sessionPresent).toBe(false);
    const pub = await client(tb, { protocolVersion: v });
    await pub.publishAsync(`cl${v}/x`, 'x', { qos: 1 });
    await sleep(100);
    expect(raw.count('publish')).toBe(0);
    raw.end();
  });

  it('resends unacknowledged QoS 1 with DUP and resumes QoS 2 at PUBREL after a reconnect', async () => {
    const id = `inflight-${v}`;
    const connect =
      v === 5 ? { clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } } : { clientId: id, clean: false };
    const a = await RawClient.connected(tb.port, v, connect);
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `inf${v}/+`, qos: 2 }] });
    await a.next('suback');
    const pub = await client(tb, { protocolVersion: v });
    await pub.publishAsync(`inf${v}/one`, 'one', { qos: 1 });
    await pub.publishAsync(`inf${v}/two`, 'two', { qos: 2 });
    const p1 = await a.next('publish');
    const p2 = await a.next('publish');
    expect(p1.dup).toBe(false);
    // Acknowledge the QoS 2 PUBLISH with PUBREC only, then drop the connection.
    a.send({ cmd: 'pubrec', messageId: p2.messageId });
    await a.next('pubrel');
    a.end();
    await sleep(50);
    const b = await RawClient.open(tb.port, v);
    b.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: v, keepalive: 0, ...connect });
    const ack = await b.next('connack');
    expect(ack.sessionPresent).toBe(true);
    const again = await b.next('publish');
    expect(again).toMatchObject({ dup: true, messageId: p1.messageId, qos: 1 });
    expect(again.payload.toString()).toBe('one');
    const rel = await b.next('pubrel');
    expect(rel.messageId).toBe(p2.messageId);
    b.send({ cmd: 'puback', messageId: p1.messageId });
    b.send({ cmd: 'pubcomp', messageId: p2.messageId });
    await sleep(50);
    expect(b.count('publish')).toBe(0);
    b.end();
  });

  it('does not route a resent incoming QoS 2 PUBLISH twice', async () => {
    const sub = await client(tb, { protocolVersion: v });
    const got = collect(sub);
    await sub.subscribeAsync(`dup2${v}`, { qos: 2 });
    const c = await RawClient.connected(tb.port, v);
    const publish = {
      cmd: 'publish' as const,
      topic: `dup2${v}`,
      payload: Buffer.from('once'),
      qos: 2 as const,
      messageId: 42,
      retain: false,
      dup: false,
    };
    c.send(publish);
    await c.next('pubrec');
    c.send({ ...publish, dup: true });
    await c.next('pubrec');
    c.send({ cmd: 'pubrel', messageId: 42 });
    await c.next('pubcomp');
    await sleep(100);
    expect(got.length).toBe(1);
    c.end();
  });

  it('takes over a session: the first connection is closed (5.0: DISCONNECT 0x8E)', async () => {
    const first = await RawClient.connected(tb.port, v, { clientId: `take-${v}` });
    const second = await RawClient.connected(tb.port, v, { clientId: `take-${v}` });
    await first.waitClosed();
    if (v === 5) expect(first.packets.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x8e });
    expect(second.closed).toBe(false);
    second.end();
  });
});

describe('session limits and expiry', () => {
  it('bounds the offline queue (drop-oldest) and counts the drops', async () => {
    const id = 'bounded';
    const first = await client(tb, persistent(5, id));
    await first.subscribeAsync('bound/x', { qos: 1 });
    await first.endAsync();
    const pub = await client(tb, { protocolVersion: 5 });
    for (let i = 0; i < 8; i++) await pub.publishAsync('bound/x', String(i), { qos: 1 });
    const again = await client(tb, persistent(5, id));
    const got = collect(again);
    await waitFor(() => got.length === 5);
    await sleep(50);
    expect(got.map((g) => g.payload)).toEqual(['3', '4', '5', '6', '7']);
    const text = await tb.broker.metrics.render();
    expect(text).toMatch(/robustmq_messages_dropped_total\{reason="queue-full"\} [1-9]/);
  });

  it('ends a session after its Session Expiry Interval', async () => {
    const c = await RawClient.connected(tb.port, 5, {
      clientId: 'expiring',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'expiring/x', qos: 1 }] });
    await c.next('suback');
    c.end();
    await sleep(1300);
    const d = await RawClient.open(tb.port, 5);
    d.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'expiring',
      clean: false,
      keepalive: 0,
      properties: { sessionExpiryInterval: 1 },
    });
    expect((await d.next('connack')).sessionPresent).toBe(false);
    d.end();
  });

  it('writes persistent session state to the MetaStore', async () => {
    const c = await client(tb, persistent(5, 'stored/one'));
    await c.subscribeAsync('stored/x', { qos: 1 });
    await sleep(50);
    const entries = await tb.broker.metaStore.scan('mqtt/session/');
    const rec = entries.find((e) => e.key === `mqtt/session/${encodeURIComponent('stored/one')}`);
    expect(rec).toBeDefined();
    expect(JSON.parse(rec?.value.toString() ?? '{}').subscriptions).toEqual([
      { filter: 'stored/x', qos: 1, nl: false, rap: false, rh: 0 },
    ]);
  });
});
