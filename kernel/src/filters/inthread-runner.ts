import { pathToFileURL } from 'node:url';
import type { Message } from '@robustmq/sdk';
import { FilterFailure } from './failure.js';
import { createFuelGate, type FuelGate, FuelExhausted } from './fuel.js';
import {
  type Grants,
  type Guest,
  type Instantiate,
  instantiateGuestSync,
  memoryBytes,
  needsShim,
  runBatch,
  sandboxImportsWith,
  type WireMessage,
  type WireVerdict,
} from './guest.mjs';
import type { FilterRunner } from './runner.js';
import { toWire } from './wire.js';
import type { WasmModule } from './wasm-api.js';

export interface InThreadRunnerOptions {
  name: string;
  modulePath: string;
  modules: Record<string, WasmModule>;
  grants: Grants;
  config: string;
  memoryBudgetBytes: number;
  /** Longest one call (and `configure`) may run before the fuel check stops it (ms). */
  timeBudgetMs: number;
  /** Where the guest's `host.log` lines go. */
  hostLog(level: string, message: string): void;
  /** Called when a failed instance is being replaced. */
  onRestart?(): void;
}

/**
 * Runs a filter in the broker's own thread, synchronously: no hop, no batching delay. The core
 * modules must be fuel-metered (compileCoreModules with `fuel`): the metered code checks the
 * clock every few µs of guest time, and a call past its time budget is unwound there — so a
 * runaway filter holds the broker's thread for at most about `timeBudgetMs`, then gets the
 * failure policy like any trap. The memory budget and capability sandbox apply as in a worker.
 */
export class InThreadRunner implements FilterRunner {
  private guest: Guest | undefined;
  private stopped = false;
  private readonly gate: FuelGate = createFuelGate();

  private constructor(
    private readonly opts: InThreadRunnerOptions,
    private readonly instantiate: Instantiate,
    /** preview2-shim when the grants need it (loaded once, so renewal is synchronous). */
    private readonly shim: unknown,
  ) {}

  static async start(opts: InThreadRunnerOptions): Promise<InThreadRunner> {
    const mod = (await import(pathToFileURL(opts.modulePath).href)) as { instantiate: Instantiate };
    const shim = needsShim(opts.grants) ? await import('@bytecodealliance/preview2-shim') : undefined;
    const runner = new InThreadRunner(opts, mod.instantiate, shim);
    runner.guest = runner.fresh();
    return runner;
  }

  run(batch: WireMessage[]): WireVerdict[] {
    const guest = this.current();
    try {
      const verdicts = this.gate.run(this.opts.timeBudgetMs, () => runBatch(guest, batch));
      if (this.outOfMemory(guest)) for (const v of verdicts) this.tagMemory(v);
      return verdicts;
    } catch (err) {
      throw this.failure(guest, err);
    }
  }

  /**
   * One message through a guest with a direct binding, without wire objects (the per-message
   * path of the default mode); other guests go through {@link run}.
   */
  runOne(message: Message): WireVerdict {
    const guest = this.current();
    const direct = guest.direct;
    if (!direct) return this.run([toWire(message)])[0];
    let verdict: WireVerdict;
    try {
      verdict = this.gate.run(this.opts.timeBudgetMs, () => direct.one(message));
    } catch (err) {
      throw this.failure(guest, err);
    }
    if (this.outOfMemory(guest)) this.tagMemory(verdict);
    return verdict;
  }

  /** The live instance, or a new one in place of a failed one. */
  private current(): Guest {
    if (this.stopped) throw new FilterFailure('unavailable', `filter ${this.opts.name} stopped`);
    return this.guest ?? this.replace();
  }

  /** Near its memory budget after a call: the instance is replaced before the next one. */
  private outOfMemory(guest: Guest): boolean {
    const bytes = guest.direct ? guest.direct.memoryBytes() : memoryBytes(guest.memories);
    if (bytes < this.opts.memoryBudgetBytes * 0.9) return false;
    this.guest = undefined;
    return true;
  }

  /** A guest that caught its own out-of-memory answers `error`: tagged as a memory failure. */
  private tagMemory(v: WireVerdict): void {
    if (v !== 0 && v[0] === 3) v[2] = 'memory';
  }

  /** Classifies a failed call; the instance is dropped (jco refuses calls on a trapped one). */
  private failure(guest: Guest, err: unknown): FilterFailure {
    const kind =
      err instanceof FuelExhausted
        ? 'timeout'
        : (err as Error)?.name === 'CapabilityDenied'
          ? 'denied'
          : (err as Error)?.name === 'GuestAllocationFailed' || memoryBytes(guest.memories) >= this.opts.memoryBudgetBytes * 0.9
            ? 'memory'
            : 'trap';
    this.guest = undefined;
    return new FilterFailure(kind, `filter ${this.opts.name} failed: ${errorText(err)}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.guest = undefined;
  }

  /** A new instance in place of a failed one: synchronous (the modules are compiled), a few ms. */
  private replace(): Guest {
    this.opts.onRestart?.();
    try {
      this.guest = this.fresh();
      return this.guest;
    } catch (err) {
      throw new FilterFailure('unavailable', `filter ${this.opts.name} could not be restarted: ${errorText(err)}`);
    }
  }

  /** Instantiates and configures an instance. */
  private fresh(): Guest {
    const imports = sandboxImportsWith(this.shim, this.opts.grants, this.opts.hostLog);
    const guest = instantiateGuestSync(this.instantiate, this.opts.modules, imports, this.gate.imports);
    this.gate.run(this.opts.timeBudgetMs, () => guest.exports.configure(this.opts.config));
    return guest;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
