import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { client, closeClients, collect, RawClient, sleep, startTestBroker, type TestBroker, waitFor } from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

describe.each([4, 5] as const)('retained messages, protocol version %i', (protocolVersion) => {
  const t = `ret${protocolVersion}`;
  it('sets, replaces and clears a retained message', async () => {
    const pub = await client(tb, { protocolVersion });
    await pub.publishAsync(`${t}/a`, 'first', { retain: true, qos: 1 });
    await pub.publishAsync(`${t}/a`, 'second', { retain: true, qos: 1 });
    await pub.publishAsync(`${t}/b`, 'other', { retain: true, qos: 0 });
    const s1 = await client(tb, { protocolVersion });
    const got1 = collect(s1);
    await s1.subscribeAsync(`${t}/+`, { qos: 1 });
    await waitFor(() => got1.length === 2);
    expect(got1.map((g) => [g.topic, g.payload, g.packet.retain]).sort()).toEqual([
      [`${t}/a`, 'second', true],
      [`${t}/b`, 'other', true],
    ]);
    // QoS of a retained delivery is min(stored QoS, granted QoS).
    expect(got1.find((g) => g.topic === `${t}/a`)?.packet.qos).toBe(1);
    await pub.publishAsync(`${t}/a`, '', { retain: true, qos: 1 });
    const s2 = await client(tb, { protocolVersion });
    const got2 = collect(s2);
    await s2.subscribeAsync(`${t}/#`);
    await sleep(100);
    expect(got2.map((g) => g.topic)).toEqual([`${t}/b`]);
    await pub.publishAsync(`${t}/b`, '', { retain: true });
  });
});

it('a retained message expires with its Message Expiry Interval', async () => {
  const pub = await client(tb, { protocolVersion: 5 });
  await pub.publishAsync('retexp/a', 'soon gone', { retain: true, qos: 1, properties: { messageExpiryInterval: 1 } });
  const s1 = await client(tb, { protocolVersion: 5 });
  const got1 = collect(s1);
  await s1.subscribeAsync('retexp/a');
  await waitFor(() => got1.length === 1);
  await sleep(1100);
  const s2 = await client(tb, { protocolVersion: 5 });
  const got2 = collect(s2);
  await s2.subscribeAsync('retexp/a');
  await sleep(100);
  expect(got2.length).toBe(0);
});

describe.each([4, 5] as const)('will messages, protocol version %i', (protocolVersion) => {
  it('publishes the Will on an abnormal disconnect, not on DISCONNECT', async () => {
    const watcher = await client(tb, { protocolVersion });
    const got = collect(watcher);
    await watcher.subscribeAsync(`will${protocolVersion}/#`, { qos: 1 });
    const abnormal = await RawClient.connected(tb.port, protocolVersion, {
      will: { topic: `will${protocolVersion}/abnormal`, payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    const normal = await RawClient.connected(tb.port, protocolVersion, {
      will: { topic: `will${protocolVersion}/normal`, payload: Buffer.from('bye'), qos: 0, retain: false },
    });
    normal.send({ cmd: 'disconnect' });
    abnormal.end();
    await waitFor(() => got.length === 1);
    await sleep(100);
    expect(got.map((g) => [g.topic, g.payload])).toEqual([[`will${protocolVersion}/abnormal`, 'gone']]);
  });

  it('publishes the Will when the keep-alive expires (1.5 x)', async () => {
    const watcher = await client(tb, { protocolVersion });
    const got = collect(watcher);
    await watcher.subscribeAsync(`kawill${protocolVersion}`);
    const c = await RawClient.connected(tb.port, protocolVersion, {
      keepalive: 1,
      will: { topic: `kawill${protocolVersion}`, payload: Buffer.from('silent'), qos: 0, retain: false },
    });
    const started = Date.now();
    await c.waitClosed(4000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    if (protocolVersion === 5) expect(c.packets.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x8d });
    await waitFor(() => got.length === 1);
  });
});

describe('MQTT 5 will options', () => {
  it('DISCONNECT with 0x04 publishes the Will, with its properties', async () => {
    const watcher = await client(tb, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync('w5/with');
    const c = await RawClient.connected(tb.port, 5, {
      will: {
        topic: 'w5/with',
        payload: Buffer.from('asked'),
        qos: 0,
        retain: false,
        properties: { contentType: 'text/x', userProperties: { k: 'v' } },
      },
    });
    c.send({ cmd: 'disconnect', reasonCode: 0x04 });
    await waitFor(() => got.length === 1);
    expect(got[0].packet.properties?.contentType).toBe('text/x');
    expect(got[0].packet.properties?.userProperties).toEqual({ k: 'v' });
  });

  it('delays the Will by the Will Delay Interval and cancels it when the client returns', async () => {
    const watcher = await client(tb, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync('w5/delay/#');
    const will = (topic: string) => ({
      topic,
      payload: Buffer.from('late'),
      qos: 0 as const,
      retain: false,
      properties: { willDelayInterval: 1 },
    });
    const session = { clean: false, properties: { sessionExpiryInterval: 30 } };
    const a = await RawClient.connected(tb.port, 5, { clientId: 'wd-a', will: will('w5/delay/a'), ...session });
    const b = await RawClient.connected(tb.port, 5, { clientId: 'wd-b', will: will('w5/delay/b'), ...session });
    a.end();
    b.end();
    await sleep(300);
    expect(got.length).toBe(0);
    // b comes back within the delay: its Will is not sent.
    const b2 = await RawClient.connected(tb.port, 5, { clientId: 'wd-b', ...session });
    await waitFor(() => got.length === 1, 3000, 'delayed will');
    await sleep(1000);
    expect(got.map((g) => g.topic)).toEqual(['w5/delay/a']);
    b2.end();
  });

  it('publishes a delayed Will when the session expires first', async () => {
    const watcher = await client(tb, { protocolVersion: 5 });
    const got = collect(watcher);
    await watcher.subscribeAsync('w5/exp');
    const c = await RawClient.connected(tb.port, 5, {
      clientId: 'wexp',
      will: { topic: 'w5/exp', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 100 } },
      properties: { sessionExpiryInterval: 1 },
    });
    c.end();
    await waitFor(() => got.length === 1, 3000, 'will at session expiry');
  });
});
