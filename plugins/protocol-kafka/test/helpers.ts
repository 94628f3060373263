/** Test helpers: a broker with the Kafka plugin on a free port, and kafkajs clients for it. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import { Kafka, logLevel } from 'kafkajs';

export interface KafkaTestBroker {
  broker: Broker;
  port: number;
  bootstrap: string;
  kafka(clientId?: string): Kafka;
  stop(): Promise<void>;
}

/** Starts a broker (memory storage unless `dataDir` is given with storage-file) with protocol-kafka on port 0. */
export async function startKafkaBroker(
  options: Record<string, unknown> = {},
  extra: { storage?: string; dataDir?: string; plugins?: Record<string, unknown> } = {},
): Promise<KafkaTestBroker> {
  const broker = await startTestBroker({
    env: {},
    config: {
      host: '127.0.0.1',
      storage: extra.storage ?? 'memory',
      ...(extra.dataDir ? { dataDir: extra.dataDir } : {}),
      admin: { enabled: false },
      log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
      plugins: {
        'protocol-mqtt': { enabled: false },
        'protocol-kafka': { enabled: true, options: { port: 0, ...options } },
        ...(extra.plugins ?? {}),
      },
    },
  });
  const port = broker.endpoints('protocol-kafka').kafka;
  const bootstrap = `127.0.0.1:${port}`;
  return {
    broker,
    port,
    bootstrap,
    kafka: (clientId = 'test') =>
      new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } }),
    stop: () => broker.stop(),
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `fn` until it returns true or the time runs out. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
