// Unit tests of the filter runtime's pure parts: memory capping, topic scoping, entry schema.
import { describe, expect, it } from 'vitest';

// The project compiles without the DOM lib, where the WebAssembly namespace is declared.
const WebAssembly = (
  globalThis as unknown as {
    WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: object } };
  }
).WebAssembly;
import { CapabilityDenied, sandboxImports } from '../../src/filters/guest.mjs';
import { capMemory, filterEntrySchema, MemoryBudgetError, pagesFor, topicMatches } from '../../src/filters/index.js';

/** A minimal core module: header + one memory section declaring (min, max?). */
function moduleWithMemory(min: number, max?: number): Uint8Array {
  const limits = max === undefined ? [0x00, min] : [0x01, min, max];
  const content = [1, ...limits];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 5, content.length, ...content]);
}

describe('capMemory', () => {
  it('adds a maximum to a memory without one', () => {
    const out = capMemory(moduleWithMemory(1), 16);
    expect([...out.subarray(8)]).toEqual([5, 4, 1, 0x01, 1, 16]);
    expect(new WebAssembly.Module(out)).toBeDefined();
  });

  it('lowers a larger maximum and keeps a smaller one', () => {
    expect([...capMemory(moduleWithMemory(1, 100), 16).subarray(8)]).toEqual([5, 4, 1, 0x01, 1, 16]);
    expect([...capMemory(moduleWithMemory(1, 8), 16).subarray(8)]).toEqual([5, 4, 1, 0x01, 1, 8]);
  });

  it('writes multi-byte LEB128 sizes and the grown module still compiles', () => {
    const out = capMemory(moduleWithMemory(2), pagesFor(64));
    expect(pagesFor(64)).toBe(1024);
    const memory = new WebAssembly.Instance(new WebAssembly.Module(out)).exports;
    expect(memory).toBeDefined();
    expect([...out.subarray(8)]).toEqual([5, 5, 1, 0x01, 2, 0x80, 0x08]);
  });

  it('refuses a module whose initial memory exceeds the budget', () => {
    expect(() => capMemory(moduleWithMemory(20), 16)).toThrow(MemoryBudgetError);
  });

  it('leaves a module without memory unchanged', () => {
    const bare = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(capMemory(bare, 16)).toBe(bare);
  });
});

describe('topicMatches', () => {
  it.each([
    ['#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+/c', 'a/x/c', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['+/x', '$SYS/x', false],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('filterEntrySchema', () => {
  it('fills defaults: every topic, no grants, pass on failure', () => {
    const e = filterEntrySchema.parse({ wasm: 'f.wasm' });
    expect(e).toMatchObject({
      topics: ['#'],
      config: '',
      failurePolicy: 'pass',
      isolation: 'in-thread',
      grants: { clocks: false, random: false, stdio: false, env: {}, preopens: {} },
    });
    // The broker's thread waits on an in-thread call: a shorter budget than a worker's.
    expect(e.timeBudgetMs).toBe(250);
    expect(filterEntrySchema.parse({ wasm: 'f.wasm', isolation: 'worker' }).timeBudgetMs).toBe(1000);
    expect(filterEntrySchema.parse({ module: 'f.mjs' }).timeBudgetMs).toBe(1000);
    expect(filterEntrySchema.parse({ wasm: 'f.wasm', timeBudgetMs: 40 }).timeBudgetMs).toBe(40);
    expect(e.batchSize).toBeGreaterThan(1);
  });

  it('rejects unknown fields and a malformed sha256', () => {
    expect(filterEntrySchema.safeParse({ wasm: 'f.wasm', topic: 'x' }).success).toBe(false);
    expect(filterEntrySchema.safeParse({ wasm: 'f.wasm', sha256: 'abc' }).success).toBe(false);
    expect(filterEntrySchema.safeParse({ wasm: 'f.wasm', grants: { network: true } }).success).toBe(false);
  });
});

describe('sandboxImports', () => {
  type Iface = Record<string, (...a: unknown[]) => unknown>;
  const get = (imports: object, key: string) => (imports as Record<string, Iface>)[key];

  it('denies every WASI interface by default, naming it, and offers an empty environment', async () => {
    const imports = await sandboxImports(undefined);
    expect(() => get(imports, 'wasi:filesystem/preopens').getDirectories()).toThrow(CapabilityDenied);
    expect(() => get(imports, 'wasi:filesystem/preopens').getDirectories()).toThrow(/wasi:filesystem\/preopens not granted/);
    expect(() => get(imports, 'wasi:clocks/wall-clock').now()).toThrow(CapabilityDenied);
    expect(() => get(imports, 'wasi:random/random').getRandomBytes(4n)).toThrow(CapabilityDenied);
    expect(() => get(imports, 'wasi:cli/stdout').getStdout()).toThrow(CapabilityDenied);
    expect(get(imports, 'wasi:cli/environment').getEnvironment()).toEqual([]);
  });

  it('opens only what is granted; exit and sockets stay closed', async () => {
    const logged: string[] = [];
    const imports = await sandboxImports({ clocks: true, env: { MODE: 'test' } }, (level, message) =>
      logged.push(`${level}:${message}`),
    );
    expect(get(imports, 'wasi:cli/environment').getEnvironment()).toEqual([['MODE', 'test']]);
    expect(typeof get(imports, 'wasi:clocks/wall-clock').now()).toBe('object');
    expect(() => get(imports, 'wasi:random/random').getRandomBytes(4n)).toThrow(CapabilityDenied);
    expect(() => get(imports, 'wasi:cli/exit').exit({ tag: 'ok' })).toThrow(CapabilityDenied);
    expect(() => get(imports, 'wasi:sockets/tcp-create-socket').createTcpSocket('ipv4')).toThrow(CapabilityDenied);
    get(imports, 'robustmq:filter/host').log('warn', 'hello');
    expect(logged).toEqual(['warn:hello']);
  });
});
