// Fuel metering (fuel.ts): metered modules are stopped by the gate when their call runs past its
// budget, compute exactly what the original computes otherwise, and the committed filter
// components still compile and run after metering. Real WebAssembly instances throughout.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import binaryen from 'binaryen';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFuelGate,
  DEFAULT_FUEL_INTERVAL,
  FUEL_IMPORT_MODULE,
  FUEL_IMPORT_NAME,
  type FuelGate,
  FuelExhausted,
  meterModule,
  stopFuelMeter,
} from '../../src/filters/fuel.js';
import {
  type Guest,
  type Instantiate,
  instantiateGuest,
  runBatch,
  sandboxImports,
  type WireMessage,
} from '../../src/filters/guest.mjs';
import { capMemory, pagesFor } from '../../src/filters/memory-limit.js';
import { enableWasmFeatures, sha256Hex, transpileCached } from '../../src/filters/transpile-cache.js';
import { repoRoot } from './build.js';

// The project compiles without the DOM lib, where the WebAssembly namespace is declared.
/** An export as these tests use it: a function, or the observable fields of a global, table or memory. */
type Export = ((...args: (number | bigint)[]) => unknown) & { value: unknown; length: number; buffer: ArrayBuffer };
type Exports = Record<string, Export>;
interface Descriptor {
  module?: string;
  name: string;
  kind: string;
}
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      compile(b: Uint8Array): Promise<object>;
      instantiate(m: object, i?: object): Promise<{ exports: Exports }>;
      Module: {
        imports(m: object): Descriptor[];
        exports(m: object): Descriptor[];
        customSections(m: object, name: string): ArrayBuffer[];
      };
      Global: new (d: { value: string; mutable: boolean }, v: number) => object;
    };
  }
).WebAssembly;

/** A core module from WAT text (binaryen's parser, every feature on). */
function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(binaryen.Features.All);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

async function instantiate(bytes: Uint8Array, imports: object = {}): Promise<Exports> {
  return (await WA.instantiate(await WA.compile(bytes), imports)).exports;
}

/** Runs `f` with the gate armed for `budgetMs`; returns what it threw and how long it ran. */
function timed(gate: FuelGate, budgetMs: number, f: () => unknown): { error: unknown; ms: number } {
  const start = performance.now();
  gate.arm(budgetMs);
  try {
    f();
    return { error: undefined, ms: performance.now() - start };
  } catch (error) {
    return { error, ms: performance.now() - start };
  } finally {
    gate.disarm();
  }
}

function expectExhausted(error: unknown, budgetMs: number): void {
  expect(error).toBeInstanceOf(FuelExhausted);
  expect((error as Error).name).toBe('FuelExhausted');
  expect((error as Error).message).toBe(`filter exceeded its time budget of ${budgetMs} ms`);
  expect((error as FuelExhausted).budgetMs).toBe(budgetMs);
}

afterAll(async () => {
  await stopFuelMeter();
});

describe('runaway code is stopped', () => {
  const spin = wat(`(module
    (func (export "spin") (loop $l (br $l)))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`);

  it('stops an infinite loop within a small multiple of its budget; a fresh instance still works', async () => {
    const metered = await meterModule(spin);
    const gate = createFuelGate();
    const guest = await instantiate(metered, gate.imports);
    const { error, ms } = timed(gate, 50, () => guest.spin());
    expectExhausted(error, 50);
    expect(ms).toBeGreaterThanOrEqual(50);
    expect(ms).toBeLessThan(400);
    // The thrown instance is not reused; a new one from the same module runs normally.
    const fresh = await instantiate(metered, gate.imports);
    expect(timed(gate, 1000, () => fresh.add(2, 3)).error).toBeUndefined();
    expect(fresh.add(40, 2)).toBe(42);
  });

  it('stops exponential recursion that has no loop at all (fib(40), mutual recursion)', async () => {
    const metered = await meterModule(
      wat(`(module
        (func $fib (export "fib") (param $n i32) (result i32)
          (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
            (then (local.get $n))
            (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                           (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
        (func $ping (export "ping") (param $n i32) (result i32)
          (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 1))
            (else (i32.add (call $pong (i32.sub (local.get $n) (i32.const 1)))
                           (call $pong (i32.sub (local.get $n) (i32.const 1)))))))
        (func $pong (param $n i32) (result i32)
          (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 1))
            (else (return (i32.add (call $ping (i32.sub (local.get $n) (i32.const 1)))
                                   (call $ping (i32.sub (local.get $n) (i32.const 1)))))))))`),
    );
    const gate = createFuelGate();
    const guest = await instantiate(metered, gate.imports);
    const fib = timed(gate, 30, () => guest.fib(40));
    expectExhausted(fib.error, 30);
    expect(fib.ms).toBeLessThan(300);
    const fresh = await instantiate(metered, gate.imports);
    const ping = timed(gate, 30, () => fresh.ping(45));
    expectExhausted(ping.error, 30);
    expect(ping.ms).toBeLessThan(300);
    // Within budget the same code answers.
    const ok = await instantiate(metered, gate.imports);
    gate.arm(5000);
    try {
      expect(ok.fib(20)).toBe(6765);
      expect(ok.ping(10)).toBe(1024);
    } finally {
      gate.disarm();
    }
  });

  it('stops a guest that catches the exception (the next check traps); run() reports FuelExhausted', async () => {
    // Wasm exception handling catches JavaScript exceptions thrown by imports, but not traps.
    const metered = await meterModule(
      wat(`(module
        (func $spin (loop $l (br $l)))
        (func (export "stubborn") (loop $again (try (do (call $spin)) (catch_all)) (br $again)))
        (func (export "swallow") (result i32) (try (result i32) (do (call $spin) (i32.const 0)) (catch_all (i32.const 7))))
        (func (export "quick") (result i32) (i32.const 5)))`),
    );
    const gate = createFuelGate();
    const guest = await instantiate(metered, gate.imports);
    const start = performance.now();
    let error: unknown;
    try {
      gate.run(40, () => guest.stubborn());
    } catch (err) {
      error = err;
    }
    expectExhausted(error, 40);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(((error as Error).cause as Error).message).toMatch(/unreachable/);
    expect(performance.now() - start).toBeLessThan(400);
    expect(gate.exhausted).toBe(true);
    // Caught and returned normally: the result is not trusted.
    const other = await instantiate(metered, gate.imports);
    expect(() => gate.run(40, () => other.swallow())).toThrow(FuelExhausted);
    expect(gate.run(40, () => other.quick())).toBe(5);
    expect(gate.exhausted).toBe(false);
  });

  it('calls the check once per interval, and a disarmed gate neither reads the clock nor throws', async () => {
    const metered = await meterModule(
      wat(`(module (func (export "count") (param $n i32) (result i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $i)))`),
      { interval: 1000 },
    );
    let clockReads = 0;
    const gate = createFuelGate(() => {
      clockReads++;
      return performance.now();
    });
    let checks = 0;
    const guest = await instantiate(metered, {
      [FUEL_IMPORT_MODULE]: {
        [FUEL_IMPORT_NAME]: () => {
          checks++;
          return gate.imports[FUEL_IMPORT_MODULE][FUEL_IMPORT_NAME]();
        },
      },
    });
    expect(guest.count(1_000_000)).toBe(1_000_000);
    // 1e6 loop iterations plus the call's entry and exit: one check per 1000 units.
    expect(checks).toBe(1000);
    expect(clockReads).toBe(0);
    gate.arm(10_000);
    // Arming reads no clock: the first check of the call starts the budget.
    expect(clockReads).toBe(0);
    expect(guest.count(1_000_000)).toBe(1_000_000);
    expect(checks).toBe(2000);
    expect(clockReads).toBe(1000);
    gate.disarm();
  });
});

describe('metered modules behave like the original', () => {
  // Memory, data, an imported function and global, exported mutable global, table + call_indirect,
  // a start function, br_table, an early return from a loop, i64 and f64 arithmetic.
  const original = wat(`(module
    (import "host" "note" (func $note (param i32)))
    (import "host" "base" (global $base i32))
    (memory (export "mem") 1 4)
    (data (i32.const 16) "hello, fuel")
    (global $calls (export "calls") (mut i32) (i32.const 0))
    (global $started (mut i32) (i32.const 0))
    (table (export "tbl") 3 funcref)
    (elem (i32.const 0) $double $square $negate)
    (type $unary (func (param i32) (result i32)))
    (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
    (func $negate (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
    (func $init (global.set $started (i32.add (global.get $base) (i32.const 1))))
    (start $init)
    (func (export "started") (result i32) (global.get $started))
    (func (export "apply") (param $f i32) (param $x i32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (call_indirect (type $unary) (local.get $x) (local.get $f)))
    (func (export "checksum") (param $ptr i32) (param $len i32) (result i32) (local $h i32) (local $i i32)
      (local.set $h (i32.const 5381))
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 33))
                               (i32.load8_u (i32.add (local.get $ptr) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $h))
    (func (export "fill") (param $ptr i32) (param $len i32) (param $seed i32) (local $i i32)
      (loop $l (if (i32.lt_u (local.get $i) (local.get $len)) (then
        (i32.store8 (i32.add (local.get $ptr) (local.get $i)) (i32.add (local.get $seed) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
      (call $note (local.get $len)))
    (func (export "find") (param $ptr i32) (param $len i32) (param $byte i32) (result i32) (local $i i32)
      (loop $l (if (i32.lt_u (local.get $i) (local.get $len)) (then
        (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (local.get $byte))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
      (i32.const -1))
    (func (export "classify") (param $x i32) (result i32)
      (block $other (block $two (block $one (block $zero
        (br_table $zero $one $two $other (local.get $x)))
        (return (i32.const 100))) (return (i32.const 101))) (return (i32.const 102)))
      (i32.const 199))
    (func (export "factorial") (param $n i64) (result i64) (local $acc i64)
      (local.set $acc (i64.const 1))
      (loop $l (if (i64.gt_u (local.get $n) (i64.const 1)) (then
        (local.set $acc (i64.mul (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $l))))
      (local.get $acc))
    (func (export "harmonic") (param $n i32) (result f64) (local $s f64) (local $i i32)
      (loop $l (if (i32.lt_u (local.get $i) (local.get $n)) (then
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $s (f64.add (local.get $s) (f64.div (f64.const 1) (f64.convert_i32_u (local.get $i)))))
        (br $l))))
      (local.get $s)))`);

  /** Runs the same script against an instance and records everything observable. */
  async function observe(bytes: Uint8Array, extra: object): Promise<unknown[]> {
    const notes: number[] = [];
    const ex = await instantiate(bytes, {
      host: { note: (n: number) => notes.push(n), base: new WA.Global({ value: 'i32', mutable: false }, 41) },
      ...extra,
    });
    const out: unknown[] = [ex.started()];
    out.push(ex.checksum(16, 11), ex.find(16, 11, 0x66), ex.find(16, 11, 0x7a));
    ex.fill(1000, 5000, 7);
    out.push(ex.checksum(1000, 5000), ex.find(1000, 5000, 200));
    for (let f = 0; f < 3; f++) out.push(ex.apply(f, 12), ex.apply(f, -5));
    out.push(ex.calls.value);
    for (const x of [-1, 0, 1, 2, 3, 1000]) out.push(ex.classify(x));
    out.push(ex.factorial(20n), ex.factorial(0n), ex.harmonic(100000));
    out.push(ex.tbl.length, ex.mem.buffer.byteLength, notes);
    expect(() => ex.apply(3, 1)).toThrow();
    return out;
  }

  it('gives the same results with a tiny and with the default interval', async () => {
    const expected = await observe(original, {});
    expect(expected[0]).toBe(42);
    for (const interval of [3, DEFAULT_FUEL_INTERVAL]) {
      const metered = await meterModule(original, { interval });
      const gate = createFuelGate();
      gate.arm(60_000);
      try {
        expect(await observe(metered, gate.imports)).toEqual(expected);
      } finally {
        gate.disarm();
      }
    }
  });

  it('keeps imports and exports, adding only the fuel check import', async () => {
    const a = await WA.compile(original);
    const b = await WA.compile(await meterModule(original));
    expect(WA.Module.exports(b)).toEqual(WA.Module.exports(a));
    // No name section in, none out (binaryen would otherwise add its own).
    expect(WA.Module.customSections(b, 'name')).toHaveLength(0);
    const key = (d: Descriptor) => `${d.module}.${d.name}:${d.kind}`;
    expect(WA.Module.imports(b).map(key).sort()).toEqual(
      [...WA.Module.imports(a).map(key), `${FUEL_IMPORT_MODULE}.${FUEL_IMPORT_NAME}:function`].sort(),
    );
  });

  it('meters several modules at once, each answer going to its caller', async () => {
    const mods = [1, 2, 3, 4].map((k) =>
      wat(`(module (func (export "k") (result i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const ${k * 100}))))
        (i32.add (local.get $i) (i32.const ${k}))))`),
    );
    const metered = await Promise.all(mods.map((m) => meterModule(m, { interval: 7 })));
    const gate = createFuelGate();
    const answers = await Promise.all(metered.map(async (m) => (await instantiate(m, gate.imports)).k()));
    expect(answers).toEqual([101, 202, 303, 404]);
  });

  it('keeps a name section the module has', async () => {
    const saved = binaryen.getDebugInfo();
    binaryen.setDebugInfo(true);
    let named: Uint8Array;
    try {
      named = wat('(module (func $answer (export "answer") (result i32) (i32.const 42)))');
    } finally {
      binaryen.setDebugInfo(saved);
    }
    const metered = await WA.compile(await meterModule(named));
    expect(WA.Module.customSections(metered, 'name')).toHaveLength(1);
    expect((await WA.instantiate(metered, createFuelGate().imports)).exports.answer()).toBe(42);
  });

  it('returns function-less modules as they are, and they instantiate with the extra import offered', async () => {
    const noCode = wat(`(module (import "env" "f" (func $f)) (export "f" (func $f))
      (memory (export "m") 1) (global (export "g") i32 (i32.const 7)))`);
    const out = await meterModule(noCode);
    expect(out).toBe(noCode);
    const gate = createFuelGate();
    const ex = await instantiate(out, { env: { f: () => {} }, ...gate.imports });
    expect(ex.g.value).toBe(7);
  });

  it('does not meter a module twice, and rejects bad input and bad intervals', async () => {
    const once = await meterModule(wat('(module (func (export "f") (result i32) (i32.const 1)))'));
    expect([...(await meterModule(once))]).toEqual([...once]);
    await expect(meterModule(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).rejects.toThrow(/not a core wasm module/);
    // A code section that claims one body and holds garbage.
    const broken = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 5, 1, 3, 0, 0xff, 0x0b]);
    await expect(meterModule(broken)).rejects.toThrow(/cannot read wasm module/);
    await expect(meterModule(once, { interval: 0 })).rejects.toThrow(RangeError);
    await expect(meterModule(once, { interval: 1.5 })).rejects.toThrow(RangeError);
    // The worker recovers after a failure.
    const after = await meterModule(wat('(module (func (export "g") (result i32) (i32.const 2)))'));
    expect((await instantiate(after, createFuelGate().imports)).g()).toBe(2);
  });
});

describe('committed filter components', () => {
  let tmp: string;
  beforeAll(async () => {
    enableWasmFeatures();
    tmp = await mkdtemp(join(tmpdir(), 'robustmq-fuel-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const loads = new Map<string, ReturnType<typeof loadUncached>>();
  /** {@link loadUncached}, once per component and mode. */
  function load(path: string, metered: boolean): ReturnType<typeof loadUncached> {
    const key = `${metered}:${path}`;
    if (!loads.has(key)) loads.set(key, loadUncached(path, metered));
    return loads.get(key) as ReturnType<typeof loadUncached>;
  }

  /** Transpiles a component, meters every core module and reports how long metering took. */
  async function loadUncached(path: string, metered: boolean) {
    const bytes = await readFile(path);
    const t = await transpileCached(bytes, sha256Hex(bytes), join(tmp, 'cache'));
    const modules: Record<string, object> = {};
    let meterMs = 0;
    let coreBytes = 0;
    for (const name of t.coreModules) {
      const core = await readFile(join(t.dir, name));
      coreBytes += core.length;
      const start = performance.now();
      const out = metered ? await meterModule(core) : core;
      meterMs += performance.now() - start;
      // As compileCoreModules does: the memory cap is written into the (metered) bytes.
      modules[name] = await WA.compile(capMemory(out, pagesFor(64)));
    }
    const glue = (await import(pathToFileURL(t.modulePath).href)) as { instantiate: Instantiate };
    return { modules, glue, meterMs, coreBytes, cores: t.coreModules.length };
  }

  /** A configured instance; jco's core instantiation gets the gate's imports merged in. */
  async function start(loaded: Awaited<ReturnType<typeof load>>, gate: FuelGate, config: string): Promise<Guest> {
    const withFuel: Instantiate = (getCoreModule, imports, instantiateCore) =>
      loaded.glue.instantiate(getCoreModule, imports, (module, coreImports) =>
        (instantiateCore ?? WA.instantiate)(module, { ...coreImports, ...gate.imports }),
      );
    const guest = await instantiateGuest(withFuel, loaded.modules, await sandboxImports({}, () => {}));
    guest.exports.configure(config);
    return guest;
  }

  const wire = (payload: string): WireMessage => ({
    topic: 'logs/app',
    payload: Buffer.from(payload),
    headers: {},
    timestamp: 1_764_000_000_000,
    protocol: 'mqtt',
    clientId: 'c1',
  });
  const batch = [wire('{"level":"debug","m":1}'), wire('{"level":"info","m":2}'), wire('not json')];

  it.each([
    ['drop-debug-as', 'examples/filters/drop-debug-as/build/filter.wasm'],
    ['drop-debug (QuickJS)', 'examples/filters/drop-debug/build/filter.wasm'],
  ])('%s: metered cores compile, instantiate and filter as before', async (label, rel) => {
    const loaded = await load(join(repoRoot, rel), true);
    process.stdout.write(
      `[fuel] ${label}: metered ${loaded.cores} core modules (${loaded.coreBytes} bytes) in ${loaded.meterMs.toFixed(0)} ms\n`,
    );
    const gate = createFuelGate();
    const guest = await start(loaded, gate, 'debug');
    const verdicts = timed(gate, 1000, () => runBatch(guest, batch));
    expect(verdicts.error).toBeUndefined();
    const plain = await start(await load(join(repoRoot, rel), false), createFuelGate(), 'debug');
    const expected = runBatch(plain, batch);
    expect(expected[0]).toEqual([1, 'level=debug']);
    gate.arm(1000);
    try {
      expect(runBatch(guest, batch)).toEqual(expected);
    } finally {
      gate.disarm();
    }
  });

  it('stops the QuickJS loop fixture in the broker thread; a fresh instance filters again', async () => {
    const loaded = await load(join(repoRoot, 'kernel/test/filters/fixtures/build/loop.wasm'), true);
    const gate = createFuelGate();
    const guest = await start(loaded, gate, '');
    const { error, ms } = timed(gate, 100, () => runBatch(guest, [wire('loop')]));
    expectExhausted(error, 100);
    process.stdout.write(`[fuel] QuickJS loop fixture, budget 100 ms: stopped after ${ms.toFixed(1)} ms\n`);
    expect(ms).toBeLessThan(1000);
    const fresh = await start(loaded, gate, '');
    expect(timed(gate, 1000, () => expect(runBatch(fresh, [wire('fine')])).toEqual([0])).error).toBeUndefined();
  });

  it('overhead on the QuickJS drop-debug filter (measured, printed, not asserted)', async () => {
    const path = join(repoRoot, 'examples/filters/drop-debug/build/filter.wasm');
    const gate = createFuelGate();
    const metered = await start(await load(path, true), gate, 'debug');
    const plain = await start(await load(path, false), createFuelGate(), 'debug');
    const big = Array.from({ length: 64 }, (_, i) =>
      wire(`{"level":"${i % 4 === 0 ? 'debug' : 'info'}","seq":${i},"text":"some payload text"}`),
    );
    const expected = runBatch(plain, big);
    // Best of 8 alternating rounds of 40 batches, after a warm-up that lets V8 tier up both.
    const round = (g: Guest) => {
      const t = performance.now();
      for (let i = 0; i < 40; i++) runBatch(g, big);
      return ((performance.now() - t) / (40 * big.length)) * 1000;
    };
    gate.arm(60_000);
    try {
      expect(runBatch(metered, big)).toEqual(expected);
      for (let i = 0; i < 5; i++) {
        round(plain);
        round(metered);
      }
      let a = Number.POSITIVE_INFINITY;
      let b = Number.POSITIVE_INFINITY;
      for (let r = 0; r < 8; r++) {
        a = Math.min(a, round(plain));
        b = Math.min(b, round(metered));
      }
      process.stdout.write(
        `[fuel] QuickJS drop-debug, batches of 64: plain ${a.toFixed(2)} us/msg, metered ${b.toFixed(2)} us/msg, x${(b / a).toFixed(2)}\n`,
      );
    } finally {
      gate.disarm();
    }
  });
});

describe('overhead (measured, printed, not asserted)', () => {
  it('tight loop, metered vs not', async () => {
    const count = wat(`(module (func (export "count") (param $n i32) (result i32) (local $i i32)
      (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i)))`);
    const gate = createFuelGate();
    const plain = await instantiate(count);
    const metered = await instantiate(await meterModule(count), gate.imports);
    const n = 50_000_000;
    const best = (f: () => unknown) => {
      let min = Number.POSITIVE_INFINITY;
      for (let r = 0; r < 5; r++) {
        const t = performance.now();
        expect(f()).toBe(n);
        min = Math.min(min, performance.now() - t);
      }
      return min;
    };
    const a = best(() => plain.count(n));
    gate.arm(60_000);
    const b = best(() => metered.count(n));
    gate.disarm();
    process.stdout.write(
      `[fuel] empty loop, ${n} iterations: plain ${a.toFixed(1)} ms (${((a / n) * 1e6).toFixed(2)} ns/iter), ` +
        `metered ${b.toFixed(1)} ms (${((b / n) * 1e6).toFixed(2)} ns/iter), x${(b / a).toFixed(2)}\n`,
    );
  });
});
