/** Retry with capped exponential backoff and full jitter for transient S3 failures. */

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** HTTP status of an AWS SDK error, if the server answered. */
export function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** Local failures that another attempt cannot fix. */
const FINAL_LOCAL = new Set(['AbortError', 'CredentialsProviderError']);

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
]);

/**
 * Transient: no answer at all (connection refused/reset, timeout), 5xx, 429 and S3's throttling
 * codes. 4xx answers (403 credentials, 404, 412 precondition) are final.
 */
export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) return !FINAL_LOCAL.has((err as Error)?.name);
  if (status >= 500 || status === 429) return true;
  return THROTTLING.has((err as Error).name);
}

/** Full-jitter delay before retry number `attempt` (1-based). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.random() * cap;
}

/** The last error after every attempt failed transiently. */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`after ${attempts} attempts: ${describeError(cause)}`);
    this.name = 'RetriesExhaustedError';
  }
}

/** A short human description of an SDK or network error. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string };
  const status = statusOf(err);
  // Bodiless answers (HEAD) come back as name "Unknown", message "UnknownError": say only the status.
  const known = (v: string | undefined) => (v && !/^Unknown(Error)?$/.test(v) ? v : undefined);
  const parts = [status ? `HTTP ${status}` : undefined, known(e?.code ?? e?.name), known(e?.message)].filter(Boolean);
  return parts.join(' ') || String(err);
}

/**
 * Runs `fn` until it succeeds, fails with a non-transient error (rethrown as is), or `attempts`
 * transient failures happened ({@link RetriesExhaustedError}).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (attempt >= policy.attempts) throw new RetriesExhaustedError(attempt, err);
      const delay = backoffDelay(policy, attempt);
      onRetry?.(err, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
