import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthenticateRequest, AuthenticateResult } from '@robustmq/sdk';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker } from './helpers.js';

const USERS: Record<string, string> = { alice: 'alice-secret', bob: 'bob-secret' };

/** A SCRAM-SHA-256 server step machine, standing in for an auth plugin that implements SCRAM. */
function scramAuthenticator() {
  const sessions = new Map<string, { bare: string; serverFirst: string; user: string; salt: Buffer; nonce: string }>();
  const H = (b: Buffer) => createHash('sha256').update(b).digest();
  const HMAC = (k: Buffer, s: string) => createHmac('sha256', k).update(s).digest();
  return (req: AuthenticateRequest): AuthenticateResult => {
    const key = `${req.remoteAddress}:${req.clientId}`;
    const msg = req.data!.toString();
    const s = sessions.get(key);
    if (!s) {
      const bare = msg.replace(/^[^,]*,[^,]*,/, '');
      const user = /n=([^,]*)/.exec(bare)![1];
      const nonce = /r=([^,]*)/.exec(bare)![1] + randomBytes(12).toString('base64');
      const salt = randomBytes(16);
      const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=4096`;
      sessions.set(key, { bare, serverFirst, user, salt, nonce });
      return { outcome: 'continue', data: Buffer.from(serverFirst) };
    }
    sessions.delete(key);
    const password = USERS[s.user];
    if (!password) return { outcome: 'deny', reason: 'unknown user' };
    const withoutProof = msg.replace(/,p=[^,]*$/, '');
    const proof = Buffer.from(/p=([^,]*)$/.exec(msg)![1], 'base64');
    const salted = pbkdf2Sync(password, s.salt, 4096, 32, 'sha256');
    const clientKey = HMAC(salted, 'Client Key');
    const authMessage = `${s.bare},${s.serverFirst},${withoutProof}`;
    const signature = HMAC(H(clientKey), authMessage);
    const expected = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    if (proof.length !== expected.length || !timingSafeEqual(proof, expected)) return { outcome: 'deny', reason: 'bad proof' };
    const serverSig = HMAC(HMAC(salted, 'Server Key'), authMessage);
    return { outcome: 'allow', principal: s.user, data: Buffer.from(`v=${serverSig.toString('base64')}`) };
  };
}

describe('SASL PLAIN and SCRAM through the authenticate hook; authorize hook', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    b = await startKafkaBroker({ sasl: { enabled: true } });
    const scram = scramAuthenticator();
    b.broker.hooks.register('authenticate', (req) => {
      if (req.protocol !== 'kafka') return undefined;
      if (req.method === undefined) {
        return USERS[req.username ?? ''] === req.password?.toString()
          ? { outcome: 'allow', principal: req.username }
          : { outcome: 'deny', reason: 'bad credentials' };
      }
      return scram(req);
    });
    b.broker.hooks.register('authorize', (req) => (req.resource === 'secret' && req.principal !== 'alice' ? 'deny' : undefined));
  });
  afterAll(async () => {
    await b?.stop();
  });

  const client = (sasl: { mechanism: 'plain' | 'scram-sha-256'; username: string; password: string }) =>
    new Kafka({
      clientId: `sasl-${sasl.username}`,
      brokers: [b.bootstrap],
      sasl: sasl as SASLOptions,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });

  it('accepts PLAIN with the right password and refuses a wrong one', async () => {
    const ok = client({ mechanism: 'plain', username: 'alice', password: 'alice-secret' }).producer();
    await ok.connect();
    await ok.send({ topic: 'open', messages: [{ value: 'hi' }] });
    await ok.disconnect();
    const bad = client({ mechanism: 'plain', username: 'alice', password: 'wrong' }).producer();
    await expect(bad.connect()).rejects.toThrow(/SASL|auth/i);
  });

  it('runs the SCRAM-SHA-256 exchange through the hook', async () => {
    const admin = client({ mechanism: 'scram-sha-256', username: 'bob', password: 'bob-secret' }).admin();
    await admin.connect();
    expect(await admin.listTopics()).toContain('open');
    await admin.disconnect();
    const bad = client({ mechanism: 'scram-sha-256', username: 'bob', password: 'nope' }).admin();
    await expect(bad.connect()).rejects.toThrow();
  });

  it('authorize denies produce to a topic with TOPIC_AUTHORIZATION_FAILED', async () => {
    const alice = client({ mechanism: 'plain', username: 'alice', password: 'alice-secret' }).producer();
    await alice.connect();
    await alice.send({ topic: 'secret', messages: [{ value: 'x' }] });
    await alice.disconnect();
    const bob = client({ mechanism: 'plain', username: 'bob', password: 'bob-secret' }).producer();
    await bob.connect();
    await expect(bob.send({ topic: 'secret', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
    await expect(bob.send({ topic: 'secret-new', messages: [{ value: 'x' }] })).resolves.toBeDefined();
    await bob.disconnect();
    expect((await b.broker.logStore.offsets({ topic: 'secret', partition: 0 })).highWatermark).toBe(1);
  });

  it('closes connections that skip authentication', async () => {
    const anon = new Kafka({
      clientId: 'anon',
      brokers: [b.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 1000,
    });
    const admin = anon.admin();
    await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow();
    await admin.disconnect();
  });
});
