/**
 * Helpers for writing a RobustMQ rule filter in TypeScript or JavaScript. This module runs
 * inside the filter component (QuickJS), not in the broker: it has no Node APIs, no
 * TextEncoder/TextDecoder, no timers. `npm run build` bundles it into the component.
 *
 * Import it as `@robustmq/sdk/filter-kit` (the build aliases that name to this file).
 * Importing it also installs `console.log/info/warn/error/debug`, which QuickJS lacks, writing to
 * the broker's log through the world's `host.log` import.
 */
// Resolved by the component build from the WIT world, not by the bundler.
import { log as hostLog } from 'robustmq:filter/host@1.0.0';

type Level = 'debug' | 'info' | 'warn' | 'error';

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Writes a line to the broker's log (rate-limited there), tagged with the filter's name. */
export function log(level: Level, ...parts: unknown[]): void {
  hostLog(level, parts.map(show).join(' '));
}

const g = globalThis as { console?: unknown };
if (g.console === undefined) {
  g.console = {
    log: (...a: unknown[]) => log('info', ...a),
    info: (...a: unknown[]) => log('info', ...a),
    debug: (...a: unknown[]) => log('debug', ...a),
    warn: (...a: unknown[]) => log('warn', ...a),
    error: (...a: unknown[]) => log('error', ...a),
  };
}

/** A header value as the WIT `header-value` variant. */
export type HeaderValue = { tag: 'text'; val: string } | { tag: 'bytes'; val: Uint8Array };

export interface Header {
  name: string;
  value: HeaderValue;
}

/** WIT `payload`: text when the payload is valid UTF-8, bytes otherwise. */
export type Payload = { tag: 'text'; val: string } | { tag: 'bytes'; val: Uint8Array };

/** One message, as the broker hands it to the filter (WIT `message`, camelCase fields). */
export interface FilterMessage {
  topic: string;
  /** Use {@link text}, {@link json} or {@link bytes} rather than reading it directly. */
  payload: Payload;
  key?: Uint8Array | null;
  headers: Header[];
  /** Epoch milliseconds (a number under QuickJS, a bigint under some other engines). */
  timestamp: number | bigint;
  originProtocol: string;
  clientId: string;
}

/** The fields a transform replaces; unset fields keep the original. */
export interface Rewrite {
  topic?: string;
  payload?: Uint8Array | string;
  headers?: Header[];
}

/** WIT `verdict`. */
export type Verdict =
  | { tag: 'pass' }
  | { tag: 'drop'; val: string }
  | { tag: 'error'; val: string }
  | { tag: 'transform'; val: { topic: string | null; payload: Payload | null; headers: Header[] | null } };

const PASS: Verdict = { tag: 'pass' };

/** Route the message unchanged. */
export function pass(): Verdict {
  return PASS;
}

/** Discard the message; `reason` appears in the broker's log and `dropped` hook. */
export function drop(reason: string): Verdict {
  return { tag: 'drop', val: reason };
}

/** The filter cannot decide this message: the broker applies the entry's failure policy and logs `why`. */
export function fail(why: string): Verdict {
  return { tag: 'error', val: why };
}

/** Route a rewritten message (new topic and/or payload and/or headers). */
export function transform(rewrite: Rewrite): Verdict {
  const p = rewrite.payload;
  const payload: Payload | null =
    p === undefined ? null : typeof p === 'string' ? { tag: 'text', val: p } : { tag: 'bytes', val: p };
  return { tag: 'transform', val: { topic: rewrite.topic ?? null, payload, headers: rewrite.headers ?? null } };
}

// The broker hands UTF-8 payloads over as text, so filters rarely need these codecs. QuickJS
// interprets every loop iteration (about 100x slower than V8's JIT), so they lean on native
// built-ins: String.fromCharCode over whole chunks, a regex test, and the escape /
// encodeURIComponent pair that converts between UTF-8 and UTF-16 in C.
const annexB = globalThis as unknown as { escape(s: string): string; unescape(s: string): string };

const CHUNK = 8192;
const NON_ASCII = /[\u0080-\u00ff]/;

/** Bytes as a Latin-1 string (one char per byte), built natively in chunks. */
function latin1(bytes: Uint8Array): string {
  if (bytes.length <= CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return out;
}

/** Decodes UTF-8 bytes (QuickJS has no TextDecoder). Invalid sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  const s = latin1(bytes);
  if (!NON_ASCII.test(s)) return s;
  try {
    return decodeURIComponent(annexB.escape(s));
  } catch {
    return slowDecode(bytes);
  }
}

function slowDecode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i++];
    let cp: number;
    if (b < 0x80) cp = b;
    else if (b < 0xe0) cp = ((b & 0x1f) << 6) | (bytes[i++] & 0x3f);
    else if (b < 0xf0) cp = ((b & 0x0f) << 12) | ((bytes[i++] & 0x3f) << 6) | (bytes[i++] & 0x3f);
    else cp = ((b & 0x07) << 18) | ((bytes[i++] & 0x3f) << 12) | ((bytes[i++] & 0x3f) << 6) | (bytes[i++] & 0x3f);
    out += cp <= 0x10ffff && !Number.isNaN(cp) ? String.fromCodePoint(cp) : '\ufffd';
  }
  return out;
}

/** Encodes a string as UTF-8 bytes (QuickJS has no TextEncoder). */
export function utf8Encode(text: string): Uint8Array {
  // Non-ASCII text becomes its UTF-8 bytes as Latin-1 chars, natively; then one byte per char.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching every non-ASCII char is the point
  const s = /[^\u0000-\u007f]/.test(text) ? annexB.unescape(encodeURIComponent(text)) : text;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The payload as text (bytes that are not UTF-8 are decoded with replacement characters). */
export function text(message: FilterMessage): string {
  return message.payload.tag === 'text' ? message.payload.val : utf8Decode(message.payload.val);
}

/** The payload as bytes. */
export function bytes(message: FilterMessage): Uint8Array {
  return message.payload.tag === 'bytes' ? message.payload.val : utf8Encode(message.payload.val);
}

/** The payload parsed as JSON, or undefined when it is not JSON (or not text). */
export function json<T = unknown>(message: FilterMessage): T | undefined {
  if (message.payload.tag !== 'text') return undefined;
  try {
    return JSON.parse(message.payload.val) as T;
  } catch {
    return undefined;
  }
}

/** A header as text (bytes are decoded as UTF-8), or undefined. */
export function header(message: FilterMessage, name: string): string | undefined {
  const h = message.headers.find((x) => x.name === name);
  if (!h) return undefined;
  return h.value.tag === 'text' ? h.value.val : utf8Decode(h.value.val);
}

/** What {@link defineFilter} takes. */
export interface FilterDefinition {
  /** Receives the `config` string of the broker's filter entry once, before any message. Throw to refuse it. */
  configure?(config: string): void;
  /** Decides one message. A throw becomes an `error` verdict for that message only. */
  decide(message: FilterMessage): Verdict;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err.stack ? `\n${err.stack}` : ''}`;
  return `thrown ${show(err)}`;
}

/**
 * Turns a per-message function into the two exports the `robustmq:filter` world needs.
 * Use it as `export const { configure, filter } = defineFilter({ ... })`. An exception in
 * `decide` fails only its own message (with the exception's text in the broker log), never the
 * batch; an exception in `configure` refuses the config with its text.
 */
export function defineFilter(definition: FilterDefinition): {
  configure(config: string): void;
  filter(batch: FilterMessage[]): Verdict[];
} {
  return {
    configure(config: string) {
      try {
        definition.configure?.(config);
      } catch (err) {
        // A thrown string is the world's result error: the broker refuses the config with it.
        throw describe(err);
      }
    },
    filter(batch: FilterMessage[]) {
      const out = new Array<Verdict>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        try {
          out[i] = definition.decide(batch[i]);
        } catch (err) {
          out[i] = fail(describe(err));
        }
      }
      return out;
    },
  };
}
