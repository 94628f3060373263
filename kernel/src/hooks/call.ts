import { isPromise, type MaybePromise } from '@robustmq/sdk';

/** Why a handler did not produce a usable answer. */
export interface HandlerFailure {
  kind: 'threw' | 'rejected' | 'deadline' | 'invalid';
  /** Short human description, used in logs and deny/drop reasons. */
  message: string;
  error?: unknown;
}

export type CallResult<T> = { ok: true; value: T } | { ok: false; failure: HandlerFailure };

/**
 * Calls a handler and contains whatever it does. A synchronous answer (or throw) comes back
 * synchronously — no promise is allocated on that path. A promise is raced against `deadlineMs`;
 * the returned promise never rejects, and a late settlement of the handler's promise is swallowed
 * (its rejection is handled, so it cannot surface as an unhandled rejection).
 */
export function callHandler<T>(invoke: () => MaybePromise<T>, deadlineMs: number): MaybePromise<CallResult<T>> {
  let value: MaybePromise<T>;
  try {
    value = invoke();
  } catch (error) {
    return failed('threw', error);
  }
  if (!isPromise(value)) return { ok: true, value };
  return raceDeadline(value, deadlineMs);
}

function raceDeadline<T>(pending: PromiseLike<T>, deadlineMs: number): Promise<CallResult<T>> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (result: CallResult<T>) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve(result);
    };
    if (Number.isFinite(deadlineMs) && deadlineMs > 0) {
      timer = setTimeout(
        () => settle({ ok: false, failure: { kind: 'deadline', message: `no answer within ${deadlineMs} ms` } }),
        deadlineMs,
      );
      // A hanging handler must not keep the process alive.
      timer.unref();
    }
    // Promise.resolve also absorbs a thenable whose `then` throws.
    Promise.resolve(pending).then(
      (value) => settle({ ok: true, value }),
      (error) => settle(failed('rejected', error)),
    );
  });
}

function failed(kind: 'threw' | 'rejected', error: unknown): { ok: false; failure: HandlerFailure } {
  const detail = error instanceof Error ? error.message : String(error);
  return { ok: false, failure: { kind, message: `${kind}: ${detail}`, error } };
}
