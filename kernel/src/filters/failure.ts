/** Why a filter call failed; counted in `robustmq_filter_failures_total{filter,kind}`. */
export type FailureKind =
  /** The guest trapped or threw. */
  | 'trap'
  /** The guest answered `error` for a message (e.g. it caught an exception deciding it). */
  | 'error'
  /** The call overran `timeBudgetMs`: stopped by the fuel check (in-thread) or the watchdog (worker). */
  | 'timeout'
  /** The guest hit `memoryBudgetMb`. */
  | 'memory'
  /** The guest called a WASI capability that was not granted. */
  | 'denied'
  /** The worker thread died. */
  | 'crash'
  /** The guest answered something that is not one verdict per message, or an invalid topic. */
  | 'invalid'
  /** More than `maxPending` messages were waiting for the filter. */
  | 'overload'
  /** The filter is restarting after a failure or is stopped. */
  | 'unavailable';

/** A failed filter call. */
export class FilterFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'FilterFailure';
  }
}
