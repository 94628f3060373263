/**
 * Caps the linear memories a core WebAssembly module defines. Worker `resourceLimits` do not
 * bound wasm memory, so the budget is written into the module itself: `memory.grow` past it
 * fails inside the guest (its allocator then traps), and the host stays within budget.
 */

import { readU32, writeU32 } from './leb128.js';

const PAGE = 65536;

/** Thrown when a module needs more memory at start than the budget allows. */
export class MemoryBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryBudgetError';
  }
}

/**
 * Returns a copy of `module` (a core wasm binary) whose defined memories declare a maximum of at
 * most `maxPages` 64 KiB pages. Modules without a memory section are returned unchanged.
 * Throws {@link MemoryBudgetError} when a memory's initial size is already above the budget.
 */
export function capMemory(module: Uint8Array, maxPages: number): Uint8Array {
  if (module[0] !== 0 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    throw new Error('not a core WebAssembly module');
  }
  let pos = 8;
  while (pos < module.length) {
    const id = module[pos];
    const [size, contentStart] = readU32(module, pos + 1);
    const end = contentStart + size;
    if (id === 5) {
      const rewritten = rewriteMemorySection(module.subarray(contentStart, end), maxPages);
      const header: number[] = [5];
      writeU32(rewritten.length, header);
      const out = new Uint8Array(pos + header.length + rewritten.length + (module.length - end));
      out.set(module.subarray(0, pos), 0);
      out.set(header, pos);
      out.set(rewritten, pos + header.length);
      out.set(module.subarray(end), pos + header.length + rewritten.length);
      return out;
    }
    pos = end;
  }
  return module;
}

function rewriteMemorySection(content: Uint8Array, maxPages: number): Uint8Array {
  const out: number[] = [];
  let [count, pos] = readU32(content, 0);
  writeU32(count, out);
  while (count-- > 0) {
    const flags = content[pos++];
    if (flags & 0x04) throw new MemoryBudgetError('64-bit memories are not supported by the memory budget');
    let min: number;
    let max: number | undefined;
    [min, pos] = readU32(content, pos);
    if (flags & 0x01) [max, pos] = readU32(content, pos);
    if (min > maxPages) {
      throw new MemoryBudgetError(
        `the component needs ${((min * PAGE) / 2 ** 20).toFixed(1)} MiB of memory at start, above memoryBudgetMb ${((maxPages * PAGE) / 2 ** 20).toFixed(1)}`,
      );
    }
    const capped = max === undefined ? maxPages : Math.min(max, maxPages);
    out.push(flags | 0x01);
    writeU32(min, out);
    writeU32(capped, out);
  }
  return new Uint8Array(out);
}

/** Pages in a budget of `mb` MiB (at least one). */
export function pagesFor(mb: number): number {
  return Math.max(1, Math.floor((mb * 2 ** 20) / PAGE));
}
