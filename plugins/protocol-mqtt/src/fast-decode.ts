import type { Packet } from 'mqtt-packet';

/**
 * Decodes the packets that dominate traffic — PUBLISH without 5.0 properties, the four
 * acknowledgements without reason code, PINGREQ — straight from a chunk, without mqtt-packet's
 * buffer list. It stops at the first packet that is incomplete, of another kind, or in any way
 * unusual, and returns that offset: the caller gives the rest to mqtt-packet, which also reports
 * every error.
 */
export function decodeFast(buf: Buffer, version: number, out: Packet[]): number {
  let pos = 0;
  const end = buf.length;
  while (pos + 2 <= end) {
    const first = buf[pos];
    // Remaining length (at most 4 bytes).
    let len = 0;
    let mul = 1;
    let i = pos + 1;
    let done = false;
    for (let n = 0; n < 4 && i < end; n++) {
      const b = buf[i++];
      len += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        done = true;
        break;
      }
    }
    if (!done || i + len > end) return pos;
    const type = first >> 4;
    const body = i;
    const next = body + len;
    if (type === 3) {
      const qos = (first >> 1) & 3;
      if (qos === 3 || len < 2) return pos;
      const topicLen = buf.readUInt16BE(body);
      let at = body + 2 + topicLen;
      if (at + (qos > 0 ? 2 : 0) > next) return pos;
      const topic = buf.toString('utf8', body + 2, at);
      let messageId: number | undefined;
      if (qos > 0) {
        messageId = buf.readUInt16BE(at);
        at += 2;
      }
      if (version === 5) {
        // Only a PUBLISH without properties takes the fast path.
        if (at >= next || buf[at] !== 0) return pos;
        at += 1;
      }
      const packet = {
        cmd: 'publish',
        topic,
        payload: buf.subarray(at, next),
        qos,
        dup: (first & 8) !== 0,
        retain: (first & 1) !== 0,
        length: len,
        messageId,
      } as Packet;
      out.push(packet);
    } else if (type >= 4 && type <= 7 && first === (type === 6 ? 0x62 : type << 4) && successAck(buf, body, len, version)) {
      const ack = { cmd: ACK[type], messageId: buf.readUInt16BE(body), length: len } as Packet & { reasonCode?: number };
      if (version === 5) ack.reasonCode = 0;
      out.push(ack);
    } else if (first === 0xc0 && len === 0) {
      out.push({ cmd: 'pingreq', length: 0 } as Packet);
    } else {
      return pos;
    }
    pos = next;
  }
  return pos;
}

const ACK: Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' };

/** An acknowledgement with reason code 0 and no properties, in any of its 5.0 encodings. */
function successAck(buf: Buffer, body: number, len: number, version: number): boolean {
  if (len === 2) return true;
  if (version !== 5) return false;
  if (len === 3) return buf[body + 2] === 0;
  return len === 4 && buf[body + 2] === 0 && buf[body + 3] === 0;
}
