/**
 * The auth-file plugin seen from third-party clients: Paho Python and mosquitto_pub/sub with
 * usernames and passwords, against RobustMQ with auth-file enabled.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../plugins/auth-file/src/password-hash.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InteropBroker,
  mosquittoPub,
  mosquittoSub,
  paho,
  requireTools,
  startInteropBroker,
  uniqueTopic,
  within,
} from './support.js';

let dir: string;
let target: InteropBroker;

beforeAll(async () => {
  await requireTools(['paho', 'mosquitto-clients']);
  dir = await mkdtemp(join(tmpdir(), 'interop-auth-'));
  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  await writeFile(passwordFile, `carol:${await hashPassword('c4rol', { N: 1024, r: 8, p: 1 })}\n`);
  await writeFile(aclFile, 'user carol\nallow readwrite interop/auth/carol/#\n');
  target = await startInteropBroker({ 'auth-file': { enabled: true, options: { passwordFile, aclFile } } });
});
afterAll(async () => {
  await target?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('auth-file with third-party clients', () => {
  it('Paho: CONNACK 0 for good credentials, 4 / 0x86 for a wrong password', async () => {
    expect(await paho('auth', target.port, '311', 'carol', 'c4rol')).toEqual({ rc: 0 });
    expect(await paho('auth', target.port, '311', 'carol', 'nope')).toEqual({ rc: 4 });
    expect(await paho('auth', target.port, '5', 'carol', 'c4rol')).toEqual({ rc: 0 });
    expect(await paho('auth', target.port, '5', 'carol', 'nope')).toEqual({ rc: 0x86 });
  });

  it('mosquitto clients: an allowed user gets through, a wrong password and anonymous are refused', async () => {
    const topic = uniqueTopic('interop/auth/carol');
    const creds = ['-u', 'carol', '-P', 'c4rol'];
    const sub = mosquittoSub(target.port, ['-V', 'mqttv311', ...creds, '-t', topic, '-q', '1', '-C', '1', '-W', '10']);
    await within(sub.subscribed, 5000, 'SUBACK');
    const ok = await mosquittoPub(target.port, ['-V', 'mqttv311', ...creds, '-t', topic, '-q', '1', '-m', 'hi']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await within(sub.exited, 10_000, 'the message')).toBe(0);
    expect(sub.lines).toEqual([`${topic}|0|1|hi`]);

    const bad = await mosquittoPub(target.port, ['-V', 'mqttv5', '-u', 'carol', '-P', 'wrong', '-t', topic, '-m', 'x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bad user name or password/i);
    const anonymous = await mosquittoPub(target.port, ['-V', 'mqttv311', '-t', topic, '-m', 'x']);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/not authori[sz]ed/i);
  });
});
