import type { Message } from '@robustmq/sdk';

/** An encoded PUBLISH: everything before the payload, and where its packet identifier sits. */
export interface EncodedPublish {
  head: Buffer;
  idOffset: number;
}

/*
 * The router hands one message to its subscribers one after another, so remembering the last
 * message's encoding lets a fan-out encode once per wire form (version, QoS, retain, expiry)
 * instead of once per subscriber, at the cost of a reference compare when there is no fan-out.
 */
let lastMessage: Message | undefined;
const lastForms = new Map<string, EncodedPublish>();

/** Returns the head of `message`'s PUBLISH in form `key`, building it on a miss. */
export function cachedPublish(message: Message, key: string, encode: () => Buffer | undefined): EncodedPublish | undefined {
  if (message !== lastMessage) {
    lastMessage = message;
    lastForms.clear();
  } else {
    const hit = lastForms.get(key);
    if (hit) return hit;
  }
  const head = encode();
  if (!head) return undefined;
  const entry = { head, idOffset: packetIdOffset(head) };
  lastForms.set(key, entry);
  return entry;
}

/** Offset of the packet identifier in an encoded PUBLISH: after the fixed header and the topic. */
function packetIdOffset(buf: Buffer): number {
  let i = 1;
  while (buf[i] & 0x80) i++;
  i++;
  return i + 2 + buf.readUInt16BE(i);
}

/** A copy of a cached QoS 1/2 PUBLISH head with its packet identifier set. */
export function withPacketId(entry: EncodedPublish, packetId: number): Buffer {
  const out = Buffer.allocUnsafe(entry.head.length);
  entry.head.copy(out);
  out.writeUInt16BE(packetId, entry.idOffset);
  return out;
}
