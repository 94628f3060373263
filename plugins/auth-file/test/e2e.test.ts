/**
 * auth-file end to end: a real broker (startTestBroker, memory storage) with protocol-mqtt and this
 * plugin enabled from config, driven by mqtt.js over TCP, MQTT 5.0 and 3.1.1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/password-hash.js';

const FAST = { N: 1024, r: 8, p: 1 };
const ACL = `
user alice
allow subscribe shared/#
allow readwrite alice/#

user bob
allow publish shared/bob/#
allow subscribe bob/#
`;

let dir: string;
let broker: Broker;
let url: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auth-file-e2e-'));
  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  await writeFile(passwordFile, `alice:${await hashPassword('wonderland', FAST)}\nbob:${await hashPassword('builder', FAST)}\n`);
  await writeFile(aclFile, ACL);
  broker = await startTestBroker({
    env: {},
    logger: pino({ level: 'silent' }),
    config: {
      storage: 'memory',
      host: '127.0.0.1',
      admin: { enabled: false },
      plugins: {
        'protocol-mqtt': { options: { port: 0 } },
        'auth-file': { enabled: true, options: { passwordFile, aclFile } },
      },
    },
  });
  url = `mqtt://127.0.0.1:${broker.endpoints('protocol-mqtt').tcp}`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Connects and resolves with the CONNACK code (reason code for 5.0, return code for 3.1.1). */
function connackCode(protocolVersion: 4 | 5, username?: string, password?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const options: IClientOptions = { protocolVersion, username, password, reconnectPeriod: 0, connectTimeout: 5000 };
    const client = mqtt.connect(url, options);
    clients.push(client);
    client.on('packetreceive', (packet: Packet) => {
      if (packet.cmd === 'connack') {
        resolve((protocolVersion === 5 ? packet.reasonCode : packet.returnCode) ?? 0);
        client.end(true);
      }
    });
    client.on('error', () => {});
    client.on('close', () => setTimeout(() => reject(new Error('closed without CONNACK')), 100));
  });
}

async function connected(protocolVersion: 4 | 5, username: string, password: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion, username, password, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(client);
  return client;
}

/** Sends SUBSCRIBE and resolves with the granted codes from the SUBACK. */
function subackCodes(client: MqttClient, filter: string): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'suback') return;
      client.off('packetreceive', onPacket);
      resolve(packet.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos)));
    };
    client.on('packetreceive', onPacket);
    client.subscribe(filter, { qos: 1 }, () => {});
  });
}

/** Publishes at QoS 1 and resolves with the PUBACK reason code (0 for 3.1.1). */
function pubackCode(client: MqttClient, topic: string, payload: string): Promise<number> {
  return new Promise((resolve) => {
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'puback') return;
      client.off('packetreceive', onPacket);
      resolve(packet.reasonCode ?? 0);
    };
    client.on('packetreceive', onPacket);
    client.publish(topic, payload, { qos: 1 }, () => {});
  });
}

describe('auth-file through protocol-mqtt', () => {
  it('MQTT 5: accepts good credentials, answers 0x86 to bad ones and 0x87 to anonymous clients', async () => {
    expect(await connackCode(5, 'alice', 'wonderland')).toBe(0);
    expect(await connackCode(5, 'alice', 'wrong')).toBe(0x86);
    expect(await connackCode(5, 'mallory', 'wonderland')).toBe(0x86);
    expect(await connackCode(5)).toBe(0x87);
  });

  it('MQTT 3.1.1: accepts good credentials, answers 4 to bad ones and 5 to anonymous clients', async () => {
    expect(await connackCode(4, 'bob', 'builder')).toBe(0);
    expect(await connackCode(4, 'bob', 'wrong')).toBe(4);
    expect(await connackCode(4, 'nobody', 'x')).toBe(4);
    expect(await connackCode(4)).toBe(5);
  });

  it('refuses subscriptions the ACL does not allow (0x87 in 5.0, 0x80 in 3.1.1)', async () => {
    const alice5 = await connected(5, 'alice', 'wonderland');
    expect(await subackCodes(alice5, 'shared/#')).toEqual([1]);
    expect(await subackCodes(alice5, 'bob/#')).toEqual([0x87]);
    const bob4 = await connected(4, 'bob', 'builder');
    expect(await subackCodes(bob4, 'bob/inbox')).toEqual([1]);
    expect(await subackCodes(bob4, 'alice/#')).toEqual([0x80]);
  });

  it('refuses publishes the ACL does not allow and never routes them', async () => {
    const alice = await connected(5, 'alice', 'wonderland');
    const received: string[] = [];
    alice.on('message', (topic, payload) => received.push(`${topic}=${payload}`));
    expect(await subackCodes(alice, 'shared/#')).toEqual([1]);

    const bob5 = await connected(5, 'bob', 'builder');
    expect(await pubackCode(bob5, 'shared/bob/ok', 'allowed-5')).toBe(0);
    expect(await pubackCode(bob5, 'shared/other', 'denied-5')).toBe(0x87);
    // 3.1.1 has no way to say no: the PUBLISH is acknowledged and dropped.
    const bob4 = await connected(4, 'bob', 'builder');
    expect(await pubackCode(bob4, 'shared/other', 'denied-4')).toBe(0);
    expect(await pubackCode(bob4, 'shared/bob/ok', 'allowed-4')).toBe(0);

    await expect.poll(() => received.length, { timeout: 3000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.sort()).toEqual(['shared/bob/ok=allowed-4', 'shared/bob/ok=allowed-5']);
  });
});
