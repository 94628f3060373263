/**
 * Fuel metering: lets the broker stop a runaway WebAssembly filter that runs in its own thread.
 *
 * {@link meterModule} rewrites a core module so that every function entry, function exit, `return`
 * and loop iteration decrements a per-instance counter; when the counter reaches zero it is reset
 * and the host function `FUEL_IMPORT_MODULE`.`FUEL_IMPORT_NAME` is called. The host side,
 * {@link createFuelGate}, compares the clock with the current call's deadline there and throws
 * {@link FuelExhausted} once it has passed: a JavaScript exception thrown from an import unwinds
 * the whole wasm stack, and the runner treats it like any other trap (re-instantiates the guest).
 * The counter makes the common case a few inlined instructions; the clock is read only once every
 * `interval` units.
 */

/** Import module name of the host check every metered module imports. */
export const FUEL_IMPORT_MODULE = 'robustmq:fuel';
/** Import field name of the host check: a function of type `() -> ()`. */
export const FUEL_IMPORT_NAME = 'check';

/**
 * Units (function entries/exits, returns, loop iterations) between two host checks. A unit of a
 * tight loop takes ~0.3 ns on this machine and a host check ~60 ns, so 10 000 units keep the
 * check below ~2 % of an empty loop while checking every few microseconds of guest time
 * (see the fuel report in kernel/test/filters/fuel.test.ts).
 */
export const DEFAULT_FUEL_INTERVAL = 10_000;

/** Options of {@link meterModule}. */
export interface MeterOptions {
  /** Units between two calls of the host check (1 … 2^31-1). Default {@link DEFAULT_FUEL_INTERVAL}. */
  interval?: number;
}

/** Binaryen's module API, as far as this file uses it. */
type Binaryen = typeof import('binaryen').default;

let binaryenLoad: Promise<Binaryen> | undefined;

/** Binaryen is ~90 MB of wasm: loaded on first use, so a broker without WASM filters never pays for it. */
function loadBinaryen(): Promise<Binaryen> {
  binaryenLoad ??= import('binaryen').then((m) => m.default);
  return binaryenLoad;
}

/** Name of the function binaryen's `log-execution` pass calls at every point we meter. */
const PROBE = 'log_execution';

/**
 * Returns a copy of the core wasm module `bytes` in which every function entry and exit, every
 * `return` and every loop iteration spends one unit of fuel, and running out of fuel refills it
 * and calls the import `FUEL_IMPORT_MODULE`.`FUEL_IMPORT_NAME` (type `() -> ()`).
 *
 * Nothing else changes: imports, exports, memories, tables, globals, data, elements and the start
 * function are kept; no optimisation pass runs on the guest's code (the module goes through
 * binaryen's IR, so its binary encoding may differ). The only additions are one function import
 * (index 0 of the function space shifts the guest's functions by one, which binaryen renumbers)
 * and one mutable i32 global appended after the guest's own.
 *
 * A module that defines no function (e.g. jco's small fix-up modules), or that already imports
 * the fuel check, is returned unchanged; offering it the extra import is harmless.
 *
 * Asynchronous only because binaryen is loaded lazily; the work itself is synchronous and takes
 * milliseconds for a small module, about a second for a 1.3 MB QuickJS core.
 *
 * @throws Error when the module cannot be parsed or instrumented.
 */
export async function meterModule(bytes: Uint8Array, opts: MeterOptions = {}): Promise<Uint8Array> {
  const interval = opts.interval ?? DEFAULT_FUEL_INTERVAL;
  if (!Number.isInteger(interval) || interval < 1 || interval > 0x7fffffff) {
    throw new RangeError(`fuel interval must be an integer from 1 to 2^31-1, got ${interval}`);
  }
  if (!definesFunctions(bytes)) return bytes;
  const binaryen = await loadBinaryen();
  let module: ReturnType<Binaryen['readBinaryWithFeatures']>;
  // Binaryen's settings are process-wide: set ours for this call only (the call is synchronous).
  const saved = {
    debugInfo: binaryen.getDebugInfo(),
    alwaysInline: binaryen.getAlwaysInlineMaxSize(),
    noInline: binaryen.getPassArgument('no-inline'),
  };
  try {
    // Keep the name section: stack traces of a trapped guest stay readable.
    binaryen.setDebugInfo(true);
    module = binaryen.readBinaryWithFeatures(bytes, binaryen.Features.All);
  } catch (err) {
    restore(binaryen, saved);
    throw binaryenError('cannot read wasm module for fuel metering', err);
  }
  try {
    if (importsFuelCheck(binaryen, module)) return bytes;
    if (module.getFunction(PROBE)) throw new Error(`module already defines a function named ${PROBE}`);
    const fuel = freshName((n) => module.getGlobal(n) !== 0, 'robustmq_fuel');
    const check = freshName((n) => module.getFunction(n) !== 0, 'robustmq_fuel_check');
    // Calls PROBE(id) at function entries and exits, before each `return` and at each loop top.
    module.runPasses(['log-execution']);
    // Mark every guest function as not inlinable before PROBE gets a body: the inlining below
    // then inlines PROBE and nothing else, leaving the guest's own code as it was.
    binaryen.setPassArgument('no-inline', '*');
    module.runPasses(['no-inline']);
    module.removeFunction(PROBE);
    module.addFunctionImport(check, FUEL_IMPORT_MODULE, FUEL_IMPORT_NAME, binaryen.none, binaryen.none);
    module.addGlobal(fuel, binaryen.i32, true, module.i32.const(interval));
    const left = () => module.global.get(fuel, binaryen.i32);
    // The id argument of the probe is not used; the refill comes before the check so that a
    // guest catching the exception keeps being checked.
    module.addFunction(
      PROBE,
      binaryen.i32,
      binaryen.none,
      [],
      module.block(null, [
        module.global.set(fuel, module.i32.sub(left(), module.i32.const(1))),
        module.if(
          module.i32.le_s(left(), module.i32.const(0)),
          module.block(null, [module.global.set(fuel, module.i32.const(interval)), module.call(check, [], binaryen.none)]),
        ),
      ]),
    );
    // A call per unit costs ~15x an empty loop iteration; inlined, the countdown costs ~1x.
    binaryen.setAlwaysInlineMaxSize(1000);
    module.runPasses(['inlining']);
    return module.emitBinary();
  } catch (err) {
    throw err instanceof Error ? err : binaryenError('cannot meter wasm module', err);
  } finally {
    module.dispose();
    restore(binaryen, saved);
  }
}

function restore(binaryen: Binaryen, saved: { debugInfo: boolean; alwaysInline: number; noInline: string | null }): void {
  binaryen.setDebugInfo(saved.debugInfo);
  binaryen.setAlwaysInlineMaxSize(saved.alwaysInline);
  binaryen.setPassArgument('no-inline', saved.noInline);
}

/** Binaryen (compiled C++) throws plain objects: wrap them in an Error that says what failed. */
function binaryenError(what: string, err: unknown): Error {
  const detail = err instanceof Error ? err.message : 'binaryen rejected it';
  return new Error(`${what}: ${detail}`, { cause: err });
}

function freshName(taken: (name: string) => boolean, base: string): string {
  let name = base;
  for (let i = 1; taken(name); i++) name = `${base}_${i}`;
  return name;
}

/** True when the module already imports the fuel check (metered before). */
function importsFuelCheck(binaryen: Binaryen, module: ReturnType<Binaryen['readBinaryWithFeatures']>): boolean {
  for (let i = 0, n = module.getNumFunctions(); i < n; i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module === FUEL_IMPORT_MODULE && info.base === FUEL_IMPORT_NAME) return true;
  }
  return false;
}

/**
 * Whether a core module has a non-empty code section, read from the section headers alone, so
 * that function-less modules skip binaryen entirely. Throws on a truncated module.
 */
function definesFunctions(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a core wasm module (bad magic number)');
  }
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const [size, start] = readU32(bytes, pos);
    if (id === 10) return readU32(bytes, start)[0] > 0;
    pos = start + size;
  }
  if (pos > bytes.length) throw new Error('truncated wasm module');
  return false;
}

function readU32(buf: Uint8Array, at: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated LEB128 in wasm module');
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

/** Thrown by the fuel check of an armed {@link FuelGate} once the guest call's budget is spent. */
export class FuelExhausted extends Error {
  constructor(readonly budgetMs: number) {
    super(`filter exceeded its time budget of ${budgetMs} ms`);
    this.name = 'FuelExhausted';
  }
}

/** The host side of fuel metering for the instances of one guest. */
export interface FuelGate {
  /**
   * Import object entries to merge into the import object of every core module of the guest:
   * `{ [FUEL_IMPORT_MODULE]: { [FUEL_IMPORT_NAME]: check } }`.
   */
  readonly imports: Record<string, Record<string, () => void>>;
  /** Starts a guest call's budget: until {@link disarm}, checks after `budgetMs` throw {@link FuelExhausted}. */
  arm(budgetMs: number): void;
  /** Ends the budget: checks do nothing (e.g. while the guest is instantiated or configured without a limit). */
  disarm(): void;
}

/**
 * Creates the host side of fuel metering. Arm it right before a guest call and disarm it after
 * (in a `finally`): the check the metered code calls every `interval` units then throws
 * {@link FuelExhausted} when the call has run past its budget. One gate may serve any number of
 * instances, as long as one call runs at a time (the broker's thread is single-threaded).
 *
 * @param now Clock in milliseconds; `performance.now` by default (tests may pass their own).
 */
export function createFuelGate(now: () => number = () => performance.now()): FuelGate {
  let deadline = Number.POSITIVE_INFINITY;
  let budget = 0;
  const check = (): void => {
    // Disarmed: no clock read at all.
    if (deadline !== Number.POSITIVE_INFINITY && now() > deadline) throw new FuelExhausted(budget);
  };
  return {
    imports: { [FUEL_IMPORT_MODULE]: { [FUEL_IMPORT_NAME]: check } },
    arm(budgetMs: number): void {
      if (!(budgetMs >= 0)) throw new RangeError(`fuel budget must be a non-negative number of ms, got ${budgetMs}`);
      budget = budgetMs;
      deadline = now() + budgetMs;
    },
    disarm(): void {
      deadline = Number.POSITIVE_INFINITY;
    },
  };
}
