import type { HeaderValue, Message } from '@robustmq/sdk';

/** JSON form of a kernel Message, for the MetaStore. Buffers travel as base64. */
export interface StoredMessage {
  t: string;
  p: string;
  h: Record<string, string | { b: string }>;
  ts: number;
  e?: number;
  d: Message['durability'];
  o: Message['origin'];
  r?: boolean;
  q?: 0 | 1 | 2;
  k?: string;
}

/** Encodes a message for persistence. */
export function encodeMessage(m: Message): StoredMessage {
  const h: StoredMessage['h'] = {};
  for (const [name, v] of Object.entries(m.headers)) h[name] = typeof v === 'string' ? v : { b: v.toString('base64') };
  const out: StoredMessage = { t: m.topic, p: m.payload.toString('base64'), h, ts: m.timestamp, d: m.durability, o: m.origin };
  if (m.expiresAt !== undefined) out.e = m.expiresAt;
  if (m.retain) out.r = true;
  if (m.qos !== undefined) out.q = m.qos;
  if (m.key) out.k = m.key.toString('base64');
  return out;
}

/** Decodes a persisted message. */
export function decodeMessage(s: StoredMessage): Message {
  const headers: Record<string, HeaderValue> = {};
  for (const [name, v] of Object.entries(s.h)) headers[name] = typeof v === 'string' ? v : Buffer.from(v.b, 'base64');
  const m: Message = {
    topic: s.t,
    payload: Buffer.from(s.p, 'base64'),
    headers,
    timestamp: s.ts,
    durability: s.d,
    origin: s.o,
  };
  if (s.e !== undefined) m.expiresAt = s.e;
  if (s.r) m.retain = true;
  if (s.q !== undefined) m.qos = s.q;
  if (s.k !== undefined) m.key = Buffer.from(s.k, 'base64');
  return m;
}
