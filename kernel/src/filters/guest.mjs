// Instantiates a transpiled filter component and converts between broker messages and the
// WIT types of robustmq:filter. Plain JavaScript because it also runs inside the filter worker
// thread, which loads no TypeScript. Types: guest.d.mts.
import { Buffer, isUtf8 } from 'node:buffer';
import { bindCoreFilter } from './direct-abi.mjs';

/** Error a denied capability raises inside the guest; the message names the interface and call. */
export class CapabilityDenied extends Error {
  constructor(iface, member) {
    super(`capability ${iface} not granted (the filter called ${member}); fix: add it to the filter entry's grants`);
    this.name = 'CapabilityDenied';
  }
}

const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/** An import object for one WASI interface whose every member throws CapabilityDenied. */
function denied(iface) {
  return new Proxy(
    {},
    {
      get(_, member) {
        if (typeof member === 'symbol') return undefined;
        // A function also stands in for resource classes (jco only uses them with instanceof).
        return function deniedCapability() {
          throw new CapabilityDenied(iface, String(member));
        };
      },
    },
  );
}

/**
 * Which granted capability unlocks an interface (`wasi:pkg/iface`), or undefined when nothing can
 * (exit, sockets, http, stdin: never granted to a filter).
 */
function capabilityOf(pkg, iface) {
  if (pkg === 'wasi:clocks') return 'clocks';
  if (pkg === 'wasi:random') return 'random';
  if (pkg === 'wasi:filesystem') return 'preopens';
  if (pkg === 'wasi:io') return 'io';
  if (pkg === 'wasi:cli') {
    // The environment is always readable but holds only the granted variables (none by default):
    // libc start-up code asks for it, and an empty list reveals nothing.
    if (iface === 'environment') return 'env';
    if (iface === 'stdout' || iface === 'stderr' || iface.startsWith('terminal-')) return 'stdio';
  }
  return undefined;
}

/**
 * Builds the import object of one instance: deny-all, except the interfaces the grants open,
 * which come from preview2-shim (loaded only when something is granted), and the world's own
 * `host` interface, whose `log` calls `hostLog(level, message)`. Each instance gets its own
 * environment and filesystem view; nothing process-wide of the shim is changed.
 */
export async function sandboxImports(grants, hostLog) {
  const shim = needsShim(grants) ? await import('@bytecodealliance/preview2-shim') : undefined;
  return sandboxImportsWith(shim, grants, hostLog);
}

/** True when the grants open anything beyond the (empty) environment, i.e. the shim is needed. */
export function needsShim(grants) {
  const g = grants ?? {};
  return Boolean(g.clocks || g.random || g.stdio || Object.keys(g.preopens ?? {}).length > 0);
}

/** {@link sandboxImports} with the shim already loaded (or undefined when nothing needs it): synchronous. */
export function sandboxImportsWith(shim, grants, hostLog) {
  const g = grants ?? {};
  const env = Object.entries(g.env ?? {});
  const preopens = g.preopens ?? {};
  const granted = new Set();
  if (g.clocks) granted.add('clocks');
  if (g.random) granted.add('random');
  if (g.stdio) granted.add('stdio');
  granted.add('env');
  if (Object.keys(preopens).length > 0) granted.add('preopens');
  // Streams and pollables are only reachable through another granted capability.
  if (granted.size > 1) granted.add('io');
  const fs = granted.has('preopens') ? shim.filesystem.createFilesystem({ preopens }) : undefined;
  const cache = new Map();
  return new Proxy(
    {},
    {
      get(_, key) {
        if (typeof key !== 'string') return undefined;
        if (cache.has(key)) return cache.get(key);
        const [pkg, ifaceWithVersion = ''] = key.split('/');
        const iface = ifaceWithVersion.split('@')[0];
        const cap = capabilityOf(pkg, iface);
        let value;
        if (pkg === 'robustmq:filter' && iface === 'host') {
          // The broker's own import: a log line, never a capability.
          value = { log: (level, message) => hostLog?.(String(level), String(message)) };
        } else if (cap && granted.has(cap)) {
          if (cap === 'env') {
            value = { getEnvironment: () => env, getArguments: () => [], initialCwd: () => undefined };
          } else if (cap === 'preopens') {
            value = fs[camel(iface)];
          } else {
            value = shim[pkg.slice(5)][camel(iface)];
          }
        }
        value ??= denied(key);
        cache.set(key, value);
        return value;
      },
      has: () => true,
    },
  );
}

/**
 * Instantiates a transpiled component. `modules` maps core module file names to compiled (and
 * memory-capped) WebAssembly.Module objects; `coreImports` (optional) is merged into every core
 * module's imports (the fuel gate of metered modules). Returns the exports plus the instance's memories,
 * so the host can tell a memory-budget failure from another trap.
 */
export async function instantiateGuest(instantiate, modules, imports, coreImports) {
  const memories = [];
  const exportsObj = await instantiate(coreModuleOf(modules), imports, async (module, moduleImports) =>
    keepMemories(await WebAssembly.instantiate(module, merge(moduleImports, coreImports)), memories),
  );
  return guestOf(exportsObj, memories);
}

/**
 * {@link instantiateGuest} done synchronously (the modules are compiled already), so an in-thread
 * runner can replace a failed instance before the next message instead of failing messages
 * while a new one is built.
 */
export function instantiateGuestSync(instantiate, modules, imports, coreImports) {
  const memories = [];
  const exportsObj = instantiate(coreModuleOf(modules), imports, (module, moduleImports) =>
    keepMemories(new WebAssembly.Instance(module, merge(moduleImports, coreImports)), memories),
  );
  if (exportsObj instanceof Promise) throw new Error('transpiled component did not instantiate synchronously');
  return guestOf(exportsObj, memories);
}

function coreModuleOf(modules) {
  return (name) => {
    const m = modules[name];
    if (!m) throw new Error(`transpiled component needs core module ${name}, which was not compiled`);
    return m;
  };
}

/** Extra core imports (the fuel check) go to every module; those that do not import them ignore them. */
function merge(moduleImports, coreImports) {
  return coreImports ? { ...moduleImports, ...coreImports } : moduleImports;
}

function keepMemories(instance, memories) {
  for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
  return instance;
}

function guestOf(exportsObj, memories) {
  if (typeof exportsObj.filter !== 'function') throw new Error('component does not export filter(batch)');
  return { exports: exportsObj, memories, direct: bindCoreFilter(exportsObj.__coreFilter) };
}

/** Largest memory of an instance in bytes. */
export function memoryBytes(memories) {
  let max = 0;
  for (const m of memories) max = Math.max(max, m.buffer.byteLength);
  return max;
}

/**
 * Converts wire messages (what the broker posts: topic, payload, key, headers object, timestamp,
 * protocol, clientId) to WIT messages.
 */
export function toWit(wire) {
  const headers = [];
  for (const name in wire.headers) {
    const v = wire.headers[name];
    headers.push({ name, value: typeof v === 'string' ? { tag: 'text', val: v } : { tag: 'bytes', val: v } });
  }
  const p = wire.payload;
  // UTF-8 payloads go over as text: the guest gets a string without decoding bytes itself,
  // which costs an interpreted loop per byte in a JS guest.
  const payload = isUtf8(p)
    ? { tag: 'text', val: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8') }
    : { tag: 'bytes', val: p };
  return {
    topic: wire.topic,
    payload,
    key: wire.key ?? undefined,
    headers,
    timestamp: BigInt(Math.max(0, Math.trunc(wire.timestamp))),
    originProtocol: wire.protocol,
    clientId: wire.clientId,
  };
}

/**
 * Converts a WIT verdict to its compact wire form: 0 (pass), [1, reason] (drop),
 * [2, topic|null, payload (string or bytes)|null, headers|null] (transform, headers as an object)
 * or [3, why] (the filter could not decide).
 * Throws on a value that is not a verdict.
 */
export function fromWit(v) {
  switch (v?.tag) {
    case 'pass':
      return 0;
    case 'drop':
      return [1, String(v.val ?? '')];
    case 'error':
      return [3, String(v.val ?? '')];
    case 'transform': {
      const r = v.val ?? {};
      let headers = null;
      if (r.headers) {
        headers = {};
        for (const h of r.headers) headers[h.name] = h.value.tag === 'text' ? h.value.val : h.value.val;
      }
      // Text payloads stay strings on the way back; the broker's thread encodes them.
      const payload = r.payload ? r.payload.val : null;
      return [2, r.topic ?? null, payload, headers];
    }
    default:
      throw new Error(`filter returned a value that is not a verdict: ${JSON.stringify(v)?.slice(0, 100)}`);
  }
}

/**
 * Runs one batch through a guest: wire messages in, wire verdicts out (one per message). Uses the
 * direct binding when the guest has one (see direct-abi.mjs), jco's glue otherwise.
 */
export function runBatch(guest, wire) {
  // The direct binding checks the verdict count itself.
  if (guest.direct) return guest.direct(wire);
  const verdicts = guest.exports.filter(wire.map(toWit));
  if (!Array.isArray(verdicts) || verdicts.length !== wire.length) {
    throw new Error(`filter returned ${Array.isArray(verdicts) ? verdicts.length : 'no'} verdicts for ${wire.length} messages`);
  }
  return verdicts.map(fromWit);
}
