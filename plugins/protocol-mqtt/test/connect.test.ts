import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { client, closeClients, collect, startTestBroker, type TestBroker, tryConnect, waitFor } from './helpers.js';

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
