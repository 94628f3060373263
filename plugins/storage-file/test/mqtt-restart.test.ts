import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectRecording, waitFor } from '../../../test/support/mqtt.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const clients: MqttClient[] = [];
const connect = (port: number, opts: IClientOptions) => connectRecording(port, opts, clients);
const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mqtt-broker.ts');

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
      // No waiting, flush or shutdown: a PUBACK is only sent once the offline-queue entry (and the
      // retained message) are written under fsync always, so a kill right after it loses nothing.
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
