/**
 * Helpers for writing a RobustMQ rule filter in TypeScript or JavaScript. This module runs
 * inside the filter component (QuickJS), not in the broker: it has no Node APIs, no
 * TextEncoder/TextDecoder, no timers. `npm run build` bundles it into the component.
 *
 * Import it as `@robustmq/sdk/filter-kit` (the build aliases that name to this file).
 */

/** A header value as the WIT `header-value` variant. */
export type HeaderValue = { tag: 'text'; val: string } | { tag: 'bytes'; val: Uint8Array };

export interface Header {
  name: string;
  value: HeaderValue;
}

/** One message, as the broker hands it to the filter (WIT `message`, camelCase fields). */
export interface FilterMessage {
  topic: string;
  payload: Uint8Array;
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
  | { tag: 'transform'; val: { topic: string | null; payload: Uint8Array | null; headers: Header[] | null } };

const PASS: Verdict = { tag: 'pass' };

/** Route the message unchanged. */
export function pass(): Verdict {
  return PASS;
}

/** Discard the message; `reason` appears in the broker's log and `dropped` hook. */
export function drop(reason: string): Verdict {
  return { tag: 'drop', val: reason };
}

/** Route a rewritten message (new topic and/or payload and/or headers). */
export function transform(rewrite: Rewrite): Verdict {
  const payload = typeof rewrite.payload === 'string' ? utf8Encode(rewrite.payload) : (rewrite.payload ?? null);
  return { tag: 'transform', val: { topic: rewrite.topic ?? null, payload, headers: rewrite.headers ?? null } };
}

/** Decodes UTF-8 bytes (QuickJS has no TextDecoder). */
export function utf8Decode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i++];
    let cp: number;
    if (b < 0x80) cp = b;
    else if (b < 0xe0) cp = ((b & 0x1f) << 6) | (bytes[i++] & 0x3f);
    else if (b < 0xf0) cp = ((b & 0x0f) << 12) | ((bytes[i++] & 0x3f) << 6) | (bytes[i++] & 0x3f);
    else cp = ((b & 0x07) << 18) | ((bytes[i++] & 0x3f) << 12) | ((bytes[i++] & 0x3f) << 6) | (bytes[i++] & 0x3f);
    out += String.fromCodePoint(cp);
  }
  return out;
}

/** Encodes a string as UTF-8 bytes (QuickJS has no TextEncoder). */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return new Uint8Array(out);
}

/** The payload parsed as JSON, or undefined when it is not JSON. */
export function json<T = unknown>(message: FilterMessage): T | undefined {
  try {
    return JSON.parse(utf8Decode(message.payload)) as T;
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
  /** Decides one message. */
  decide(message: FilterMessage): Verdict;
}

/**
 * Turns a per-message function into the two exports the `robustmq:filter` world needs.
 * Use it as `export const { configure, filter } = defineFilter({ ... })`.
 */
export function defineFilter(definition: FilterDefinition): {
  configure(config: string): void;
  filter(batch: FilterMessage[]): Verdict[];
} {
  return {
    configure(config: string) {
      definition.configure?.(config);
    },
    filter(batch: FilterMessage[]) {
      const out = new Array<Verdict>(batch.length);
      for (let i = 0; i < batch.length; i++) out[i] = definition.decide(batch[i]);
      return out;
    },
  };
}
