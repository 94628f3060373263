import type { Counter, Histogram, Labels, Metrics } from '@robustmq/sdk';

/** Metric names of rule filters. */
export const FilterMetricNames = {
  messages: 'robustmq_filter_messages_total',
  failures: 'robustmq_filter_failures_total',
  restarts: 'robustmq_filter_restarts_total',
  batchSize: 'robustmq_filter_batch_size',
} as const;

/** The metrics every filter reports, labelled by filter name. */
export interface FilterMetrics {
  /** Messages decided, by `verdict` (pass, drop, transform, failed). */
  messages: Counter;
  /** Messages whose filter call failed, by `kind` (trap, timeout, memory, denied, crash, invalid, overload, unavailable). */
  failures: Counter;
  /** Worker threads replaced after a timeout or crash. */
  restarts: Counter;
  /** Messages per call into the filter. */
  batchSize: Histogram;
}

export function filterMetrics(metrics: Metrics): FilterMetrics {
  return {
    messages: metrics.counter(FilterMetricNames.messages, 'Messages decided by rule filters', ['filter', 'verdict']),
    failures: metrics.counter(FilterMetricNames.failures, 'Messages whose rule filter call failed', ['filter', 'kind']),
    restarts: metrics.counter(FilterMetricNames.restarts, 'Rule filter workers replaced after a timeout or crash', ['filter']),
    batchSize: metrics.histogram(
      FilterMetricNames.batchSize,
      'Messages per call into a rule filter',
      ['filter'],
      [1, 4, 16, 64, 256, 1024],
    ),
  };
}

/**
 * Adds to one label set of a counter: through a bound handle where the registry offers one (a
 * labelled `inc` per message costs more than a small filter's decision), directly otherwise.
 */
export function counterFor(counter: Counter, labels: Labels): (n: number) => void {
  const bound = counter.bind?.(labels);
  return bound ? (n) => bound.inc(n) : (n) => counter.inc(labels, n);
}
