// Filters named in the broker config (`filters:`) are installed by startBroker itself, checked
// against the repository's registry.json, and a filter that cannot load refuses the start.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { startTestBroker } from '../../src/testing.js';
import { repoRoot } from './build.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'robustmq-filters-config-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function brokerConfig(filters: unknown[]) {
  return {
    storage: 'memory',
    dataDir: tmp,
    admin: { enabled: false },
    log: { level: 'silent' },
    plugins: { 'protocol-mqtt': { options: { port: 0, sysInterval: 0 } } },
    filters,
  };
}

describe('filters from the broker config', () => {
  it('drops what the registry-pinned drop-debug filter drops, end to end over MQTT', async () => {
    const broker: Broker = await startTestBroker({
      env: {},
      config: brokerConfig([{ wasm: 'filter-drop-debug', topics: ['logs/#'], timeBudgetMs: 5_000 }]),
    });
    const client = mqtt.connect(`mqtt://127.0.0.1:${broker.endpoints('protocol-mqtt').tcp}`, { reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      const got: string[] = [];
      client.on('message', (_t, p) => got.push(p.toString()));
      await client.subscribeAsync('logs/#', { qos: 1 });
      await client.publishAsync('logs/app', JSON.stringify({ level: 'debug', n: 1 }), { qos: 1 });
      await client.publishAsync('logs/app', JSON.stringify({ level: 'info', n: 2 }), { qos: 1 });
      const deadline = Date.now() + 10_000;
      while (!got.some((p) => p.includes('"n":2')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([JSON.stringify({ level: 'info', n: 2 })]);
    } finally {
      await client.endAsync();
      await broker.stop();
    }
  });

  it('refuses to start when a wasm file does not match its registry hash', async () => {
    const registry = {
      plugins: [
        {
          name: 'filter-tampered',
          kind: 'filter',
          version: '0.1.0',
          kernelApi: '^1',
          entry: join(tmp, 'tampered.wasm'),
          wasm: join(tmp, 'tampered.wasm'),
          sha256: '0'.repeat(64),
          default: false,
        },
        {
          name: 'protocol-mqtt',
          kind: 'protocol',
          version: '0.1.0',
          kernelApi: '^1',
          entry: join(repoRoot, 'plugins/protocol-mqtt/src/index.ts'),
          default: true,
        },
      ],
    };
    await copyFile(join(repoRoot, 'examples/filters/drop-debug/build/filter.wasm'), join(tmp, 'tampered.wasm'));
    const registryPath = join(tmp, 'registry.json');
    await writeFile(registryPath, JSON.stringify(registry));
    const started = startTestBroker({ env: {}, registryPath, config: brokerConfig([{ wasm: 'filter-tampered' }]) });
    await expect(started).rejects.toThrow(/sha256/);
    await expect(started).rejects.toMatchObject({ name: 'StartupError' });
  });

  it('refuses a malformed filter entry naming the field', async () => {
    await expect(startTestBroker({ env: {}, config: brokerConfig([{ topics: 'logs/#' }]) })).rejects.toThrow(/filters\.0/);
  });
});
