/**
 * Hand-written encoders for the packets on the hot path (PUBLISH without properties and the
 * four acknowledgements). Everything else goes through mqtt-packet's generator.
 */

const ACK_TYPE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/** PUBACK / PUBREC / PUBREL / PUBCOMP with an optional 5.0 reason code and no properties. */
export function encodeAck(cmd: keyof typeof ACK_TYPE, packetId: number, reasonCode = 0): Buffer {
  if (reasonCode === 0) {
    const b = Buffer.allocUnsafe(4);
    b[0] = ACK_TYPE[cmd];
    b[1] = 2;
    b.writeUInt16BE(packetId, 2);
    return b;
  }
  const b = Buffer.allocUnsafe(5);
  b[0] = ACK_TYPE[cmd];
  b[1] = 3;
  b.writeUInt16BE(packetId, 2);
  b[4] = reasonCode;
  return b;
}

/**
 * The part of a PUBLISH without 5.0 properties that precedes the payload (`v5` adds the empty
 * property length). The packet identifier, when QoS > 0, sits right after the topic. Keeping the
 * payload apart lets a fan-out share one payload buffer between every socket write.
 */
export function encodePublishHead(
  topic: string,
  payloadLength: number,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
  v5: boolean,
): Buffer {
  const topicLen = Buffer.byteLength(topic);
  const headLen = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0);
  const remaining = headLen + payloadLength;
  const lenBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
  const b = Buffer.allocUnsafe(1 + lenBytes + headLen);
  b[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let i = 1;
  let n = remaining;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    b[i++] = byte;
  } while (n > 0);
  b.writeUInt16BE(topicLen, i);
  i += 2;
  i += b.write(topic, i, 'utf8');
  if (qos > 0) {
    b.writeUInt16BE(packetId, i);
    i += 2;
  }
  if (v5) b[i] = 0;
  return b;
}

/** A whole PUBLISH without 5.0 properties. */
export function encodePublish(
  topic: string,
  payload: Buffer,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
  v5: boolean,
): Buffer {
  return Buffer.concat([encodePublishHead(topic, payload.length, qos, retain, dup, packetId, v5), payload]);
}
