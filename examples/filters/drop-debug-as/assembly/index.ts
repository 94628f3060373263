// The drop-debug rule filter in AssemblyScript: drops messages whose JSON payload has a "level"
// listed in the config (comma-separated, default "debug").
//
// There is no wit-bindgen for AssemblyScript, so this file speaks the component model's canonical
// ABI for sdk/wit/filter.wit by hand: it reads the `list<message>` the host lowered into linear
// memory and writes a `list<verdict>` back. No AssemblyScript objects are allocated (runtime
// "stub"); a bump arena holds per-call data and is reset in the post-return functions.

// ---- memory: a bump arena from the heap base, reset after each call ----

let top: usize = 0;

function alloc(size: usize, align: usize): usize {
  if (top === 0) top = __heap_base;
  const ptr = (top + align - 1) & ~(align - 1);
  const end = ptr + size;
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) unreachable(); // over the broker's memory budget
  }
  top = end;
  return ptr;
}

/** The host allocates the arguments it lowers through this export. */
export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  const ptr = alloc(newSize, align);
  if (oldPtr !== 0) memory.copy(ptr, oldPtr, oldSize < newSize ? oldSize : newSize);
  return ptr;
}

function reset(): void {
  top = __heap_base;
}

export function cabi_post_filter(_ret: usize): void {
  reset();
}

export function cabi_post_configure(_ret: usize): void {
  reset();
}

// ---- configure: keep the level list in static memory (the arena is reset afterwards) ----

const LEVELS_CAP: usize = 256;
const levels = memory.data(256);
let levelsLen: usize = 0;
const DEFAULT = memory.data<u8>([0x64, 0x65, 0x62, 0x75, 0x67]); // "debug"
const TOO_LONG = memory.data<u8>([0x63, 0x6f, 0x6e, 0x66, 0x69, 0x67, 0x20, 0x74, 0x6f, 0x6f, 0x20, 0x6c, 0x6f, 0x6e, 0x67]); // "config too long"

memory.copy(levels, DEFAULT, 5);
levelsLen = 5;

/** configure(config: string) -> result<_, string>: returns a pointer to (tag u8, ptr, len). */
export function configure(ptr: usize, len: usize): usize {
  const ret = alloc(12, 4);
  if (len > LEVELS_CAP) {
    store<u8>(ret, 1);
    store<u32>(ret, <u32>TOO_LONG, 4);
    store<u32>(ret, 15, 8);
    return ret;
  }
  if (len > 0) {
    memory.copy(levels, ptr, len);
    levelsLen = len;
  }
  store<u8>(ret, 0);
  return ret;
}

// ---- filter ----

// Canonical ABI layout of `message` (align 8, size 64): topic (ptr,len) @0, payload variant
// (tag u8 @8, ptr @12, len @16), key option @20, headers list @32, timestamp u64 @40,
// origin-protocol @48, client-id @56. A `verdict` is 44 bytes, align 4: tag u8 @0, case data @4.
const MESSAGE_SIZE: usize = 64;
const VERDICT_SIZE: usize = 44;
const PASS: u8 = 0;
const DROP: u8 = 1;

const KEY = memory.data<u8>([0x22, 0x6c, 0x65, 0x76, 0x65, 0x6c, 0x22]); // "level" with quotes
const PREFIX = memory.data<u8>([0x6c, 0x65, 0x76, 0x65, 0x6c, 0x3d]); // "level="

function isSpace(c: u8): bool {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Offset of the first occurrence of KEY in [p, p+n), or -1. */
function findKey(p: usize, n: usize): isize {
  if (n < 7) return -1;
  for (let i: usize = 0; i + 7 <= n; i++) {
    if (load<u8>(p + i) === 0x22 && memory.compare(p + i, KEY, 7) === 0) return <isize>i;
  }
  return -1;
}

/** True when [v, v+n) is one of the comma-separated configured levels. */
function listed(v: usize, n: usize): bool {
  let start: usize = 0;
  for (let i: usize = 0; i <= levelsLen; i++) {
    if (i === levelsLen || load<u8>(levels + i) === 0x2c) {
      if (i - start === n && memory.compare(levels + start, v, n) === 0) return true;
      start = i + 1;
    }
  }
  return false;
}

/** The value of the top-level-looking "level" string field, as (ptr, len), or len -1. */
function levelOf(p: usize, n: usize, out: usize): bool {
  const at = findKey(p, n);
  if (at < 0) return false;
  let i = <usize>at + 7;
  while (i < n && isSpace(load<u8>(p + i))) i++;
  if (i >= n || load<u8>(p + i) !== 0x3a) return false; // ':'
  i++;
  while (i < n && isSpace(load<u8>(p + i))) i++;
  if (i >= n || load<u8>(p + i) !== 0x22) return false; // '"'
  i++;
  const start = i;
  while (i < n && load<u8>(p + i) !== 0x22) {
    if (load<u8>(p + i) === 0x5c) return false; // escapes: not a plain level name
    i++;
  }
  if (i >= n) return false;
  store<u32>(out, <u32>(p + start));
  store<u32>(out, <u32>(i - start), 4);
  return true;
}

/** filter(batch: list<message>) -> list<verdict>: returns a pointer to (ptr, len). */
export function filter(batch: usize, count: usize): usize {
  const verdicts = alloc(count * VERDICT_SIZE, 4);
  const value = alloc(8, 4);
  for (let i: usize = 0; i < count; i++) {
    const m = batch + i * MESSAGE_SIZE;
    const v = verdicts + i * VERDICT_SIZE;
    store<u8>(v, PASS);
    if (load<u8>(m, 8) !== 0) continue; // payload is bytes, not text
    const p = <usize>load<u32>(m, 12);
    const n = <usize>load<u32>(m, 16);
    if (!levelOf(p, n, value)) continue;
    const vp = <usize>load<u32>(value);
    const vn = <usize>load<u32>(value, 4);
    if (!listed(vp, vn)) continue;
    // drop("level=<value>")
    const reason = alloc(6 + vn, 1);
    memory.copy(reason, PREFIX, 6);
    memory.copy(reason + 6, vp, vn);
    store<u8>(v, DROP);
    store<u32>(v, <u32>reason, 4);
    store<u32>(v, <u32>6 + <u32>vn, 8);
  }
  const ret = alloc(8, 4);
  store<u32>(ret, <u32>verdicts);
  store<u32>(ret, <u32>count, 4);
  return ret;
}
