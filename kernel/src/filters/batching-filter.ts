import type { FilterVerdict, HeaderValue, MaybePromise, Message } from '@robustmq/sdk';
import { FilterFailure } from './failure.js';
import type { WireVerdict } from './guest.mjs';
import type { LogLimiter } from './log-limit.js';
import { counterFor, type FilterMetrics } from './metrics.js';
import type { FilterRunner } from './runner.js';
import { toWire } from './wire.js';

export interface BatchingFilterOptions {
  name: string;
  runner: FilterRunner;
  failurePolicy: 'pass' | 'drop';
  batchSize: number;
  batchDelayMs: number;
  maxPending: number;
  /** Call the runner per message, synchronously (in-thread runners): no queue, no batching. */
  synchronous: boolean;
  /** Rate-limited log of this filter's failures. */
  log: LogLimiter;
  metrics: FilterMetrics;
}

interface Pending {
  message: Message;
  resolve(v: FilterVerdict): void;
}

/**
 * The `filter` hook handler of one component. Messages queue while a batch is in the filter and
 * go in together next: under load batches grow up to `batchSize` by themselves, at low rates a
 * message waits at most `batchDelayMs` (0: the end of the current event-loop turn). Failures turn
 * into the entry's failure policy, counted and logged once per failed call.
 */
export class BatchingFilter {
  private queue: Pending[] = [];
  private busy = false;
  private scheduled = false;
  private stopped = false;
  private readonly labels: { filter: string };
  private readonly count: Record<'pass' | 'drop' | 'transform', (n: number) => void>;

  constructor(private readonly opts: BatchingFilterOptions) {
    this.labels = { filter: opts.name };
    const verdict = (v: string) => counterFor(opts.metrics.messages, { filter: opts.name, verdict: v });
    this.count = { pass: verdict('pass'), drop: verdict('drop'), transform: verdict('transform') };
  }

  /** The hook handler. */
  handle(message: Message): MaybePromise<FilterVerdict> {
    if (this.opts.synchronous) return this.runNow(message);
    if (this.stopped) return this.failed([message], new FilterFailure('unavailable', `filter ${this.opts.name} stopped`))[0];
    if (this.queue.length >= this.opts.maxPending) {
      return this.failed(
        [message],
        new FilterFailure('overload', `filter ${this.opts.name} has ${this.queue.length} messages waiting`),
      )[0];
    }
    return new Promise<FilterVerdict>((resolve) => {
      this.queue.push({ message, resolve });
      if (!this.busy && this.queue.length >= this.opts.batchSize) this.flush();
      else this.schedule();
    });
  }

  /** Stops taking messages; queued ones get the failure policy. */
  async stop(): Promise<void> {
    this.stopped = true;
    const rest = this.queue;
    this.queue = [];
    if (rest.length > 0) {
      const verdicts = this.failed(
        rest.map((p) => p.message),
        new FilterFailure('unavailable', `filter ${this.opts.name} stopped`),
      );
      for (let i = 0; i < rest.length; i++) rest[i].resolve(verdicts[i]);
    }
    await this.opts.runner.stop();
  }

  private runNow(message: Message): FilterVerdict {
    const runner = this.opts.runner;
    let wire: WireVerdict;
    try {
      wire = runner.runOne ? runner.runOne(message) : (runner.run([toWire(message)]) as WireVerdict[])[0];
    } catch (err) {
      return this.failed([message], asFailure(err))[0];
    }
    // The common answer without building arrays: this runs once per message.
    if (wire === 0) {
      this.count.pass(1);
      return PASS;
    }
    return this.apply([message], [wire])[0];
  }

  private schedule(): void {
    if (this.busy || this.scheduled) return;
    this.scheduled = true;
    const fire = () => {
      this.scheduled = false;
      this.flush();
    };
    if (this.opts.batchDelayMs > 0) setTimeout(fire, this.opts.batchDelayMs);
    else setImmediate(fire);
  }

  private flush(): void {
    if (this.busy || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.opts.batchSize);
    this.busy = true;
    this.opts.metrics.batchSize.observe(this.labels, batch.length);
    const messages = batch.map((p) => p.message);
    let result: MaybePromise<WireVerdict[]>;
    try {
      result = this.opts.runner.run(messages.map(toWire));
    } catch (err) {
      result = Promise.reject(err);
    }
    Promise.resolve(result)
      .then(
        (wire) => this.apply(messages, wire),
        (err) => this.failed(messages, asFailure(err)),
      )
      .then((verdicts) => {
        for (let i = 0; i < batch.length; i++) batch[i].resolve(verdicts[i]);
        this.busy = false;
        // What queued meanwhile has waited long enough: send it now.
        if (this.queue.length > 0) this.flush();
      });
  }

  /** Turns wire verdicts into hook verdicts; an invalid one fails the whole batch. */
  private apply(messages: Message[], wire: WireVerdict[]): FilterVerdict[] {
    const out: FilterVerdict[] = new Array(messages.length);
    let pass = 0;
    let drop = 0;
    let transform = 0;
    for (let i = 0; i < messages.length; i++) {
      const v = wire[i];
      if (v === 0) {
        out[i] = PASS;
        pass++;
      } else if (v[0] === 1) {
        out[i] = { verdict: 'drop', reason: `${this.opts.name}: ${v[1]}` };
        drop++;
      } else if (v[0] === 3) {
        out[i] = this.failed(
          [messages[i]],
          new FilterFailure(
            v[2] ?? 'error',
            `filter ${this.opts.name} could not decide a message on ${messages[i].topic}: ${v[1]}`,
          ),
        )[0];
      } else {
        const m = messages[i];
        const topic = v[1] ?? m.topic;
        if (!validTopic(topic)) {
          return this.failed(
            messages,
            new FilterFailure('invalid', `filter ${this.opts.name} rewrote a topic to ${JSON.stringify(topic)}`),
          );
        }
        out[i] = {
          verdict: 'transform',
          message: {
            ...m,
            topic,
            payload: v[2] === null ? m.payload : typeof v[2] === 'string' ? Buffer.from(v[2], 'utf8') : asBuffer(v[2]),
            headers: v[3] ? fromWireHeaders(v[3]) : m.headers,
          },
        };
        transform++;
      }
    }
    if (pass) this.count.pass(pass);
    if (drop) this.count.drop(drop);
    if (transform) this.count.transform(transform);
    return out;
  }

  /** The failure policy for every message of a failed call, counted and logged once. */
  private failed(messages: Message[], failure: FilterFailure): FilterVerdict[] {
    const n = messages.length;
    this.opts.metrics.failures.inc({ ...this.labels, kind: failure.kind }, n);
    this.opts.metrics.messages.inc({ ...this.labels, verdict: 'failed' }, n);
    this.opts.log.log(
      'warn',
      { filter: this.opts.name, kind: failure.kind, messages: n, policy: this.opts.failurePolicy },
      `${failure.message}; ${n} message(s) handled by failurePolicy ${this.opts.failurePolicy}`,
    );
    const verdict: FilterVerdict =
      this.opts.failurePolicy === 'drop' ? { verdict: 'drop', reason: `${this.opts.name} failed (${failure.kind})` } : PASS;
    return new Array<FilterVerdict>(n).fill(verdict);
  }
}

const PASS: FilterVerdict = { verdict: 'pass' };

function asFailure(err: unknown): FilterFailure {
  if (err instanceof FilterFailure) return err;
  return new FilterFailure('trap', err instanceof Error ? err.message : String(err));
}

function validTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\0');
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fromWireHeaders(h: Record<string, string | Uint8Array>): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  for (const [k, v] of Object.entries(h)) out[k] = typeof v === 'string' ? v : asBuffer(v);
  return out;
}
