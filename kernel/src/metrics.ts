import type { BoundCounter, Counter, Gauge, Histogram, Labels, Metrics } from '@robustmq/sdk';
import { MetricNames } from '@robustmq/sdk';
import * as prom from 'prom-client';

export interface PromMetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

type Kind = 'counter' | 'gauge' | 'histogram';
type Made = { kind: Kind; labelNames: readonly string[]; facade: Counter | Gauge | Histogram };

/**
 * {@link Metrics} on prom-client with a Registry of its own, so several brokers (or tests) in one
 * process do not collide. Asking again for a name returns the metric already made; asking for it
 * as another kind or with other label names is a programming error and throws at once rather than
 * on the hot path.
 */
export class PromMetrics implements Metrics {
  readonly registry = new prom.Registry();
  private readonly made = new Map<string, Made>();

  constructor(options: PromMetricsOptions = {}) {
    if (options.defaultMetrics ?? true) prom.collectDefaultMetrics({ register: this.registry });
    this.gauge(MetricNames.connections, 'Open client connections', ['protocol']);
    this.counter(MetricNames.messagesIn, 'Messages received from clients', ['protocol']);
    this.counter(MetricNames.messagesOut, 'Messages delivered to clients', ['protocol']);
    this.counter(MetricNames.bytesIn, 'Payload bytes received from clients', ['protocol']);
    this.counter(MetricNames.bytesOut, 'Payload bytes delivered to clients', ['protocol']);
    this.counter(MetricNames.hookErrors, 'Hook handlers that threw, rejected, answered invalidly or missed their deadline', [
      'hook',
      'owner',
    ]);
    this.gauge(MetricNames.queueDepth, 'Deliveries queued for subscribers, all queues together');
    this.counter(MetricNames.dropped, 'Messages dropped', ['reason']);
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.obtain(name, 'counter', labelNames, () => {
      // Bound handles count into plain numbers; prom-client asks `collect` before each render.
      const bound: { labels: Labels; pending: number }[] = [];
      const c = new prom.Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          for (const b of bound) {
            if (b.pending === 0) continue;
            this.inc(b.labels, b.pending);
            b.pending = 0;
          }
        },
      });
      return {
        inc: (labels?: Labels, value?: number) => (labels ? c.inc(labels, value) : c.inc(value)),
        bind: (labels: Labels): BoundCounter => {
          // Checked now, so a bad label fails at setup rather than at render time.
          c.inc(labels, 0);
          const b = { labels: { ...labels }, pending: 0 };
          bound.push(b);
          return {
            inc: (value = 1) => {
              b.pending += value;
            },
          };
        },
      };
    }) as Counter;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.obtain(name, 'gauge', labelNames, () => {
      const g = new prom.Gauge({ name, help, labelNames, registers: [this.registry] });
      return {
        set: (labels: Labels | undefined, value: number) => (labels ? g.set(labels, value) : g.set(value)),
        inc: (labels?: Labels, value?: number) => (labels ? g.inc(labels, value) : g.inc(value)),
        dec: (labels?: Labels, value?: number) => (labels ? g.dec(labels, value) : g.dec(value)),
      };
    }) as Gauge;
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): Histogram {
    return this.obtain(name, 'histogram', labelNames, () => {
      const h = new prom.Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) });
      return {
        observe: (labels: Labels | undefined, value: number) => (labels ? h.observe(labels, value) : h.observe(value)),
      };
    }) as Histogram;
  }

  /** Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` the admin endpoint should send with {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private obtain(name: string, kind: Kind, labelNames: readonly string[], make: () => Made['facade']): Made['facade'] {
    const existing = this.made.get(name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metric ${name} already exists as a ${existing.kind}, not a ${kind}`);
      // Callers that pass no label names take the metric as it is (e.g. a well-known one).
      if (labelNames.length > 0 && !sameLabels(existing.labelNames, labelNames)) {
        throw new Error(
          `metric ${name} already exists with labels [${existing.labelNames.join(', ')}], not [${labelNames.join(', ')}]`,
        );
      }
      return existing.facade;
    }
    const facade = make();
    this.made.set(name, { kind, labelNames: [...labelNames], facade });
    return facade;
  }
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  const sortedB = [...b].sort();
  return a.length === b.length && [...a].sort().every((v, i) => v === sortedB[i]);
}
