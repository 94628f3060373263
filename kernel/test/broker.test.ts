import { connect } from 'node:net';
import { Tokens } from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import type { HelloInstance } from './fixtures/plugins/hello/index.js';
import { captureLogger, startFixtureBroker } from './fixtures/helpers.js';

/** Sends a line to the listener fixture (an echo server) and returns the reply. */
function echo(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString());
    });
    socket.once('error', reject);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startBroker', () => {
  it('reports endpoints, logs one "up" line per plugin and a "stopped" line', async () => {
    const { logger, records } = captureLogger();
    const broker = await startFixtureBroker({ plugins: { listener: { enabled: true }, hello: { enabled: true } } }, { logger });
    const { tcp } = broker.endpoints('listener');
    expect(tcp).toBeGreaterThan(0);
    expect(await echo(tcp, 'ping')).toBe('ping');
    expect(broker.endpoints('hello')).toEqual({});
    expect(() => broker.endpoints('protocol-kafka')).toThrow('plugin protocol-kafka is not running (running: hello, listener)');
    expect(broker.plugin('nope')).toBeUndefined();
    expect(broker.adminPort).toBeUndefined();

    const messages = records.map((r) => r.msg);
    expect(messages).toContain('storage memory (built-in) up: not durable');
    expect(messages).toContain('hello 0.1.0 up');
    expect(messages).toContain(`listener 0.1.0 up: tcp :${tcp}`);
    expect(messages).toContain('robustmq 0.1.0 started with 2 plugin(s)');
    expect(broker.plugins()).toEqual([
      { name: 'hello', kind: 'extension', version: '0.1.0', state: 'started', ready: true, endpoints: {} },
      { name: 'listener', kind: 'protocol', version: '0.1.0', state: 'started', ready: true, endpoints: { tcp } },
    ]);

    await broker.stop();
    expect(records.at(-1)?.msg).toBe('robustmq stopped');
    expect(await canConnect(tcp)).toBe(false);
    expect(broker.plugins().map((p) => p.state)).toEqual(['stopped', 'stopped']);
  });

  it('registers the kernel services under the sdk tokens in the root container', async () => {
    const broker = await startFixtureBroker();
    const c = broker.container;
    expect(c.resolve(Tokens.Config)).toBe(broker.config);
    expect(c.resolve(Tokens.Router)).toBe(broker.router);
    expect(c.resolve(Tokens.Hooks)).toBe(broker.hooks);
    expect(c.resolve(Tokens.Metrics)).toBe(broker.metrics);
    expect(c.resolve(Tokens.LogStore)).toBe(broker.logStore);
    expect(c.resolve(Tokens.MetaStore)).toBe(broker.metaStore);
    expect(c.resolve(Tokens.Logger)).toBe(broker.logger);
    expect(typeof c.resolve<{ now(): number }>(Tokens.Clock).now()).toBe('number');
    await broker.stop();
  });

  it('two brokers in one process do not share registrations', async () => {
    const a = await startFixtureBroker();
    const b = await startFixtureBroker();
    expect(a.container.resolve(Tokens.Router)).not.toBe(b.container.resolve(Tokens.Router));
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('graceful shutdown', () => {
  it('a plugin whose stop hangs is abandoned at the deadline; the rest still stop and storage closes', async () => {
    const { logger, records } = captureLogger();
    const broker = await startFixtureBroker(
      {
        shutdown: { deadlineMs: 200 },
        plugins: { hello: { enabled: true }, 'slow-stop': { enabled: true }, listener: { enabled: true } },
      },
      { logger },
    );
    const hello = broker.plugin('hello') as unknown as HelloInstance;
    const { tcp } = broker.endpoints('listener');
    const started = Date.now();
    await broker.stop();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
    expect(records.map((r) => r.msg)).toContain('slow-stop: stop did not finish within 200 ms; moving on');
    expect(hello.stops).toEqual([200]);
    expect(await canConnect(tcp)).toBe(false);
    await expect(broker.metaStore.get('k')).rejects.toThrow(/closed/);
    expect(records.at(-1)?.msg).toBe('robustmq stopped');
  });

  it('a plugin whose stop throws is logged and shutdown continues', async () => {
    const { logger, records } = captureLogger();
    const broker = await startFixtureBroker(
      { plugins: { hello: { enabled: true }, 'slow-stop': { enabled: true, options: { mode: 'throw' } } } },
      { logger },
    );
    const hello = broker.plugin('hello') as unknown as HelloInstance;
    await broker.stop();
    const failed = records.find((r) => r.msg === 'slow-stop: stop failed');
    expect(failed?.level).toBe(50);
    expect((failed?.err as { message?: string } | undefined)?.message).toBe('stop exploded');
    expect(hello.stops).toHaveLength(1);
    expect(records.at(-1)?.msg).toBe('robustmq stopped');
  });

  it('stop() is idempotent', async () => {
    const { logger, records } = captureLogger();
    const broker = await startFixtureBroker({ plugins: { hello: { enabled: true } } }, { logger });
    await Promise.all([broker.stop(), broker.stop()]);
    await broker.stop();
    expect(records.filter((r) => r.msg === 'hello stopped')).toHaveLength(1);
    expect(records.filter((r) => r.msg === 'robustmq stopped')).toHaveLength(1);
  });
});
