import type { AuthenticateRequest } from '@robustmq/sdk';
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
const seen: AuthenticateRequest[] = [];
beforeAll(async () => {
  tb = await startTestBroker({ allowAnonymous: false });
  const hooks = tb.broker.hooks;
  hooks.register('authenticate', (req) => {
    seen.push(req);
    if (req.method === 'CHALLENGE') {
      // Two-step exchange: "hello" → challenge "nonce", then "nonce-signed" → allow.
      const data = req.data?.toString();
      if (data === 'hello') return { outcome: 'continue', data: Buffer.from('nonce') };
      if (data === 'nonce-signed') return { outcome: 'allow', principal: 'challenger', data: Buffer.from('welcome') };
      return { outcome: 'deny', reason: 'bad proof', code: 'not-authorized' };
    }
    if (req.username === 'alice') {
      return req.password?.toString() === 'secret'
        ? { outcome: 'allow' }
        : { outcome: 'deny', reason: 'wrong password', code: 'bad-credentials' };
    }
    if (req.username === 'slow') return new Promise((r) => setTimeout(() => r({ outcome: 'allow' }), 50));
    if (req.username === 'banned') return { outcome: 'deny', reason: 'banned', code: 'banned' };
    return undefined;
  });
  hooks.register('authorize', (req) => {
    if (req.principal !== 'alice' && req.principal !== 'slow') return undefined;
    if (req.resource.startsWith('private/')) return 'deny';
    if (req.resource.startsWith('async/')) return Promise.resolve(req.resource === 'async/no' ? 'deny' : 'allow');
    return undefined;
  });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

describe.each([4, 5] as const)('authentication through the hooks, protocol version %i', (protocolVersion) => {
  it('allows good credentials and passes username and password to the hook', async () => {
    const c = await client(tb, { protocolVersion, username: 'alice', password: 'secret' });
    expect(c.connected).toBe(true);
    expect(seen.some((r) => r.username === 'alice' && r.password?.toString() === 'secret' && r.protocol === 'mqtt')).toBe(true);
  });

  it('refuses bad credentials (0x86 / return code 4), banned (0x8A / 5) and anonymous when not allowed (0x87 / 5)', async () => {
    const bad = await tryConnect(tb, { protocolVersion, username: 'alice', password: 'nope' });
    expect(bad.error?.code).toBe(protocolVersion === 5 ? 0x86 : 4);
    const banned = await tryConnect(tb, { protocolVersion, username: 'banned' });
    expect(banned.error?.code).toBe(protocolVersion === 5 ? 0x8a : 5);
    const anon = await tryConnect(tb, { protocolVersion });
    expect(anon.error?.code).toBe(protocolVersion === 5 ? 0x87 : 5);
  });

  it('waits for an async authenticator', async () => {
    const c = await client(tb, { protocolVersion, username: 'slow' });
    expect(c.connected).toBe(true);
  });
});

/** SUBACK codes for filters subscribed by alice on a raw connection. */
async function subackCodes(version: 4 | 5, filters: string[]): Promise<number[]> {
  const raw = await RawClient.connected(tb.port, version, { username: 'alice', password: Buffer.from('secret') });
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
  const ack = await raw.next('suback');
  raw.end();
  return ack.granted as number[];
}

describe('authorization through the hooks', () => {
  it('5.0: a denied publish gets 0x87 and is not routed; a denied subscribe gets 0x87', async () => {
    const c = await client(tb, { protocolVersion: 5, username: 'alice', password: 'secret' });
    const got = collect(c);
    const granted = await subackCodes(5, ['private/x', 'public/x', 'async/no', 'async/yes']);
    expect(granted).toEqual([0x87, 1, 0x87, 1]);
    await c.subscribeAsync('public/x', { qos: 1 });
    const codes: number[] = [];
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback') codes.push(p.reasonCode ?? 0);
    });
    await c.publishAsync('private/x', 'no', { qos: 1 }).catch(() => undefined);
    await c.publishAsync('async/no', 'no', { qos: 1 }).catch(() => undefined);
    await c.publishAsync('public/x', 'yes', { qos: 1 });
    await waitFor(() => codes.length === 3);
    expect(codes).toEqual([0x87, 0x87, 0]);
    await waitFor(() => got.length === 1);
    expect(got[0].payload).toBe('yes');
  });

  it('3.1.1: a denied publish is acknowledged and dropped; a denied subscribe gets 0x80', async () => {
    const watcher = await client(tb, { protocolVersion: 5, username: 'slow' });
    const gotW = collect(watcher);
    await watcher.subscribeAsync('#');
    const c = await client(tb, { protocolVersion: 4, username: 'alice', password: 'secret' });
    expect(await subackCodes(4, ['private/y', 'public/y'])).toEqual([0x80, 1]);
    await c.publishAsync('private/y', 'dropped', { qos: 1 });
    await c.publishAsync('private/y', 'dropped2', { qos: 2 });
    await c.publishAsync('public/y', 'kept', { qos: 1 });
    await waitFor(() => gotW.length === 1);
    await sleep(50);
    expect(gotW.map((g) => g.payload)).toEqual(['kept']);
  });
});

describe('MQTT 5 enhanced authentication (AUTH)', () => {
  it('runs a challenge/response exchange before CONNACK, and re-authentication after', async () => {
    const c = await RawClient.open(tb.port, 5);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'enh',
      clean: true,
      keepalive: 0,
      properties: { authenticationMethod: 'CHALLENGE', authenticationData: Buffer.from('hello') },
    });
    const challenge = await c.next('auth');
    expect(challenge.reasonCode).toBe(0x18);
    expect(challenge.properties?.authenticationData?.toString()).toBe('nonce');
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'CHALLENGE', authenticationData: Buffer.from('nonce-signed') },
    });
    const ack = await c.next('connack');
    expect(ack.reasonCode).toBe(0);
    expect(ack.properties?.authenticationMethod).toBe('CHALLENGE');
    expect(ack.properties?.authenticationData?.toString()).toBe('welcome');
    // Re-authentication.
    c.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'CHALLENGE', authenticationData: Buffer.from('hello') },
    });
    expect((await c.next('auth')).reasonCode).toBe(0x18);
    c.send({
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'CHALLENGE', authenticationData: Buffer.from('nonce-signed') },
    });
    expect((await c.next('auth')).reasonCode).toBe(0);
    // A failed re-authentication disconnects.
    c.send({
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'CHALLENGE', authenticationData: Buffer.from('forged') },
    });
    const d = await c.next('disconnect');
    expect(d.reasonCode).toBe(0x87);
    await c.waitClosed();
  });

  it('refuses a failed exchange and an unknown method', async () => {
    const c = await RawClient.open(tb.port, 5);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'enh2',
      clean: true,
      keepalive: 0,
      properties: { authenticationMethod: 'CHALLENGE', authenticationData: Buffer.from('wrong') },
    });
    expect((await c.next('connack')).reasonCode).toBe(0x87);
    const d = await RawClient.open(tb.port, 5);
    d.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'enh3',
      clean: true,
      keepalive: 0,
      properties: { authenticationMethod: 'UNKNOWN' },
    });
    expect((await d.next('connack')).reasonCode).toBe(0x8c);
  });
});
