// The binaryen half of fuel metering (see fuel.ts). Plain JavaScript because it runs in a worker
// thread started without the broker's TypeScript loader: under tsx's loader hooks, importing
// binaryen's 13 MB index.js takes ~6.5 s instead of ~0.35 s, and instrumenting a large core
// (~1 s for a 1.3 MB QuickJS core) would otherwise block the broker's thread.
import { parentPort } from 'node:worker_threads';

/** Name of the function binaryen's `log-execution` pass calls at every point we meter. */
const PROBE = 'log_execution';

/**
 * Instruments `bytes` (a core module that defines functions) with a fuel countdown; see
 * meterModule in fuel.ts for the contract. Returns `bytes` itself when the module already imports
 * the check. Binaryen's process-wide settings are restored before returning.
 *
 * @param {any} binaryen the binaryen.js module
 * @param {Uint8Array} bytes
 * @param {{ interval: number, importModule: string, importName: string, keepNames: boolean }} opts
 *   `interval`: units between two host checks; `keepNames`: write a name section (do so only when
 *   the input has one, or binaryen adds names of its own)
 * @returns {Uint8Array}
 */
export function instrument(binaryen, bytes, { interval, importModule, importName, keepNames }) {
  const saved = {
    debugInfo: binaryen.getDebugInfo(),
    alwaysInline: binaryen.getAlwaysInlineMaxSize(),
    noInline: binaryen.getPassArgument('no-inline'),
  };
  let module;
  try {
    // Keep a name section: stack traces of a trapped guest stay readable.
    binaryen.setDebugInfo(keepNames);
    try {
      module = binaryen.readBinaryWithFeatures(bytes, binaryen.Features.All);
    } catch (err) {
      throw asError('cannot read wasm module for fuel metering', err);
    }
    if (importsFunction(binaryen, module, importModule, importName)) return bytes;
    if (module.getFunction(PROBE)) throw new Error(`cannot meter a module that already defines a function named ${PROBE}`);
    const fuel = freshName((n) => module.getGlobal(n) !== 0, 'robustmq_fuel');
    const check = freshName((n) => module.getFunction(n) !== 0, 'robustmq_fuel_check');
    try {
      // Calls PROBE(id) at function entries and exits, before each `return` and at each loop top.
      module.runPasses(['log-execution']);
      // Mark every guest function as not inlinable before PROBE gets a body: the inlining below
      // then inlines PROBE and nothing else, leaving the guest's own code as it was.
      binaryen.setPassArgument('no-inline', '*');
      module.runPasses(['no-inline']);
      module.removeFunction(PROBE);
      module.addFunctionImport(check, importModule, importName, binaryen.none, binaryen.i32);
      module.addGlobal(fuel, binaryen.i32, true, module.i32.const(interval));
      const left = () => module.global.get(fuel, binaryen.i32);
      // PROBE's id argument is unused. The check throws (a JavaScript exception, which a guest
      // with exception handling can catch) or returns 1, and then the probe traps: a trap is
      // not catchable by wasm code. The refill comes first so a guest that caught the exception
      // is checked again after `interval` more units.
      module.addFunction(
        PROBE,
        binaryen.i32,
        binaryen.none,
        [],
        module.block(null, [
          module.global.set(fuel, module.i32.sub(left(), module.i32.const(1))),
          module.if(
            module.i32.le_s(left(), module.i32.const(0)),
            module.block(null, [
              module.global.set(fuel, module.i32.const(interval)),
              module.if(module.call(check, [], binaryen.i32), module.unreachable()),
            ]),
          ),
        ]),
      );
      // A call per unit costs ~15x an empty loop iteration; inlined, the countdown costs ~1x.
      binaryen.setAlwaysInlineMaxSize(1000);
      module.runPasses(['inlining']);
      return module.emitBinary();
    } catch (err) {
      throw asError('cannot meter wasm module', err);
    }
  } finally {
    module?.dispose();
    binaryen.setDebugInfo(saved.debugInfo);
    binaryen.setAlwaysInlineMaxSize(saved.alwaysInline);
    binaryen.setPassArgument('no-inline', saved.noInline);
  }
}

/** Binaryen (compiled C++) throws plain objects: wrap them in an Error that says what failed. */
function asError(what, err) {
  if (err instanceof Error) return err;
  return new Error(`${what}: binaryen rejected it`, { cause: err });
}

function freshName(taken, base) {
  let name = base;
  for (let i = 1; taken(name); i++) name = `${base}_${i}`;
  return name;
}

function importsFunction(binaryen, module, importModule, importName) {
  for (let i = 0, n = module.getNumFunctions(); i < n; i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module === importModule && info.base === importName) return true;
  }
  return false;
}

/**
 * Worker entry: loads binaryen and answers `{ id, bytes, opts }` requests (opts as for
 * instrument) with `{ id, bytes }` or `{ id, error }`.
 */
export async function serve() {
  const port = parentPort;
  if (!port) throw new Error('fuel-meter serve() must run in a worker thread');
  const binaryen = (await import('binaryen')).default;
  port.on('message', (req) => {
    try {
      const out = instrument(binaryen, req.bytes, req.opts);
      port.postMessage({ id: req.id, bytes: out });
    } catch (err) {
      port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  port.postMessage({ ready: true });
}
