import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../src/broker.js';
import { refusalOf, startFixtureBroker } from './fixtures/helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function withAdmin(config: Record<string, unknown>): Promise<{ broker: Broker; base: string }> {
  const broker = await startFixtureBroker({ admin: { enabled: true, host: '127.0.0.1', port: 0 }, ...config });
  cleanups.push(() => broker.stop());
  return { broker, base: `http://127.0.0.1:${broker.adminPort}` };
}

describe('admin HTTP', () => {
  it('serves /health, /ready, /metrics and /api/plugins on a free port', async () => {
    const { broker, base } = await withAdmin({ plugins: { hello: { enabled: true }, listener: { enabled: true } } });
    expect(broker.adminPort).toBeGreaterThan(0);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    broker.metrics
      .counter('robustmq_messages_in_total', 'Messages received from clients', ['protocol'])
      .inc({ protocol: 'mqtt' }, 3);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe(broker.metrics.registry.contentType);
    const text = await metrics.text();
    expect(text).toContain('# TYPE robustmq_connections gauge');
    expect(text).toContain('robustmq_messages_in_total{protocol="mqtt"} 3');

    const plugins = await fetch(`${base}/api/plugins`);
    expect(plugins.status).toBe(200);
    expect(await plugins.json()).toEqual([
      { name: 'hello', kind: 'extension', version: '0.1.0', state: 'started', ready: true, endpoints: {} },
      {
        name: 'listener',
        kind: 'protocol',
        version: '0.1.0',
        state: 'started',
        ready: true,
        endpoints: broker.endpoints('listener'),
      },
    ]);

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/health`, { method: 'POST' })).status).toBe(405);
  });

  it('/ready is 503 and names the plugins that are not ready', async () => {
    const { base } = await withAdmin({ plugins: { hello: { enabled: true, options: { ready: false } } } });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', notReady: ['hello'] });
  });

  it('closes the admin port on stop', async () => {
    const { broker, base } = await withAdmin({});
    await broker.stop();
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });

  it('refuses a busy admin port, naming admin.port and ROBUSTMQ_ADMIN_PORT', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((r) => holder.close(r)));
    const port = (holder.address() as { port: number }).port;
    expect(await refusalOf(startFixtureBroker({ admin: { enabled: true, host: '127.0.0.1', port } }))).toBe(
      `admin: admin.port: port ${port} on 127.0.0.1 is in use; fix: set admin.port (or ROBUSTMQ_ADMIN_PORT) to a free port (0 picks one), or set admin.enabled: false (or ROBUSTMQ_ADMIN_ENABLED=false)`,
    );
  });
});
