import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import v8 from 'node:v8';
import { DEFAULT_FUEL_INTERVAL, meterModule } from './fuel.js';
import { capMemory } from './memory-limit.js';
import { type WasmModule, wasmApi } from './wasm-api.js';

/** Bumped when the transpile options below change, so old cache entries are not reused. */
const CACHE_FORMAT = 'jco-transpile-0.15.0-v4';

/** A transpiled component on disk. */
export interface TranspiledComponent {
  /** Directory holding `filter.js` and the core `*.wasm` files. */
  dir: string;
  /** Absolute path of the generated ES module. */
  modulePath: string;
  /** Core module file names. */
  coreModules: string[];
  /** True when it came from the cache. */
  cached: boolean;
}

let flagsSet = false;

/**
 * QuickJS-built components use the extended-const proposal, which Node 20 only compiles behind a
 * V8 flag (NODE_OPTIONS refuses it). Setting it before the first compile is enough; it is
 * process-wide and harmless for other modules.
 */
export function enableWasmFeatures(): void {
  if (flagsSet) return;
  v8.setFlagsFromString('--experimental-wasm-extended-const');
  flagsSet = true;
}

/**
 * Transpiles a component with jco into `cacheDir/<sha256 of the component>-<format>/`, or reuses
 * that directory when it exists. Writes go to a temporary directory renamed into place, so a
 * crash or a concurrent broker never leaves a half-written entry.
 */
export async function transpileCached(component: Uint8Array, sha256: string, cacheDir: string): Promise<TranspiledComponent> {
  const dir = join(cacheDir, `${sha256}-${CACHE_FORMAT}`);
  const modulePath = join(dir, 'filter.js');
  if (existsSync(modulePath)) {
    const coreModules = (await readdir(dir)).filter((f) => f.endsWith('.wasm'));
    return { dir, modulePath, coreModules, cached: true };
  }
  // Loaded lazily: a broker without WASM filters never pays for the transpiler.
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  const result = await transpileBytes(component, {
    name: 'filter',
    instantiation: 'async',
    noComponentErrorWrapping: true,
    emitTypescriptDeclarations: false,
    base64Cutoff: 0,
  });
  await mkdir(cacheDir, { recursive: true });
  const tmp = await mkdtemp(join(cacheDir, '.tmp-'));
  try {
    // The directory is outside any package: mark the generated code as an ES module.
    await writeFile(join(tmp, 'package.json'), '{"type":"module"}\n');
    for (const [name, bytes] of Object.entries(result.files)) {
      await writeFile(join(tmp, name), name === 'filter.js' ? patchGlue(Buffer.from(bytes).toString('utf8')) : bytes);
    }
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another process cached the same component first: use theirs.
      if (!existsSync(modulePath)) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const coreModules = Object.keys(result.files).filter((f) => f.endsWith('.wasm'));
  return { dir, modulePath, coreModules, cached: false };
}

/**
 * Compiles a transpiled component's core modules with every defined memory capped at
 * `maxPages`. The compiled modules can be posted to worker threads, so a restarted worker does
 * not compile again.
 */
export async function compileCoreModules(
  t: TranspiledComponent,
  maxPages: number,
  opts: { fuel?: boolean } = {},
): Promise<Record<string, WasmModule>> {
  enableWasmFeatures();
  const out: Record<string, WasmModule> = {};
  for (const name of t.coreModules) {
    const bytes = opts.fuel ? await meteredCore(t.dir, name) : await readFile(join(t.dir, name));
    out[name] = await wasmApi.compile(capMemory(bytes, maxPages));
  }
  return out;
}

/**
 * A core module with fuel metering (see fuel.ts), kept next to the transpiled one: metering a
 * large core (QuickJS: ~1 s) is done once per component, like the transpile.
 */
async function meteredCore(dir: string, name: string): Promise<Uint8Array> {
  // In a subdirectory, so a cache hit's listing of core modules (`*.wasm` in `dir`) stays the same.
  const fuelDir = join(dir, `fuel-${DEFAULT_FUEL_INTERVAL}`);
  const cached = join(fuelDir, name);
  if (existsSync(cached)) return readFile(cached);
  const metered = await meterModule(await readFile(join(dir, name)));
  await mkdir(fuelDir, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  await writeFile(tmp, metered);
  await rename(tmp, cached);
  return metered;
}

const DEBUG_LOG = `const _debugLog = (...args) => {
    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }
    console.debug(...args);
  };`;

/** jco's UTF-8 length loop: one interpreted step per UTF-16 unit of every string lowered. */
const UTF8_LENGTH_LOOP =
  /let len = 0;\s*let codepoints = 0;\s*for \(let i = 0; i < s\.length; i\+\+\) \{[\s\S]*?\} else \{ len \+= 3; \}\s*\}/;

/**
 * Two speed-ups to jco's generated glue, each applied only when the code has the exact expected
 * shape (otherwise it is left as generated):
 * - it reads `process.env.JCO_DEBUG` on every internal step of every call (an environment read is a
 *   C++ call): decide it once at load;
 * - it measures each string's UTF-8 length in a JavaScript loop before encoding it (most of the
 *   cost of a 4 KiB text payload): ask Buffer.byteLength, which gives the same count natively.
 */
function patchGlue(code: string): string {
  let out = code;
  if (out.includes(DEBUG_LOG)) {
    out = out.replace(
      DEBUG_LOG,
      'const _debugLog = globalThis?.process?.env?.JCO_DEBUG ? (...args) => console.debug(...args) : () => {};',
    );
  }
  out = out.replace(UTF8_LENGTH_LOOP, "const len = Buffer.byteLength(s, 'utf8');\n    const codepoints = s.length;");
  return exposeCoreFilter(out);
}

/**
 * Adds `__coreFilter` to the component's exports: the core function behind the `filter` export with
 * the realloc, memory and post-return its canonical options name, read from jco's own lowering code
 * (so a component with other options or layouts simply does not get it). direct-abi.mjs calls it
 * without jco's per-call task bookkeeping, which costs more than a small filter itself. Components
 * composed of nested components (e.g. QuickJS builds) need that bookkeeping and keep jco's path.
 */
export function exposeCoreFilter(code: string, opts: { evenNested?: boolean } = {}): string {
  // A component made of nested components enters each inner one through a task jco tracks: those
  // keep jco's own entry point (`evenNested` is for tests that compare the two paths).
  if (!opts.evenNested && /= _symmetricSyncGuestCallEnter;/.test(code)) return code;
  const start = code.indexOf('function filter(arg0) {');
  const end = start < 0 ? -1 : code.indexOf('\n    }\n', start);
  if (end < 0) return code;
  const body = code.slice(start, end);
  const realloc = /var result\d+ = (realloc\d+)\(0, 0, 8, len\d+ \* 64\);/.exec(body)?.[1];
  const memory = /_utf8AllocateAndEncode\(v0_0, realloc\d+, (memory\d+)\)/.exec(body)?.[1];
  const call = /fn: \(\) => (exports\d+Filter)\(result\d+, len\d+\)/.exec(body)?.[1];
  const postReturn = /(postReturn\d+)\(ret\);/.exec(body)?.[1];
  const verdictLayout = /const base = base\d+ \+ i \* 44;/.test(body);
  const ret = /return \{ configure, filter,([\w\s,]*)\};/;
  if (!realloc || !memory || !call || !postReturn || !verdictLayout || !ret.test(code)) return code;
  return code.replace(
    ret,
    (_, rest: string) =>
      `return { configure, filter,${rest.trimEnd()} __coreFilter: { call: ${call}, realloc: ${realloc}, memory: ${memory}, postReturn: ${postReturn} } };`,
  );
}

/** sha256 of bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
