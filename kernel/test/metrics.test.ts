import { MetricNames } from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import { KernelHookBus } from '../src/hooks/index.js';
import { PromMetrics } from '../src/metrics.js';

describe('PromMetrics', () => {
  it('pre-creates the well-known metrics with their labels', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.counter(MetricNames.messagesIn, 'x', ['protocol']).inc({ protocol: 'mqtt' });
    m.counter(MetricNames.bytesIn, 'x', ['protocol']).inc({ protocol: 'kafka' }, 512);
    m.gauge(MetricNames.connections, 'x', ['protocol']).set({ protocol: 'amqp' }, 3);
    m.counter(MetricNames.hookErrors, 'x', ['hook', 'owner']).inc({ hook: 'filter', owner: 'rules' });
    m.gauge(MetricNames.queueDepth, 'x').inc(undefined, 7);
    m.counter(MetricNames.dropped, 'x', ['reason']).inc({ reason: 'queue-full' }, 2);
    const text = await m.render();
    for (const name of Object.values(MetricNames)) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('robustmq_messages_in_total{protocol="mqtt"} 1');
    expect(text).toContain('robustmq_bytes_in_total{protocol="kafka"} 512');
    expect(text).toContain('robustmq_connections{protocol="amqp"} 3');
    expect(text).toContain('robustmq_hook_errors_total{hook="filter",owner="rules"} 1');
    expect(text).toContain('robustmq_queue_depth 7');
    expect(text).toContain('robustmq_messages_dropped_total{reason="queue-full"} 2');
  });

  it('returns the same metric when asked twice, and refuses a clash of kind or labels', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    const a = m.counter('plugin_things_total', 'things', ['kind']);
    const b = m.counter('plugin_things_total', 'things again', ['kind']);
    expect(b).toBe(a);
    a.inc({ kind: 'x' });
    b.inc({ kind: 'x' }, 2);
    expect(await m.render()).toContain('plugin_things_total{kind="x"} 3');
    expect(m.counter('plugin_things_total', 'no labels given')).toBe(a);
    expect(() => m.gauge('plugin_things_total', 'g')).toThrow(/already exists as a counter/);
    expect(() => m.counter('plugin_things_total', 'c', ['other'])).toThrow(/labels \[kind\]/);
  });

  it('gauges go up, down and set; histograms observe into buckets', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    const g = m.gauge('plugin_open', 'open', ['side']);
    g.inc({ side: 'a' });
    g.inc({ side: 'a' }, 4);
    g.dec({ side: 'a' }, 2);
    g.set({ side: 'b' }, 9);
    const h = m.histogram('plugin_latency_seconds', 'latency', ['op'], [0.1, 1]);
    h.observe({ op: 'put' }, 0.05);
    h.observe({ op: 'put' }, 0.5);
    m.histogram('plugin_unlabelled_seconds', 'u').observe(undefined, 2);
    const text = await m.render();
    expect(text).toContain('plugin_open{side="a"} 3');
    expect(text).toContain('plugin_open{side="b"} 9');
    expect(text).toContain('plugin_latency_seconds_bucket{le="0.1",op="put"} 1');
    expect(text).toContain('plugin_latency_seconds_bucket{le="1",op="put"} 2');
    expect(text).toContain('plugin_latency_seconds_count{op="put"} 2');
    expect(text).toContain('plugin_unlabelled_seconds_count 1');
  });

  it('each instance has its own registry, so two brokers in one process do not collide', async () => {
    const one = new PromMetrics();
    const two = new PromMetrics();
    one.counter(MetricNames.messagesIn, 'x', ['protocol']).inc({ protocol: 'mqtt' }, 5);
    expect(one.registry).not.toBe(two.registry);
    expect(await one.render()).toContain('robustmq_messages_in_total{protocol="mqtt"} 5');
    expect(await two.render()).not.toContain('robustmq_messages_in_total{protocol="mqtt"}');
  });

  it('collects default Node metrics and names the exposition content type', async () => {
    const m = new PromMetrics();
    const text = await m.render();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it('counts hook failures from the hook bus', async () => {
    const metrics = new PromMetrics({ defaultMetrics: false });
    const noop = () => {};
    const logger = {
      level: 'info',
      trace: noop,
      debug: noop,
      info: noop,
      warn: noop,
      error: noop,
      fatal: noop,
      child: () => logger,
    };
    const bus = new KernelHookBus({ logger, metrics });
    bus.register(
      'authorize',
      () => {
        throw new Error('bad');
      },
      { owner: 'acl' },
    );
    bus.authorize({ protocol: 'mqtt', clientId: 'c', action: 'publish', resource: 't' });
    bus.authorize({ protocol: 'mqtt', clientId: 'c', action: 'publish', resource: 't' });
    expect(await metrics.render()).toContain('robustmq_hook_errors_total{hook="authorize",owner="acl"} 2');
  });

  it('a bound counter adds up locally and shows the total at each render, next to direct increments', async () => {
    const metrics = new PromMetrics({ defaultMetrics: false });
    const c = metrics.counter('bound_total', 'bound test', ['kind']);
    const pass = c.bind?.({ kind: 'pass' });
    expect(pass).toBeDefined();
    expect(await metrics.render()).toContain('bound_total{kind="pass"} 0');
    pass?.inc();
    pass?.inc(4);
    c.inc({ kind: 'pass' }, 10);
    expect(await metrics.render()).toContain('bound_total{kind="pass"} 15');
    pass?.inc(2);
    expect(await metrics.render()).toContain('bound_total{kind="pass"} 17');
    expect(() => c.bind?.({ other: 'x' })).toThrow();
  });
});
