import { afterEach, expect, it } from 'vitest';
import { startPlugin } from './harness.js';
import { client, closeClients, collect, connackOf, sleep, waitFor } from './helpers.js';

afterEach(closeClients);

it('publishes the Wills of clients still connected when the broker shuts down (§3.1.2.5)', async () => {
  const data = new Map<string, Buffer>();
  const one = await startPlugin({}, data);
  const url1 = `mqtt://127.0.0.1:${one.port}`;
  const session = { protocolVersion: 5 as const, clientId: 'sw-sub', clean: false, properties: { sessionExpiryInterval: 600 } };
  // A persistent subscriber that is offline at shutdown, and one still connected.
  const offline = await client(url1, session);
  await offline.subscribeAsync('sw/#', { qos: 1 });
  await offline.endAsync();
  const live = await client(url1, { protocolVersion: 5 });
  const liveGot = collect(live);
  await live.subscribeAsync('sw/#', { qos: 1 });
  const will = (topic: string, delay?: number) => ({
    topic,
    payload: Buffer.from(`gone:${topic}`),
    qos: 1 as const,
    retain: false,
    ...(delay ? { properties: { willDelayInterval: delay } } : {}),
  });
  await client(url1, { protocolVersion: 5, will: will('sw/v5') });
  await client(url1, { protocolVersion: 4, will: will('sw/v311') });
  // A delayed Will of a persistent session stays pending with the session across the restart.
  await client(url1, {
    protocolVersion: 5,
    clientId: 'sw-delayed',
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    will: will('sw/delayed', 1),
  });
  // A delayed Will of a session that ends with the connection goes out now (session end comes first).
  await client(url1, { protocolVersion: 5, will: will('sw/ends', 30) });
  // A client that disconnected normally has no Will to send.
  const polite = await client(url1, { protocolVersion: 5, will: will('sw/polite') });
  await polite.endAsync();
  const published: string[] = [];
  one.hooks.register('published', (m) => void published.push(m.topic));
  await one.stop();

  const immediate = ['sw/ends', 'sw/v311', 'sw/v5'];
  // Routed before stop() returned, and a live subscriber got them before its DISCONNECT.
  expect([...published].sort()).toEqual(immediate);
  await waitFor(() => liveGot.length === 3, 3000, 'wills at the live subscriber');
  expect(liveGot.map((g) => g.topic).sort()).toEqual(immediate);

  const two = await startPlugin({}, data);
  const back = await client(`mqtt://127.0.0.1:${two.port}`, session);
  expect(connackOf(back)?.sessionPresent).toBe(true);
  const got = collect(back);
  await waitFor(() => got.length === 3, 3000, 'queued wills');
  expect(got.map((g) => g.topic).sort()).toEqual(immediate);
  expect(got.find((g) => g.topic === 'sw/v5')?.payload).toBe('gone:sw/v5');
  // The delayed one arrives once its delay has passed, counted from the shutdown.
  await waitFor(() => got.length === 4, 3000, 'delayed will');
  expect(got[3].topic).toBe('sw/delayed');
  await sleep(50);
  expect(got.map((g) => g.topic)).not.toContain('sw/polite');
  await closeClients();
  await two.stop();
});
