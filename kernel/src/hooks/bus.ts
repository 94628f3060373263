import {
  type AuthenticateRequest,
  type AuthenticateResult,
  type AuthorizeRequest,
  type AuthorizeResult,
  type Counter,
  type FilterOutcome,
  type FilterVerdict,
  HOOK_NAMES,
  type HookBus,
  type HookMap,
  type HookName,
  type HookOptions,
  isPromise,
  type Logger,
  type MaybePromise,
  type Message,
  MetricNames,
  type Metrics,
  type Unregister,
} from '@robustmq/sdk';
import { type CallResult, callHandler, type HandlerFailure } from './call.js';
import { type HandlerEntry, HandlerTable } from './handler-table.js';

/** Notification hooks: fired with {@link HookBus.emit}, results ignored. */
export type NotificationName = Parameters<HookBus['emit']>[0];

export interface KernelHookBusOptions {
  logger: Logger;
  /** Where `robustmq_hook_errors_total{hook,owner}` is counted. */
  metrics?: Metrics;
  /** Default deadline for async handlers, in ms (default 1000). Not finite or ≤ 0 disables it. */
  deadlineMs?: number;
  /** What a failing filter means: `pass` continues with the current message (default), `drop` drops it. */
  filterFailure?: 'pass' | 'drop';
  /** Owner shown for handlers registered without one (default `anonymous`). */
  defaultOwner?: string;
}

/**
 * The kernel's hook bus. Handlers run in (order, registration) order. Every `run` stays synchronous
 * while handlers answer synchronously and switches to a promise only from the first handler that
 * returns one. A handler that throws, rejects, answers nonsense or misses its deadline is contained:
 * logged, counted, and read as deny (authenticate/authorize), the `filterFailure` policy (filter), or
 * ignored (notifications).
 */
export class KernelHookBus implements HookBus {
  private readonly table = new HandlerTable();
  private readonly logger: Logger;
  private readonly errors: Counter | undefined;
  private readonly deadlineMs: number;
  private readonly filterFailure: 'pass' | 'drop';
  private readonly defaultOwner: string;

  constructor(options: KernelHookBusOptions) {
    this.logger = options.logger;
    this.deadlineMs = options.deadlineMs ?? 1000;
    this.filterFailure = options.filterFailure ?? 'pass';
    this.defaultOwner = options.defaultOwner ?? 'anonymous';
    this.errors = options.metrics?.counter(
      MetricNames.hookErrors,
      'Hook handlers that threw, rejected, answered invalidly or missed their deadline',
      ['hook', 'owner'],
    );
  }

  register<K extends HookName>(name: K, handler: HookMap[K], options: HookOptions = {}): Unregister {
    if (!HOOK_NAMES.includes(name)) throw new TypeError(`unknown hook "${String(name)}"; known hooks: ${HOOK_NAMES.join(', ')}`);
    if (typeof handler !== 'function') throw new TypeError(`handler for hook "${name}" must be a function`);
    return this.table.add(name, {
      handler,
      order: options.order ?? 0,
      owner: options.owner ?? this.defaultOwner,
      deadlineMs: options.deadlineMs ?? this.deadlineMs,
    });
  }

  has(name: HookName): boolean {
    return this.table.has(name);
  }

  /**
   * A view of this bus whose `register` defaults `owner` to the given name: the kernel hands one to
   * each plugin so its handlers are reported under the plugin's name.
   */
  forOwner(owner: string): HookBus {
    return {
      register: (name, handler, options) => this.register(name, handler, { owner, ...options }),
      has: (name) => this.has(name),
      authenticate: (req) => this.authenticate(req),
      authorize: (req) => this.authorize(req),
      filter: (message) => this.filter(message),
      emit: (name, arg) => this.emit(name, arg),
    };
  }

  authenticate(req: AuthenticateRequest): MaybePromise<AuthenticateResult> {
    return this.firstAnswer('authenticate', req, this.table.list('authenticate'), 0, validAuthenticate, (entry, failure) => ({
      outcome: 'deny',
      reason: `authentication hook of ${entry.owner} failed (${failure.message})`,
      code: 'not-authorized',
    }));
  }

  authorize(req: AuthorizeRequest): MaybePromise<AuthorizeResult> {
    return this.firstAnswer('authorize', req, this.table.list('authorize'), 0, validAuthorize, () => 'deny' as const);
  }

  filter(message: Message): MaybePromise<FilterOutcome> {
    return this.filterFrom(this.table.list('filter'), 0, message);
  }

  emit<K extends NotificationName>(name: K, arg: Parameters<HookMap[K]>[0]): void {
    for (const entry of this.table.list(name)) {
      const handler = entry.handler as (a: typeof arg) => MaybePromise<void>;
      const result = callHandler(() => handler(arg), entry.deadlineMs);
      if (isPromise(result)) {
        // callHandler's promise never rejects and report() never throws: nothing can escape.
        void result.then((r) => {
          if (!r.ok) this.report(name, entry, r.failure);
        });
      } else if (!result.ok) {
        this.report(name, entry, result.failure);
      }
    }
  }

  /** Runs handlers from `start` until one gives a non-undefined answer; a failure answers `onFailure`. */
  private firstAnswer<K extends 'authenticate' | 'authorize', R>(
    name: K,
    arg: Parameters<HookMap[K]>[0],
    list: readonly HandlerEntry<K>[],
    start: number,
    valid: (value: unknown) => boolean,
    onFailure: (entry: HandlerEntry<K>, failure: HandlerFailure) => R,
  ): MaybePromise<R | undefined> {
    for (let i = start; i < list.length; i++) {
      const entry = list[i];
      const handler = entry.handler as (a: typeof arg) => MaybePromise<R | undefined>;
      const result = callHandler(() => handler(arg), entry.deadlineMs);
      if (isPromise(result)) {
        return result.then((r) => {
          const answer = this.answerOf(name, entry, r, valid, onFailure);
          return answer !== undefined ? answer : this.firstAnswer(name, arg, list, i + 1, valid, onFailure);
        });
      }
      const answer = this.answerOf(name, entry, result, valid, onFailure);
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  private answerOf<K extends 'authenticate' | 'authorize', R>(
    name: K,
    entry: HandlerEntry<K>,
    result: CallResult<R | undefined>,
    valid: (value: unknown) => boolean,
    onFailure: (entry: HandlerEntry<K>, failure: HandlerFailure) => R,
  ): R | undefined {
    const failure = result.ok ? invalid(result.value, valid) : result.failure;
    if (failure === undefined) return (result as { value: R | undefined }).value;
    this.report(name, entry, failure);
    return onFailure(entry, failure);
  }

  /** Runs the filter chain from `start` with the message as transformed so far. */
  private filterFrom(list: readonly HandlerEntry<'filter'>[], start: number, message: Message): MaybePromise<FilterOutcome> {
    let current = message;
    for (let i = start; i < list.length; i++) {
      const entry = list[i];
      const subject = current;
      const result = callHandler(() => entry.handler(subject), entry.deadlineMs);
      if (isPromise(result)) {
        return result.then((r) => {
          const step = this.filterStep(entry, r, subject);
          return 'verdict' in step ? step : this.filterFrom(list, i + 1, step.next);
        });
      }
      const step = this.filterStep(entry, result, subject);
      if ('verdict' in step) return step;
      current = step.next;
    }
    return { verdict: 'pass', message: current };
  }

  /** One filter's effect: the message for the next filter, or the final drop. */
  private filterStep(
    entry: HandlerEntry<'filter'>,
    result: CallResult<FilterVerdict>,
    current: Message,
  ): { next: Message } | { verdict: 'drop'; reason: string } {
    const failure = result.ok ? invalid(result.value, validFilterVerdict) : result.failure;
    if (failure !== undefined) {
      this.report('filter', entry, failure);
      if (this.filterFailure === 'drop')
        return { verdict: 'drop', reason: `filter of ${entry.owner} failed (${failure.message})` };
      return { next: current };
    }
    const verdict = (result as { value: FilterVerdict }).value;
    if (verdict.verdict === 'drop') return { verdict: 'drop', reason: verdict.reason || `dropped by filter of ${entry.owner}` };
    if (verdict.verdict === 'transform') return { next: verdict.message };
    return { next: current };
  }

  /** Logs and counts a contained failure. Never throws: it runs inside promise callbacks. */
  private report(hook: HookName, entry: HandlerEntry, failure: HandlerFailure): void {
    try {
      this.errors?.inc({ hook, owner: entry.owner });
      this.logger.warn(
        { hook, owner: entry.owner, failure: failure.kind, err: failure.error, deadlineMs: entry.deadlineMs },
        `hook ${hook} handler of ${entry.owner} failed: ${failure.message}`,
      );
    } catch {
      // A broken logger or metric must not turn a contained failure into an uncontained one.
    }
  }
}

function invalid(value: unknown, valid: (value: unknown) => boolean): HandlerFailure | undefined {
  if (valid(value)) return undefined;
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return { kind: 'invalid', message: `invalid answer ${shown.slice(0, 200)}` };
}

function validAuthenticate(v: unknown): boolean {
  if (v === undefined) return true;
  const outcome = (v as { outcome?: unknown } | null)?.outcome;
  return outcome === 'allow' || outcome === 'deny' || outcome === 'continue';
}

function validAuthorize(v: unknown): boolean {
  return v === undefined || v === 'allow' || v === 'deny';
}

function validFilterVerdict(v: unknown): boolean {
  const verdict = v as Partial<{ verdict: string; message: unknown }> | null | undefined;
  switch (verdict?.verdict) {
    case 'pass':
    case 'drop':
      return true;
    case 'transform':
      return typeof verdict.message === 'object' && verdict.message !== null;
    default:
      return false;
  }
}
