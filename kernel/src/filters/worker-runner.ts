import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@robustmq/sdk';
import { FilterFailure, type FailureKind } from './failure.js';
import type { Grants, WireMessage, WireVerdict } from './guest.mjs';
import { packBatch } from './pack.js';
import type { FilterRunner } from './runner.js';
import type { WasmModule } from './wasm-api.js';

const WORKER_URL = new URL('./worker.mjs', import.meta.url);

export interface WorkerRunnerOptions {
  name: string;
  /** The transpiled component's ES module. */
  modulePath: string;
  /** Compiled, memory-capped core modules (posted to every worker, never recompiled). */
  modules: Record<string, WasmModule>;
  grants: Grants;
  config: string;
  memoryBudgetBytes: number;
  timeBudgetMs: number;
  logger: Logger;
  /** Called each time a worker is replaced after a failure. */
  onRestart?: () => void;
  /** Where the guest's `host.log` lines go. */
  hostLog(level: string, message: string): void;
}

type Reply =
  | { type: 'ready' }
  | { type: 'log'; level: string; message: string }
  | { type: 'fatal'; error: string }
  | { type: 'result'; id: number; verdicts: WireVerdict[] }
  | { type: 'error'; id: number; kind: FailureKind; error: string };

interface InFlight {
  id: number;
  resolve(v: WireVerdict[]): void;
  reject(e: FilterFailure): void;
  timer: NodeJS.Timeout;
}

/**
 * Hosts a filter in a worker thread guarded by a watchdog: a batch that overruns the time budget
 * gets its worker terminated (a wasm infinite loop stops in a few ms) and a fresh worker started
 * from the already compiled modules. One batch is in flight at a time; the caller queues.
 */
export class WorkerRunner implements FilterRunner {
  private worker!: Worker;
  /** Settles when the current worker can take a batch; rejects while it cannot start. */
  private ready!: Promise<void>;
  private inFlight: InFlight | undefined;
  private nextId = 1;
  private stopped = false;
  private readonly log: Logger;

  private constructor(private readonly opts: WorkerRunnerOptions) {
    this.log = opts.logger;
  }

  /** Starts the first worker; rejects when the component cannot be instantiated or configured. */
  static async start(opts: WorkerRunnerOptions): Promise<WorkerRunner> {
    const runner = new WorkerRunner(opts);
    runner.spawn();
    try {
      await runner.ready;
    } catch (err) {
      await runner.stop();
      throw err;
    }
    return runner;
  }

  run(batch: WireMessage[]): Promise<WireVerdict[]> {
    if (this.stopped) return Promise.reject(new FilterFailure('unavailable', `filter ${this.opts.name} is stopped`));
    if (this.inFlight) return Promise.reject(new Error('WorkerRunner.run called with a batch in flight'));
    return this.ready.then(
      () => this.post(batch),
      (err: Error) => Promise.reject(new FilterFailure('unavailable', `filter ${this.opts.name} is not running: ${err.message}`)),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.fail(new FilterFailure('unavailable', `filter ${this.opts.name} stopped`));
    await this.worker.terminate();
  }

  private post(batch: WireMessage[]): Promise<WireVerdict[]> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => this.overrun(id), this.opts.timeBudgetMs);
      this.inFlight = { id, resolve, reject, timer };
      const packed = packBatch(batch);
      this.worker.postMessage({ type: 'batch', id, messages: packed.batch }, packed.transfer);
    });
  }

  /** Watchdog. A reply may already wait behind the timer in the event loop: let it land first. */
  private overrun(id: number): void {
    setImmediate(() => {
      if (this.inFlight?.id !== id) return;
      this.fail(
        new FilterFailure(
          'timeout',
          `filter ${this.opts.name} exceeded its time budget of ${this.opts.timeBudgetMs} ms; worker stopped`,
        ),
      );
      this.restart();
    });
  }

  private fail(failure: FilterFailure): void {
    const f = this.inFlight;
    if (!f) return;
    this.inFlight = undefined;
    clearTimeout(f.timer);
    f.reject(failure);
  }

  private spawn(): void {
    const { modulePath, modules, grants, config, memoryBudgetBytes } = this.opts;
    const worker = new Worker(WORKER_URL, {
      workerData: { modulePath, modules, grants, config, memoryBudgetBytes },
      stdout: true,
      stderr: true,
      // The worker only runs plain JS: it needs no TypeScript loader from the parent.
      execArgv: [],
    });
    this.worker = worker;
    this.forward(worker.stdout, 'info');
    this.forward(worker.stderr, 'warn');
    let settle: { resolve(): void; reject(e: Error): void } | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A later restart replaces `ready`; an unobserved rejection must not crash the broker.
    this.ready.catch(() => {});
    worker.on('message', (reply: Reply) => {
      if (worker !== this.worker) return;
      switch (reply.type) {
        case 'log':
          this.opts.hostLog(reply.level, reply.message);
          break;
        case 'ready':
          settle?.resolve();
          break;
        case 'fatal':
          this.log.error({ filter: this.opts.name, err: reply.error }, `filter ${this.opts.name} cannot start: ${reply.error}`);
          settle?.reject(new Error(reply.error));
          break;
        case 'result': {
          const f = this.inFlight;
          if (f?.id !== reply.id) return;
          this.inFlight = undefined;
          clearTimeout(f.timer);
          f.resolve(reply.verdicts);
          break;
        }
        case 'error':
          if (this.inFlight?.id !== reply.id) return;
          // The worker re-instantiates and posts 'ready' again; batches wait for it.
          this.ready = new Promise<void>((resolve, reject) => {
            settle = { resolve, reject };
          });
          this.ready.catch(() => {});
          this.fail(new FilterFailure(reply.kind, `filter ${this.opts.name} failed: ${reply.error}`));
          break;
      }
    });
    worker.on('error', (err) => {
      if (worker !== this.worker) return;
      this.log.error({ filter: this.opts.name, err }, `filter ${this.opts.name} worker crashed: ${err.message}`);
      settle?.reject(err);
      this.fail(new FilterFailure('crash', `filter ${this.opts.name} worker crashed: ${err.message}`));
      this.restart();
    });
    worker.on('exit', (code) => {
      if (worker !== this.worker || this.stopped) return;
      settle?.reject(new Error(`worker exited with code ${code}`));
      this.fail(new FilterFailure('crash', `filter ${this.opts.name} worker exited with code ${code}`));
      this.restart();
    });
  }

  private restart(): void {
    if (this.stopped) return;
    const old = this.worker;
    this.spawn();
    void old.terminate();
    this.opts.onRestart?.();
  }

  /** Guest stdout/stderr (only reachable with the `stdio` grant) go to the broker log, line by line. */
  private forward(stream: Readable, level: 'info' | 'warn'): void {
    createInterface({ input: stream }).on('line', (line) =>
      this.log[level]({ filter: this.opts.name, stream: level === 'info' ? 'stdout' : 'stderr' }, line),
    );
  }
}
