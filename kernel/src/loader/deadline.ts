/** How a deadline-bound call ended. */
export type DeadlineOutcome = { outcome: 'done' } | { outcome: 'failed'; error: unknown } | { outcome: 'timeout' };

/**
 * Runs `fn` and waits for it at most `ms` milliseconds; the signal aborts when the time is up.
 * Never throws: a throw or rejection is returned as `failed`.
 */
export async function runWithin(ms: number, fn: (signal: AbortSignal) => unknown): Promise<DeadlineOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DeadlineOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`deadline of ${ms} ms passed`));
      resolve({ outcome: 'timeout' });
    }, ms);
  });
  const work = (async (): Promise<DeadlineOutcome> => {
    try {
      await fn(controller.signal);
      return { outcome: 'done' };
    } catch (error) {
      return { outcome: 'failed', error };
    }
  })();
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
