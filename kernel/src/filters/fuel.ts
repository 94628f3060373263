import { Worker } from 'node:worker_threads';
import { readU32 } from './leb128.js';

/**
 * Fuel metering: lets the broker stop a runaway WebAssembly filter that runs in its own thread.
 *
 * {@link meterModule} rewrites a core module so that every function entry, function exit, `return`
 * and loop iteration decrements a per-instance counter; when the counter reaches zero it is reset
 * and the host function `FUEL_IMPORT_MODULE`.`FUEL_IMPORT_NAME` is called. The host side,
 * {@link createFuelGate}, compares the clock with the current call's deadline there and throws
 * {@link FuelExhausted} once it has passed: a JavaScript exception thrown from an import unwinds
 * the whole wasm stack, and the runner treats it like any other trap (re-instantiates the guest).
 * Should the guest catch that exception and run on, the next check makes it trap, which wasm
 * cannot catch. The counter makes the common case a few inlined instructions; the clock is read
 * only once every `interval` units.
 */

/** Import module name of the host check every metered module imports. */
export const FUEL_IMPORT_MODULE = 'robustmq:fuel';
/** Import field name of the host check: a function of type `() -> i32`; nonzero makes the guest trap. */
export const FUEL_IMPORT_NAME = 'check';

/**
 * Units (function entries/exits, returns, loop iterations) between two host checks. Measured on
 * this machine: a metered empty loop iteration takes ~0.55 ns and an armed check ~50 ns, so at
 * 10 000 the checks add ~1 % even to an empty loop (10 %, at 1000) while still reading the clock
 * every ~5 us of the tightest guest code; a QuickJS guest spinning in JavaScript was stopped
 * 0.5 ms after a 100 ms budget.
 */
export const DEFAULT_FUEL_INTERVAL = 10_000;

/** Options of {@link meterModule}. */
export interface MeterOptions {
  /** Units between two calls of the host check (1 … 2^31-1). Default {@link DEFAULT_FUEL_INTERVAL}. */
  interval?: number;
}

/**
 * Returns a copy of the core wasm module `bytes` in which every function entry and exit, every
 * `return` and every loop iteration spends one unit of fuel, and running out of fuel refills it
 * and calls the import `FUEL_IMPORT_MODULE`.`FUEL_IMPORT_NAME` (type `() -> i32`); when that
 * returns nonzero, the guest traps (`unreachable`).
 *
 * Nothing else changes: imports, exports, memories, tables, globals, data, elements and the start
 * function are kept; no optimisation pass runs on the guest's code (the module goes through
 * binaryen's IR, so its binary encoding may differ). The only additions are one function import
 * (binaryen renumbers the guest's functions after it) and one mutable i32 global appended after
 * the guest's own.
 *
 * A module that defines no function (e.g. jco's small fix-up modules), or that already imports
 * the fuel check, is returned unchanged (the former as the same object); offering it the extra
 * import is harmless.
 *
 * The work runs in a worker thread that loads binaryen on first use (~0.4 s) and exits after a
 * few idle seconds, so the broker's thread is not blocked (a 1.3 MB QuickJS core takes ~1 s) and a
 * broker without WASM filters never loads binaryen. {@link stopFuelMeter} ends it at once.
 *
 * @throws RangeError on a bad interval; Error when the module cannot be parsed or instrumented.
 */
export async function meterModule(bytes: Uint8Array, opts: MeterOptions = {}): Promise<Uint8Array> {
  const interval = opts.interval ?? DEFAULT_FUEL_INTERVAL;
  if (!Number.isInteger(interval) || interval < 1 || interval > 0x7fffffff) {
    throw new RangeError(`fuel interval must be an integer from 1 to 2^31-1, got ${interval}`);
  }
  const { definesFunctions, hasNames } = scanSections(bytes);
  if (!definesFunctions) return bytes;
  meter ??= new MeterWorker();
  return meter.meter(bytes, { interval, importModule: FUEL_IMPORT_MODULE, importName: FUEL_IMPORT_NAME, keepNames: hasNames });
}

/** Ends the metering worker now (it also ends by itself when idle). Pending calls reject. */
export async function stopFuelMeter(): Promise<void> {
  const m = meter;
  meter = undefined;
  await m?.stop();
}

/** How long the metering worker (and binaryen's memory) stays around after its last job. */
const METER_IDLE_MS = 3000;

let meter: MeterWorker | undefined;

/** What fuel-meter.mjs's instrument() takes besides the bytes. */
interface InstrumentOptions {
  interval: number;
  importModule: string;
  importName: string;
  keepNames: boolean;
}

type Reply = { id: number; bytes: Uint8Array } | { id: number; error: string } | { ready: true } | { fatal: string };

/** One worker thread running fuel-meter.mjs, started without the parent's loader hooks. */
class MeterWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(b: Uint8Array): void; reject(e: Error): void }>();
  private nextId = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor() {
    const url = new URL('./fuel-meter.mjs', import.meta.url).href;
    const code = `import(${JSON.stringify(url)}).then((m) => m.serve()).catch((e) => require('node:worker_threads').parentPort.postMessage({ fatal: String(e?.stack ?? e) }));`;
    // No execArgv: the parent's TypeScript loader would make loading binaryen ~20x slower.
    this.worker = new Worker(code, { eval: true, execArgv: [] });
    this.worker.on('message', (r: Reply) => this.onReply(r));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`fuel metering worker exited with code ${code}`)));
  }

  meter(bytes: Uint8Array, opts: InstrumentOptions): Promise<Uint8Array> {
    clearTimeout(this.idle);
    this.worker.ref();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, bytes, opts });
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.idle);
    await this.worker.terminate();
  }

  private onReply(r: Reply): void {
    if ('ready' in r) return;
    if ('fatal' in r) {
      this.fail(new Error(`fuel metering worker failed to start: ${r.fatal}`));
      return;
    }
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    if ('error' in r) {
      // Binaryen may be left in a bad state by a failure: start afresh next time.
      p?.reject(new Error(r.error));
      this.retire();
      return;
    }
    p?.resolve(r.bytes);
    if (this.pending.size === 0) {
      // Idle: let the process exit without waiting, and free binaryen's memory soon.
      this.worker.unref();
      this.idle = setTimeout(() => this.retire(), METER_IDLE_MS).unref();
    }
  }

  private fail(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.retire();
  }

  /** Stops taking new jobs (the next meterModule starts a new worker) and ends the thread. */
  private retire(): void {
    if (meter === this) meter = undefined;
    clearTimeout(this.idle);
    if (this.pending.size === 0) void this.worker.terminate();
  }
}

/**
 * What the section headers say: whether the module defines functions (non-empty code section),
 * so function-less modules skip binaryen entirely, and whether it has a name section, which
 * metering then keeps (without one, binaryen would add names of its own). Throws on a
 * truncated module.
 */
function scanSections(bytes: Uint8Array): { definesFunctions: boolean; hasNames: boolean } {
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a core wasm module (bad magic number)');
  }
  let definesFunctions = false;
  let hasNames = false;
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const [size, start] = readU32(bytes, pos);
    if (id === 10) definesFunctions = readU32(bytes, start)[0] > 0;
    if (id === 0) {
      const [len, at] = readU32(bytes, start);
      hasNames ||= len === 4 && bytes[at] === 0x6e && bytes[at + 1] === 0x61 && bytes[at + 2] === 0x6d && bytes[at + 3] === 0x65;
    }
    pos = start + size;
  }
  if (pos > bytes.length) throw new Error('truncated wasm module');
  return { definesFunctions, hasNames };
}

/** Thrown by the fuel check of an armed {@link FuelGate} once the guest call's budget is spent. */
export class FuelExhausted extends Error {
  constructor(
    readonly budgetMs: number,
    options?: { cause?: unknown },
  ) {
    super(`filter exceeded its time budget of ${budgetMs} ms`, options);
    this.name = 'FuelExhausted';
  }
}

/** The host side of fuel metering for the instances of one guest. */
export interface FuelGate {
  /**
   * Import object entries to merge into the import object of every core module of the guest:
   * `{ [FUEL_IMPORT_MODULE]: { [FUEL_IMPORT_NAME]: check } }`, where `check: () => i32`.
   */
  readonly imports: Record<string, Record<string, () => number>>;
  /**
   * Starts a guest call's budget: until {@link disarm}, checks more than `budgetMs` after the first
   * check of the call stop the guest (the first check comes within one interval of guest work).
   */
  arm(budgetMs: number): void;
  /** Ends the budget: checks do nothing (e.g. while the guest is instantiated or configured without a limit). */
  disarm(): void;
  /** True once the call armed last ran past its budget (reset by {@link arm}). */
  readonly exhausted: boolean;
  /**
   * Runs `call` with the gate armed for `budgetMs` and disarms it afterwards. If the budget ran
   * out during the call, throws {@link FuelExhausted} whatever the call did: also when the guest
   * caught the exception and returned, or was then stopped by the trap.
   */
  run<T>(budgetMs: number, call: () => T): T;
}

/**
 * Creates the host side of fuel metering. The check the metered code calls every `interval`
 * units does nothing while disarmed. While armed and past the deadline, it throws
 * {@link FuelExhausted} the first time, which unwinds the guest; if the guest catches that
 * (wasm exception handling can catch JavaScript exceptions) and runs on to the next check, the
 * check returns 1 and the metered code traps with `unreachable`, which wasm cannot catch. Use
 * {@link FuelGate.run} (or check {@link FuelGate.exhausted}) to report both cases as
 * FuelExhausted. One gate may serve any number of instances as long as one call runs at a time
 * (the broker's thread is single-threaded).
 *
 * @param now Clock in milliseconds; `performance.now` by default (tests may pass their own).
 */
export function createFuelGate(now: () => number = () => performance.now()): FuelGate {
  let armed = false;
  let deadline = Number.POSITIVE_INFINITY;
  let budget = 0;
  let exhausted = false;
  const check = (): number => {
    // Disarmed: no clock read at all.
    if (!armed) return 0;
    // The budget runs from the call's first check, at most one interval of guest work after the
    // call began: a call that finishes sooner (most filter calls) never reads the clock.
    if (deadline === Number.POSITIVE_INFINITY) {
      deadline = now() + budget;
      return 0;
    }
    if (now() <= deadline) return 0;
    if (exhausted) return 1;
    exhausted = true;
    throw new FuelExhausted(budget);
  };
  const gate: FuelGate = {
    imports: { [FUEL_IMPORT_MODULE]: { [FUEL_IMPORT_NAME]: check } },
    arm(budgetMs: number): void {
      if (!(budgetMs >= 0)) throw new RangeError(`fuel budget must be a non-negative number of ms, got ${budgetMs}`);
      budget = budgetMs;
      exhausted = false;
      armed = true;
      deadline = Number.POSITIVE_INFINITY;
    },
    disarm(): void {
      armed = false;
    },
    get exhausted(): boolean {
      return exhausted;
    },
    run<T>(budgetMs: number, call: () => T): T {
      gate.arm(budgetMs);
      let result: T;
      try {
        result = call();
      } catch (err) {
        if (exhausted && !(err instanceof FuelExhausted)) throw new FuelExhausted(budgetMs, { cause: err });
        throw err;
      } finally {
        gate.disarm();
      }
      if (exhausted) throw new FuelExhausted(budgetMs);
      return result;
    },
  };
  return gate;
}
