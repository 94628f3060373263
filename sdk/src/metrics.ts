/** Label values for one sample. */
export type Labels = Record<string, string | number>;

export interface Counter {
  inc(labels?: Labels, value?: number): void;
  /**
   * A handle on one label set for hot paths: its `inc` only adds to a number, published when the
   * metrics are rendered (a labelled `inc` hashes and validates its labels every time). For label
   * sets that are few and long-lived: a bound handle is kept for the life of the registry.
   */
  bind?(labels: Labels): BoundCounter;
}

/** See {@link Counter.bind}. */
export interface BoundCounter {
  inc(value?: number): void;
}

export interface Gauge {
  set(labels: Labels | undefined, value: number): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}

export interface Histogram {
  observe(labels: Labels | undefined, value: number): void;
}

/**
 * Metrics registry facade (Prometheus underneath). Asking twice for the same name returns the same
 * metric, so plugins may call these at setup without coordinating.
 */
export interface Metrics {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: number[]): Histogram;
  /** Prometheus text exposition of every metric. */
  render(): Promise<string>;
}

/**
 * Well-known metric names the kernel defines and protocol plugins increment, so the admin
 * endpoint reports every protocol the same way.
 */
export const MetricNames = {
  connections: 'robustmq_connections',
  messagesIn: 'robustmq_messages_in_total',
  messagesOut: 'robustmq_messages_out_total',
  bytesIn: 'robustmq_bytes_in_total',
  bytesOut: 'robustmq_bytes_out_total',
  hookErrors: 'robustmq_hook_errors_total',
  queueDepth: 'robustmq_queue_depth',
  dropped: 'robustmq_messages_dropped_total',
} as const;
