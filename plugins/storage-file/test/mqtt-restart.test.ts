import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeWal } from '../src/meta-codec.js';
import { tempDir } from './helpers.js';

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

const clients: MqttClient[] = [];
const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mqtt-broker.ts');

async function connect(port: number, opts: IClientOptions): Promise<{ c: MqttClient; sessionPresent: boolean; got: Received[] }> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  const got: Received[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    c.once('connect', (ack) => resolve(ack.sessionPresent));
    c.once('error', reject);
  });
  return { c, sessionPresent, got };
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Keys written (put, not deleted) in the metadata journal files of a data directory, read straight from disk. */
async function journalKeys(dir: string): Promise<string[]> {
  const metaDir = path.join(dir, 'meta');
  const keys = new Set<string>();
  for (const name of (await readdir(metaDir)).filter((n) => n.startsWith('wal-')).sort()) {
    for (const ops of decodeWal(await readFile(path.join(metaDir, name))).records) {
      for (const op of ops) {
        if (op.value === undefined) keys.delete(op.key);
        else keys.add(op.key);
      }
    }
  }
  return [...keys];
}

describe('broker restart over storage-file with MQTT', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  let broker: Broker | undefined;

  beforeEach(async () => {
    tmp = await tempDir('storage-file-mqtt-');
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await broker?.stop();
    broker = undefined;
    await tmp.remove();
  });

  const start = () =>
    startTestBroker({
      env: {},
      config: {
        dataDir: path.join(tmp.dir, 'unused'),
        storage: 'storage-file',
        admin: { enabled: false },
        log: { level: 'error' },
        plugins: {
          'storage-file': { options: { dir: tmp.dir } },
          'protocol-mqtt': { options: { port: 0, host: '127.0.0.1', sysInterval: 0 } },
        },
      },
    });

  it('keeps retained messages, persistent sessions and queued QoS 1 messages', async () => {
    broker = await start();
    let port = broker.endpoints('protocol-mqtt').tcp;

    // Two persistent sessions (MQTT 5 and 3.1.1) subscribe with QoS 1, then go offline.
    const v5 = {
      protocolVersion: 5 as const,
      clientId: 'survivor-v5',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
    const v311 = { protocolVersion: 4 as const, clientId: 'survivor-v311', clean: false };
    for (const opts of [v5, v311]) {
      const { c } = await connect(port, opts);
      await c.subscribeAsync('plant/+/temp', { qos: 1 });
      await c.endAsync();
    }

    // While they are offline: QoS 1 messages for them queue up, and retained messages are set.
    const { c: pub } = await connect(port, { protocolVersion: 5 });
    await pub.publishAsync('plant/1/temp', 'q1', { qos: 1 });
    await pub.publishAsync('plant/2/temp', 'q2', { qos: 1 });
    await pub.publishAsync('plant/3/temp', 'q3', { qos: 1 });
    await pub.publishAsync('status/line-a', 'running', { qos: 1, retain: true });
    await pub.publishAsync('status/line-b', 'stopped', { qos: 0, retain: true });
    await pub.publishAsync('status/line-b', 'idle', { qos: 1, retain: true }); // replaces the previous one
    await pub.endAsync();

    await broker.stop();
    broker = undefined;
    expect((await readdir(path.join(tmp.dir, 'meta'))).some((f) => f.startsWith('wal-'))).toBe(true);

    // A new broker process-equivalent over the same directory.
    broker = await start();
    port = broker.endpoints('protocol-mqtt').tcp;

    const sessions = [];
    for (const opts of [v5, v311]) {
      const back = await connect(port, opts);
      expect(back.sessionPresent).toBe(true);
      await waitFor(() => back.got.length >= 3, `queued messages for ${opts.clientId}`);
      expect(back.got.map((m) => [m.topic, m.payload])).toEqual([
        ['plant/1/temp', 'q1'],
        ['plant/2/temp', 'q2'],
        ['plant/3/temp', 'q3'],
      ]);
      sessions.push(back);
    }
    // The sessions' subscriptions survived too: live messages still arrive.
    const { c: live } = await connect(port, { protocolVersion: 5 });
    await live.publishAsync('plant/9/temp', 'live', { qos: 1 });
    for (const back of sessions) {
      await waitFor(() => back.got.length === 4, 'live message');
      expect(back.got[3]).toMatchObject({ topic: 'plant/9/temp', payload: 'live' });
    }

    const fresh = await connect(port, { protocolVersion: 5 });
    expect(fresh.sessionPresent).toBe(false);
    await fresh.c.subscribeAsync('status/#', { qos: 1 });
    await waitFor(() => fresh.got.length >= 2, 'retained messages');
    const retained = Object.fromEntries(fresh.got.map((m) => [m.topic, m.payload]));
    expect(retained).toEqual({ 'status/line-a': 'running', 'status/line-b': 'idle' });
    expect(fresh.got.every((m) => m.retain)).toBe(true);
  });

  it('keeps queued QoS 1 messages, sessions and retained messages when the broker process is SIGKILLed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, tmp.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, signal) => r(signal)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /port (\d+)\n/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`broker fixture exited with ${code}`)));
      });
      const session = {
        protocolVersion: 5 as const,
        clientId: 'crash-survivor',
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      };
      const { c: sub } = await connect(port, session);
      await sub.subscribeAsync('crash/#', { qos: 1 });
      await sub.endAsync();
      const { c: pub } = await connect(port, { protocolVersion: 5 });
      for (let i = 0; i < 20; i++) await pub.publishAsync(`crash/${i}`, `m${i}`, { qos: 1 }); // each PUBACKed
      await pub.publishAsync('crash/retained', 'kept', { qos: 1, retain: true });
      // protocol-mqtt sends PUBACK before its MetaStore write of the offline queue entry resolves
      // (its persistence is fire-and-forget per client), so wait until the writes reached the
      // journal on disk: what this test checks is that everything the broker wrote survives a
      // kill without any shutdown, flush or close.
      await waitFor(
        async () => (await journalKeys(tmp.dir)).filter((k) => k.startsWith('mqtt/queue/')).length >= 20,
        'queue writes',
      );
      await waitFor(async () => (await journalKeys(tmp.dir)).includes('mqtt/retained/crash/retained'), 'retained write', 5000);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    } finally {
      child.kill('SIGKILL');
    }
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));

    broker = await start(); // takes over the dead process's lock
    const port = broker.endpoints('protocol-mqtt').tcp;
    const back = await connect(port, {
      protocolVersion: 5,
      clientId: 'crash-survivor',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => back.got.length >= 21, 'acknowledged messages after the crash');
    expect(back.got.map((m) => m.payload)).toEqual([...Array.from({ length: 20 }, (_, i) => `m${i}`), 'kept']);
    const fresh = await connect(port, { protocolVersion: 5 });
    await fresh.c.subscribeAsync('crash/retained');
    await waitFor(() => fresh.got.length === 1, 'retained message after the crash');
    expect(fresh.got[0]).toMatchObject({ payload: 'kept', retain: true });
  });
});
