/**
 * SCRAM end to end: a real broker (startTestBroker, memory storage) with protocol-kafka (SASL
 * required) and auth-file reading a password file written by passwd.ts's code, driven by kafkajs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserLines } from '../src/password-file.js';
import { hashPassword } from '../src/password-hash.js';
import { deriveScramCredential, formatScramCredential, SCRAM_MECHANISMS } from '../src/scram-credential.js';

let dir: string;
let broker: Broker;
let bootstrap: string;

/** The lines passwd.ts writes for a user (scrypt with a cheap cost to keep the test fast). */
async function userLines(password: string): Promise<string[]> {
  const scram = await Promise.all(SCRAM_MECHANISMS.map((m) => deriveScramCredential(password, m, 4096)));
  return [await hashPassword(password, { N: 1024, r: 8, p: 1 }), ...scram.map(formatScramCredential)];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auth-file-kafka-'));
  const passwordFile = join(dir, 'passwd');
  let text = setUserLines('', 'alice', await userLines('wonderland'));
  text = setUserLines(text, 'bob', await userLines('builder'));
  await writeFile(passwordFile, text);
  broker = await startTestBroker({
    config: {
      host: '127.0.0.1',
      plugins: {
        'protocol-kafka': { enabled: true, options: { port: 0, sasl: { enabled: true } } },
        'auth-file': { enabled: true, options: { passwordFile } },
      },
    },
  });
  bootstrap = `127.0.0.1:${broker.endpoints('protocol-kafka').kafka}`;
});

afterAll(async () => {
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const client = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username: string, password: string) =>
  new Kafka({
    clientId: `scram-${username}`,
    brokers: [bootstrap],
    sasl: { mechanism, username, password } as SASLOptions,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });

describe('Kafka SASL with auth-file', () => {
  for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
    it(`${mechanism}: the right password connects and produces, a wrong one or an unknown user is refused`, async () => {
      const topic = `t-${mechanism}`;
      const ok = client(mechanism, 'alice', 'wonderland').producer();
      await ok.connect();
      await ok.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] });
      await ok.disconnect();
      expect((await broker.logStore.offsets({ topic, partition: 0 })).highWatermark).toBe(2);

      for (const [user, password] of [
        ['alice', 'builder'],
        ['mallory', 'wonderland'],
      ]) {
        const bad = client(mechanism, user, password).producer();
        const error = await bad.connect().then(
          () => undefined,
          (err: Error) => err,
        );
        expect(error?.name).toBe('KafkaJSSASLAuthenticationError');
        expect(error?.message).toMatch(/SASL_AUTHENTICATION_FAILED|authentication failed/i);
        await bad.disconnect();
      }
    });
  }

  it('PLAIN still checks the scrypt hash', async () => {
    const ok = client('plain', 'bob', 'builder').producer();
    await ok.connect();
    await ok.send({ topic: 'plain', messages: [{ value: 'x' }] });
    await ok.disconnect();
    const bad = client('plain', 'bob', 'wonderland').producer();
    await expect(bad.connect()).rejects.toThrow(/SASL|auth/i);
  });
});
