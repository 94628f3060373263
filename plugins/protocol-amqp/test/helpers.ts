import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll } from 'vitest';

export interface AmqpTestBroker {
  broker: Broker;
  port: number;
  url: string;
  mqttPort?: number;
  stop(): Promise<void>;
}

/** Starts a broker with the AMQP plugin on a free port (memory storage unless `dataDir` is given). */
export async function startAmqp(
  options: { amqp?: Record<string, unknown>; mqtt?: boolean; dataDir?: string; extra?: Record<string, unknown> } = {},
): Promise<AmqpTestBroker> {
  const plugins: Record<string, unknown> = {
    'protocol-amqp': { enabled: true, options: { port: 0, host: '127.0.0.1', ...options.amqp } },
    'protocol-mqtt': options.mqtt ? { enabled: true, options: { port: 0, host: '127.0.0.1' } } : { enabled: false },
    ...options.extra,
  };
  const config: Record<string, unknown> = {
    storage: options.dataDir ? 'storage-file' : 'memory',
    admin: { enabled: false },
    log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
    plugins,
  };
  if (options.dataDir) config.dataDir = options.dataDir;
  const broker = await startTestBroker({ env: {}, config });
  const port = broker.endpoints('protocol-amqp').amqp;
  return {
    broker,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    mqttPort: options.mqtt ? broker.endpoints('protocol-mqtt').tcp : undefined,
    stop: () => broker.stop(),
  };
}

/** A temp dir removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'robustmq-amqp-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves when `cond()` holds, polling every 10 ms; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the async `cond()` holds, polling every 20 ms; rejects after `ms`. */
export async function eventually(cond: () => Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The broker and amqplib connection a test file shares; see {@link useAmqplibSuite}. */
export interface AmqplibSuite {
  readonly broker: AmqpTestBroker;
  readonly conn: ChannelModel;
  /** A new channel on the shared connection whose channel errors the test asserts on itself. */
  channel(): Promise<Channel>;
}

/** Starts a broker and one amqplib connection before the file's tests and closes both after. */
export function useAmqplibSuite(): AmqplibSuite {
  let broker: AmqpTestBroker | undefined;
  let conn: ChannelModel | undefined;
  beforeAll(async () => {
    broker = await startAmqp();
    conn = await amqp.connect(broker.url);
  });
  afterAll(async () => {
    await conn?.close().catch(() => undefined);
    await broker?.stop();
  });
  return {
    get broker() {
      if (!broker) throw new Error('the AMQP test broker is not started yet');
      return broker;
    },
    get conn() {
      if (!conn) throw new Error('the amqplib connection is not open yet');
      return conn;
    },
    async channel() {
      const ch = await this.conn.createChannel();
      ch.on('error', () => undefined);
      return ch;
    },
  };
}
