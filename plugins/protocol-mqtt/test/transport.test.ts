import type { AuthenticateRequest } from '@robustmq/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { makeCerts, type TestCerts } from './certs.js';
import { client, closeClients, collect, startTestBroker, type TestBroker, tryConnect, waitFor } from './helpers.js';

let certs: TestCerts;
let tb: TestBroker;
let mtls: TestBroker;
const subjects: Array<string | undefined> = [];

beforeAll(async () => {
  certs = makeCerts();
  const files = { cert: certs.serverCert, key: certs.serverKey };
  tb = await startTestBroker({
    tls: { enabled: true, port: 0, ...files },
    ws: { enabled: true, port: 0 },
    wss: { enabled: true, port: 0, ...files },
  });
  mtls = await startTestBroker({ tls: { enabled: true, port: 0, ...files, ca: certs.ca, requestCert: true } });
  mtls.broker.hooks.register('authenticate', (req: AuthenticateRequest) => {
    subjects.push(req.certificateSubject);
    return undefined;
  });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
  await mtls.stop();
  certs.cleanup();
});

describe.each(['tls', 'ws', 'wss'] as const)('transport %s', (kind) => {
  it.each([4, 5] as const)('pub/sub with protocol version %i, across transports', async (protocolVersion) => {
    const port = tb.endpoints[kind];
    expect(port).toBeGreaterThan(0);
    const scheme = { tls: 'mqtts', ws: 'ws', wss: 'wss' }[kind];
    const url = `${scheme}://127.0.0.1:${port}${kind === 'tls' ? '' : '/mqtt'}`;
    const sub = await client(url, {
      protocolVersion,
      ca: certs.read(certs.ca),
      rejectUnauthorized: true,
      servername: 'localhost',
    });
    const got = collect(sub);
    await sub.subscribeAsync(`${kind}/x`, { qos: 1 });
    const tcp = await client(tb, { protocolVersion });
    await tcp.publishAsync(`${kind}/x`, 'across', { qos: 1 });
    await waitFor(() => got.length === 1);
    expect(got[0].payload).toBe('across');
  });
});

it('WebSocket offers the "mqtt" subprotocol and refuses other paths', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${tb.endpoints.ws}/mqtt`, ['mqtt']);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  expect(ws.protocol).toBe('mqtt');
  ws.close();
  const wrong = new WebSocket(`ws://127.0.0.1:${tb.endpoints.ws}/elsewhere`, ['mqtt']);
  const err = await new Promise((resolve) => {
    wrong.once('error', resolve);
    wrong.once('open', () => resolve(undefined));
  });
  expect(err).toBeInstanceOf(Error);
});

describe('TLS client certificates', () => {
  it('passes the verified certificate subject to the authenticate hook', async () => {
    const url = `mqtts://127.0.0.1:${mtls.endpoints.tls}`;
    await client(url, {
      ca: certs.read(certs.ca),
      cert: certs.read(certs.clientCert),
      key: certs.read(certs.clientKey),
      servername: 'localhost',
    });
    expect(subjects.at(-1)).toContain('CN=device-7');
  });

  it('refuses a client without a certificate when requestCert is on', async () => {
    const r = await tryConnect(
      { ...mtls, url: `mqtts://127.0.0.1:${mtls.endpoints.tls}` },
      { ca: certs.read(certs.ca), servername: 'localhost' },
    );
    expect(r.error).toBeDefined();
  });
});
