import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  closeClients,
  collect,
  RawClient,
  sleep,
  startTestBroker,
  type TestBroker,
  tryConnect,
  waitFor,
} from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

describe.each([4, 5] as const)('CONNECT basics, protocol version %i', (protocolVersion) => {
  it('connects, subscribes, publishes QoS 0 and receives it', async () => {
    const c = await client(tb, { protocolVersion, clientId: `basic-${protocolVersion}` });
    const got = collect(c);
    await c.subscribeAsync('a/b', { qos: 0 });
    await c.publishAsync('a/b', 'hello');
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ topic: 'a/b', payload: 'hello' });
  });

  it('assigns a client id to an empty one (clean)', async () => {
    const r = await tryConnect(tb, { protocolVersion, clientId: '', clean: true });
    expect(r.error).toBeUndefined();
    const connack = r.connack as { properties?: { assignedClientIdentifier?: string } };
    if (protocolVersion === 5) expect(connack.properties?.assignedClientIdentifier).toMatch(/^auto-/);
  });
});

it('MQTT 3.1 (MQIsdp) connects', async () => {
  const c = await client(tb, { protocolVersion: 3, protocolId: 'MQIsdp', clientId: 'v31-client' });
  const got = collect(c);
  await c.subscribeAsync('v31/#', { qos: 1 });
  await c.publishAsync('v31/x', 'old', { qos: 1 });
  await waitFor(() => got.length === 1);
  expect(got[0].payload).toBe('old');
});

describe('CONNECT refusals and session flags', () => {
  it('3.1.1 refuses an empty client id without clean session (return code 2); 3.1 refuses any empty id', async () => {
    const c = await RawClient.open(tb.port, 4);
    // CONNECT "MQTT" level 4, flags 0 (no clean session), keep-alive 0, empty client id.
    c.sendRaw([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0, 0, 0, 0, 0]);
    expect((await c.next('connack')).returnCode).toBe(2);
    await c.waitClosed();
    const d = await RawClient.open(tb.port, 3);
    // CONNECT "MQIsdp" level 3, clean session, keep-alive 0, empty client id.
    d.sendRaw([0x10, 14, 0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 3, 2, 0, 0, 0, 0]);
    expect((await d.next('connack')).returnCode).toBe(2);
  });

  it('refuses a protocol name that does not match the level', async () => {
    const c = await RawClient.open(tb.port, 4);
    c.send({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 4, clientId: 'mismatch', clean: true, keepalive: 0 });
    expect((await c.next('connack')).returnCode).toBe(1);
  });

  it('refuses an invalid will topic (5.0: 0x90)', async () => {
    const c = await RawClient.open(tb.port, 5);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'badwill',
      clean: true,
      keepalive: 0,
      will: { topic: 'a/#', payload: Buffer.from('x'), qos: 0, retain: false },
    });
    expect((await c.next('connack')).reasonCode).toBe(0x90);
  });

  it('answers PINGREQ with PINGRESP and keeps a client that pings', async () => {
    const c = await RawClient.connected(tb.port, 4, { keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      await sleep(500);
      c.send({ cmd: 'pingreq' });
      await c.next('pingresp');
    }
    expect(c.closed).toBe(false);
    c.end();
  });

  it('reports connects and disconnects to the hooks', async () => {
    const events: string[] = [];
    const off1 = tb.broker.hooks.register('clientConnected', (i) => {
      if (i.clientId === 'hooked') events.push(`up:${i.clientId}`);
    });
    const off2 = tb.broker.hooks.register('clientDisconnected', (i) => {
      if (i.clientId === 'hooked') events.push(`down:${i.clientId}:${i.reason}`);
    });
    const c = await client(tb, { protocolVersion: 5, clientId: 'hooked' });
    await c.endAsync();
    await waitFor(() => events.length === 2);
    expect(events).toEqual(['up:hooked', 'down:hooked:client-disconnect']);
    off1();
    off2();
  });
});
