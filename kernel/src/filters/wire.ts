import type { Message } from '@robustmq/sdk';
import type { WireMessage } from './guest.mjs';

/** A broker message as a filter runner takes it (structured-clone friendly, for workers too). */
export function toWire(m: Message): WireMessage {
  return {
    topic: m.topic,
    payload: m.payload,
    key: m.key,
    headers: m.headers,
    timestamp: m.timestamp,
    protocol: m.origin.protocol,
    clientId: m.origin.clientId,
  };
}
