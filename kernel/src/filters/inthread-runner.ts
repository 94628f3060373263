import { pathToFileURL } from 'node:url';
import { FilterFailure } from './failure.js';
import {
  type Grants,
  type Guest,
  type Instantiate,
  instantiateGuest,
  memoryBytes,
  runBatch,
  sandboxImports,
  type WireMessage,
  type WireVerdict,
} from './guest.mjs';
import type { FilterRunner } from './runner.js';
import type { WasmModule } from './wasm-api.js';

export interface InThreadRunnerOptions {
  name: string;
  modulePath: string;
  modules: Record<string, WasmModule>;
  grants: Grants;
  config: string;
  memoryBudgetBytes: number;
  /** Where the guest's `host.log` lines go. */
  hostLog(level: string, message: string): void;
}

/**
 * Runs a filter in the broker's own thread, synchronously. No hop, no batching delay — but no
 * watchdog either: a filter that loops forever blocks the broker. For trusted filters and for
 * comparison (see bench/results/filters.md). The memory budget and capability sandbox still apply.
 */
export class InThreadRunner implements FilterRunner {
  private guest: Guest | undefined;
  private renewing: Promise<void> | undefined;

  private constructor(
    private readonly opts: InThreadRunnerOptions,
    private readonly instantiate: Instantiate,
  ) {}

  static async start(opts: InThreadRunnerOptions): Promise<InThreadRunner> {
    const mod = (await import(pathToFileURL(opts.modulePath).href)) as { instantiate: Instantiate };
    const runner = new InThreadRunner(opts, mod.instantiate);
    await runner.renew();
    return runner;
  }

  run(batch: WireMessage[]): WireVerdict[] {
    const guest = this.guest;
    if (!guest) throw new FilterFailure('unavailable', `filter ${this.opts.name} is restarting after a failure`);
    try {
      const verdicts = runBatch(guest, batch);
      // A guest that caught its own out-of-memory answers `error`: tag those, and start afresh.
      if (memoryBytes(guest.memories) >= this.opts.memoryBudgetBytes * 0.9) {
        for (const v of verdicts) if (v !== 0 && v[0] === 3) v[2] = 'memory';
        this.guest = undefined;
        this.renewing ??= this.renew().finally(() => {
          this.renewing = undefined;
        });
        this.renewing.catch(() => {});
      }
      return verdicts;
    } catch (err) {
      const kind =
        (err as Error)?.name === 'CapabilityDenied'
          ? 'denied'
          : memoryBytes(guest.memories) >= this.opts.memoryBudgetBytes * 0.9
            ? 'memory'
            : 'trap';
      // jco refuses calls on a trapped instance: build a new one in the background.
      this.guest = undefined;
      this.renewing ??= this.renew().finally(() => {
        this.renewing = undefined;
      });
      this.renewing.catch(() => {});
      throw new FilterFailure(kind, `filter ${this.opts.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async stop(): Promise<void> {
    this.guest = undefined;
  }

  private async renew(): Promise<void> {
    const guest = await instantiateGuest(
      this.instantiate,
      this.opts.modules,
      await sandboxImports(this.opts.grants, this.opts.hostLog),
    );
    guest.exports.configure(this.opts.config);
    this.guest = guest;
  }
}
