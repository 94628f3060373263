// The canonical ABI of robustmq:filter@1.0.0's `filter` export, written for this one signature:
// wire messages are lowered straight into guest memory and verdicts lifted straight into wire
// verdicts. jco's generic glue does the same work through per-call task bookkeeping and an
// intermediate object per message, which costs more than a small filter's own work; this path
// is used when the transpiled glue exposes the core function (see exposeCoreFilter in
// transpile-cache.ts), and jco's glue otherwise. Plain JS: it also runs in the filter worker.
import { Buffer, isUtf8 } from 'node:buffer';

// Layouts (size, field offsets) from the canonical ABI for sdk/wit/filter.wit:
// message: align 8, size 64 — topic @0, payload variant (tag @8, ptr @12, len @16),
//   key option (tag @20, ptr @24, len @28), headers list @32, timestamp u64 @40,
//   origin-protocol @48, client-id @56.
// header: align 4, size 20 — name @0, value variant (tag @8, ptr @12, len @16).
// verdict: align 4, size 44 — tag u8 @0; drop/error string @4; transform rewrite: topic option
//   (tag @4, string @8), payload option (tag @16, variant tag @20, ptr @24, len @28),
//   headers option (tag @32, list @36).
const MESSAGE_SIZE = 64;
const HEADER_SIZE = 20;
const VERDICT_SIZE = 44;
const TWO_32 = 4294967296;

/** Views over a guest memory, renewed whenever the memory grew (growing detaches the old buffer). */
class MemoryView {
  constructor(memory) {
    this.memory = memory;
    this.refresh();
  }

  refresh() {
    const buffer = this.memory.buffer;
    this.bytes = Buffer.from(buffer);
    this.words = new Uint32Array(buffer);
  }

  /** Call after anything that may have grown the memory (realloc, the guest call). */
  check() {
    // Growing detaches the old buffer, and views over a detached buffer have length 0.
    if (this.words.length === 0) this.refresh();
  }

  u32(addr, value) {
    this.words[addr >>> 2] = value;
  }

  u8(addr, value) {
    this.bytes[addr] = value;
  }

  /** Bytes the guest handed back: must lie inside its memory (the ABI traps otherwise). */
  range(ptr, len) {
    if (ptr + len > this.bytes.length) throw new RangeError(`filter returned a pointer outside its memory (${ptr}+${len})`);
  }

  text(ptr, len) {
    this.range(ptr, len);
    return this.bytes.toString('utf8', ptr, ptr + len);
  }

  copy(ptr, len) {
    this.range(ptr, len);
    return Buffer.from(this.bytes.subarray(ptr, ptr + len));
  }
}

/**
 * Binds the core `filter` function a patched glue exposes; returns undefined when there is none.
 * The binding decides a batch of wire messages and returns wire verdicts, like runBatch.
 */
export function bindCoreFilter(core) {
  if (!core || typeof core.call !== 'function' || typeof core.realloc !== 'function' || !core.memory) return undefined;
  const { call, realloc, memory, postReturn } = core;
  const view = new MemoryView(memory);

  const alloc = (align, size) => {
    let ptr;
    try {
      ptr = realloc(0, 0, align, size);
    } catch (err) {
      // Most likely the memory budget (the guest's allocator traps when memory.grow fails).
      const failure = new Error(`filter could not allocate ${size} bytes for a message: ${err?.message ?? err}`);
      failure.name = 'GuestAllocationFailed';
      throw failure;
    }
    // Word writes below need aligned records; the ABI traps on a misaligned allocation too.
    if (align > 1 && ptr % align !== 0) throw new Error(`filter's cabi_realloc returned misaligned pointer ${ptr}`);
    view.check();
    return ptr;
  };

  /** Lowers a string into a fresh allocation; writes (ptr, len) at `at`. */
  const lowerText = (at, s) => {
    // Topics, protocols and client ids are short and mostly ASCII: copied char by char, which is
    // cheaper than Buffer#write for a few bytes. Others are encoded natively.
    const n = s.length;
    let ascii = n <= 64;
    for (let i = 0; ascii && i < n; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
    if (ascii) {
      // An empty string needs no allocation (as in jco): any aligned pointer will do.
      const ptr = n === 0 ? 1 : alloc(1, n);
      const b = view.bytes;
      for (let i = 0; i < n; i++) b[ptr + i] = s.charCodeAt(i);
      view.u32(at, ptr);
      view.u32(at + 4, n);
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    const ptr = len === 0 ? 1 : alloc(1, len);
    if (len > 0) view.bytes.write(s, ptr, len, 'utf8');
    view.u32(at, ptr);
    view.u32(at + 4, len);
  };

  const lowerBytes = (at, b) => {
    const len = b.byteLength;
    const ptr = len === 0 ? 1 : alloc(1, len);
    if (len > 0) view.bytes.set(b, ptr);
    view.u32(at, ptr);
    view.u32(at + 4, len);
  };

  /** A text-or-bytes variant (payload, header value): tag at `at`, (ptr, len) at `at + 4`. */
  const lowerValue = (at, v) => {
    if (typeof v === 'string') {
      view.u8(at, 0);
      lowerText(at + 4, v);
    } else {
      // Valid UTF-8 goes over as text, so a guest gets a string without decoding bytes itself.
      view.u8(at, isUtf8(v) ? 0 : 1);
      lowerBytes(at + 4, v);
    }
  };

  const lowerHeaders = (at, headers) => {
    const names = Object.keys(headers);
    const n = names.length;
    const list = n === 0 ? 4 : alloc(4, n * HEADER_SIZE);
    for (let i = 0; i < n; i++) {
      const base = list + i * HEADER_SIZE;
      lowerText(base, names[i]);
      const value = headers[names[i]];
      if (typeof value === 'string') {
        view.u8(base + 8, 0);
        lowerText(base + 12, value);
      } else {
        view.u8(base + 8, 1);
        lowerBytes(base + 12, value);
      }
    }
    view.u32(at, list);
    view.u32(at + 4, n);
  };

  const liftHeaders = (list, n) => {
    view.range(list, n * HEADER_SIZE);
    const out = {};
    for (let i = 0; i < n; i++) {
      const base = list + i * HEADER_SIZE;
      const name = view.text(view.words[base >>> 2], view.words[(base + 4) >>> 2]);
      const ptr = view.words[(base + 12) >>> 2];
      const len = view.words[(base + 16) >>> 2];
      out[name] = view.bytes[base + 8] === 0 ? view.text(ptr, len) : view.copy(ptr, len);
    }
    return out;
  };

  const liftVerdict = (base) => {
    const w = view.words;
    switch (view.bytes[base]) {
      case 0:
        return 0;
      case 1:
        return [1, view.text(w[(base + 4) >>> 2], w[(base + 8) >>> 2])];
      case 3:
        return [3, view.text(w[(base + 4) >>> 2], w[(base + 8) >>> 2])];
      case 2: {
        const topic = view.bytes[base + 4] === 1 ? view.text(w[(base + 8) >>> 2], w[(base + 12) >>> 2]) : null;
        // Payloads come back as bytes either way: the broker stores bytes.
        const payload = view.bytes[base + 16] === 1 ? view.copy(w[(base + 24) >>> 2], w[(base + 28) >>> 2]) : null;
        const headers = view.bytes[base + 32] === 1 ? liftHeaders(w[(base + 36) >>> 2], w[(base + 40) >>> 2]) : null;
        return [2, topic, payload, headers];
      }
      default:
        throw new Error(`filter returned an invalid verdict discriminant ${view.bytes[base]}`);
    }
  };

  /** Lowers one message's fields into the record at `base`. */
  const lowerMessage = (base, topic, payload, key, headers, timestamp, protocol, clientId) => {
    lowerText(base, topic);
    lowerValue(base + 8, payload);
    if (key) {
      view.u8(base + 20, 1);
      lowerBytes(base + 24, key);
    } else {
      view.u8(base + 20, 0);
    }
    lowerHeaders(base + 32, headers ?? {});
    const ts = Math.max(0, Math.trunc(timestamp));
    view.u32(base + 40, ts % TWO_32);
    view.u32(base + 44, Math.floor(ts / TWO_32));
    lowerText(base + 48, protocol);
    lowerText(base + 56, clientId);
  };

  /** Calls the guest on `n` lowered messages; returns the verdict list's address (count checked). */
  const invoke = (list, n) => {
    const ret = call(list, n);
    view.check();
    view.range(ret, 8);
    const verdicts = view.words[ret >>> 2];
    const count = view.words[(ret + 4) >>> 2];
    if (count !== n) throw new Error(`filter returned ${count} verdicts for ${n} messages`);
    if (verdicts % 4 !== 0) throw new Error(`filter returned a verdict list at unaligned address ${verdicts}`);
    view.range(verdicts, count * VERDICT_SIZE);
    return [ret, verdicts];
  };

  /** Wire messages in, wire verdicts out (one per message). */
  const batch = (wire) => {
    const n = wire.length;
    view.check();
    const list = alloc(8, n * MESSAGE_SIZE);
    for (let i = 0; i < n; i++) {
      const m = wire[i];
      lowerMessage(list + i * MESSAGE_SIZE, m.topic, m.payload, m.key, m.headers, m.timestamp, m.protocol, m.clientId);
    }
    const [ret, verdicts] = invoke(list, n);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = liftVerdict(verdicts + i * VERDICT_SIZE);
    postReturn?.(ret);
    return out;
  };

  /** One broker message (sdk Message) in, its wire verdict out: the in-thread path, no wire objects. */
  batch.one = (message) => {
    view.check();
    const list = alloc(8, MESSAGE_SIZE);
    const { origin } = message;
    lowerMessage(
      list,
      message.topic,
      message.payload,
      message.key,
      message.headers,
      message.timestamp,
      origin.protocol,
      origin.clientId,
    );
    const [ret, verdicts] = invoke(list, 1);
    const verdict = liftVerdict(verdicts);
    postReturn?.(ret);
    return verdict;
  };

  /** Current size of the guest's memory in bytes (no native call: the view follows growth). */
  batch.memoryBytes = () => {
    view.check();
    return view.bytes.length;
  };

  return batch;
}
