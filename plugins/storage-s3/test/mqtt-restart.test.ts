/** The same broker on S3: one line of config; retained messages and sessions survive a restart. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectRecording, waitFor } from '../../../test/support/mqtt.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeLogHeader } from '../src/log-object.js';
import type { S3StorageInput } from '../src/index.js';
import { testOptions } from './support/harness.js';
import { type S3TestServer, startS3TestServer } from './support/s3-server.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/mqtt-broker.ts', import.meta.url));

let server: S3TestServer;
const clients: MqttClient[] = [];
const connect = (port: number, opts: IClientOptions) => connectRecording(port, opts, clients);
let broker: Broker | undefined;

beforeAll(async () => {
  server = await startS3TestServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  await broker?.stop();
  broker = undefined;
});
afterAll(async () => {
  await server?.dispose();
});

/**
 * Metadata keys present in the bucket, read straight from the log objects (a second store on the
 * prefix would fence the running broker).
 */
async function bucketMetaKeys(options: S3StorageInput): Promise<Set<string>> {
  const client = server.client();
  const listed = await client.send(new ListObjectsV2Command({ Bucket: options.bucket!, Prefix: `${options.prefix}/log/` }));
  const keys = new Set<string>();
  for (const o of listed.Contents ?? []) {
    const got = await client.send(new GetObjectCommand({ Bucket: options.bucket!, Key: o.Key! }));
    const { header } = decodeLogHeader(Buffer.from(await got.Body!.transformToByteArray()));
    for (const op of header.ops) {
      if (op.t === 'put') keys.add(op.k);
      if (op.t === 'del') keys.delete(op.k);
    }
  }
  return keys;
}

const startOn = (options: S3StorageInput) =>
  startTestBroker({
    env: {},
    config: {
      storage: 'storage-s3',
      admin: { enabled: false },
      log: { level: 'error' },
      plugins: {
        'storage-s3': { options },
        'protocol-mqtt': { options: { port: 0, host: '127.0.0.1', sysInterval: 0 } },
      },
    },
  });

describe('MQTT broker on storage-s3', () => {
  it('keeps retained messages, persistent sessions and queued QoS 1 messages across a restart', async () => {
    const options = testOptions(server, { flushIntervalMs: 10 });
    const start = () => startOn(options);
    broker = await start();
    let port = broker.endpoints('protocol-mqtt').tcp;

    const session = {
      protocolVersion: 5 as const,
      clientId: 's3-survivor',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
    const { c: sub } = await connect(port, session);
    await sub.subscribeAsync('plant/+/temp', { qos: 1 });
    await sub.endAsync();

    const { c: pub } = await connect(port, { protocolVersion: 5 });
    await pub.publishAsync('plant/1/temp', 'q1', { qos: 1 });
    await pub.publishAsync('plant/2/temp', 'q2', { qos: 1 });
    await pub.publishAsync('status/line-a', 'running', { qos: 1, retain: true });
    await pub.publishAsync('status/line-b', 'stopped', { qos: 1, retain: true });
    await pub.publishAsync('status/line-b', 'idle', { qos: 1, retain: true });
    await pub.endAsync();

    await broker.stop();
    broker = undefined;

    // The bucket holds everything: log objects and a snapshot written at shutdown.
    const listed = await server
      .client()
      .send(new ListObjectsV2Command({ Bucket: options.bucket!, Prefix: `${options.prefix}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(options.prefix!.length + 1));
    expect(keys.some((k) => k.startsWith('snapshot/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('log/'))).toBe(true);

    broker = await start();
    port = broker.endpoints('protocol-mqtt').tcp;

    const back = await connect(port, session);
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => back.got.length >= 2, 'queued messages');
    expect(back.got.map((m) => [m.topic, m.payload])).toEqual([
      ['plant/1/temp', 'q1'],
      ['plant/2/temp', 'q2'],
    ]);

    const fresh = await connect(port, { protocolVersion: 5 });
    await fresh.c.subscribeAsync('status/#', { qos: 1 });
    await waitFor(() => fresh.got.length >= 2, 'retained messages');
    expect(Object.fromEntries(fresh.got.map((m) => [m.topic, m.payload]))).toEqual({
      'status/line-a': 'running',
      'status/line-b': 'idle',
    });
    expect(fresh.got.every((m) => m.retain)).toBe(true);

    // Live traffic still reaches the resumed session.
    await fresh.c.publishAsync('plant/9/temp', 'live', { qos: 1 });
    await waitFor(() => back.got.length === 3, 'live message');
  });

  it('refuses to start with a message naming the plugin and the option when the credentials are wrong', async () => {
    const err = await startTestBroker({
      env: {},
      config: {
        storage: 'storage-s3',
        admin: { enabled: false },
        log: { level: 'silent' },
        plugins: {
          'storage-s3': { options: testOptions(server, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'x' } }) },
          'protocol-mqtt': { options: { port: 0, host: '127.0.0.1' } },
        },
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /plugin storage-s3: options\.credentials: .*rejected the credentials for bucket "robustmq-test" \(HTTP 403\); fix: set options\.credentials/,
    );
  });

  it('keeps queued QoS 1 messages, the session and retained messages when the broker process is SIGKILLed', async () => {
    const options = testOptions(server, { flushIntervalMs: 10 });
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, signal) => r(signal)));
    const session = {
      protocolVersion: 5 as const,
      clientId: 'crash-survivor',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
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
      const { c: sub } = await connect(port, session);
      await sub.subscribeAsync('crash/#', { qos: 1 });
      await sub.endAsync();
      const { c: pub } = await connect(port, { protocolVersion: 5 });
      for (let i = 0; i < 20; i++) await pub.publishAsync(`crash/${i}`, `m${i}`, { qos: 1 });
      await pub.publishAsync('crash/retained', 'kept', { qos: 1, retain: true });
      // protocol-mqtt acknowledges before its metadata writes resolve, so wait until they are in
      // the bucket: what this checks is that what reached S3 survives a kill with no shutdown.
      await waitFor(async () => {
        const keys = [...(await bucketMetaKeys(options))];
        return keys.filter((k) => k.startsWith('mqtt/queue/')).length >= 20 && keys.includes('mqtt/retained/crash/retained');
      }, 'queue and retained writes in the bucket');
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    } finally {
      child.kill('SIGKILL');
    }
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));

    broker = await startOn(options); // claims the prefix from the dead process
    const port = broker.endpoints('protocol-mqtt').tcp;
    const back = await connect(port, session);
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => back.got.length >= 21, 'acknowledged messages after the crash');
    expect(back.got.map((m) => m.payload)).toEqual([...Array.from({ length: 20 }, (_, i) => `m${i}`), 'kept']);
    const fresh = await connect(port, { protocolVersion: 5 });
    await fresh.c.subscribeAsync('crash/retained');
    await waitFor(() => fresh.got.length === 1, 'retained message after the crash');
    expect(fresh.got[0]).toMatchObject({ payload: 'kept', retain: true });
  });
});
