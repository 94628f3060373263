/**
 * Hand-written encoders for PUBLISH (any version, with 5.0 properties in their original order) and
 * the four acknowledgements. Everything else goes through mqtt-packet's generator.
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

/** 5.0 PUBLISH properties to encode, user properties as ordered pairs (§3.3.2.3). */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  subscriptionIdentifiers?: number[];
  topicAlias?: number;
  userProperties?: Array<[string, string]>;
}

/** Encodes a 5.0 property block without its length prefix. */
export function encodeProperties(p: PublishProperties): Buffer {
  const parts: Buffer[] = [];
  const str = (id: number, v: string | Buffer) => {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    const h = Buffer.allocUnsafe(3);
    h[0] = id;
    h.writeUInt16BE(b.length, 1);
    parts.push(h, b);
  };
  if (p.payloadFormatIndicator !== undefined) parts.push(Buffer.from([0x01, p.payloadFormatIndicator ? 1 : 0]));
  if (p.messageExpiryInterval !== undefined) {
    const b = Buffer.allocUnsafe(5);
    b[0] = 0x02;
    b.writeUInt32BE(p.messageExpiryInterval >>> 0, 1);
    parts.push(b);
  }
  if (p.contentType !== undefined) str(0x03, p.contentType);
  if (p.responseTopic !== undefined) str(0x08, p.responseTopic);
  if (p.correlationData !== undefined) str(0x09, p.correlationData);
  for (const id of p.subscriptionIdentifiers ?? []) parts.push(Buffer.concat([Buffer.from([0x0b]), varint(id)]));
  if (p.topicAlias !== undefined) {
    const b = Buffer.allocUnsafe(3);
    b[0] = 0x23;
    b.writeUInt16BE(p.topicAlias, 1);
    parts.push(b);
  }
  for (const [name, value] of p.userProperties ?? []) {
    parts.push(Buffer.from([0x26]));
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.allocUnsafe(2);
    h.writeUInt16BE(n.length, 0);
    const h2 = Buffer.allocUnsafe(2);
    h2.writeUInt16BE(v.length, 0);
    parts.push(h, n, h2, v);
  }
  return Buffer.concat(parts);
}

/** MQTT variable byte integer. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/**
 * The part of a PUBLISH that precedes the payload. `props` is the encoded 5.0 property block
 * (undefined before 5.0; an empty buffer for 5.0 without properties). The packet identifier, when
 * QoS > 0, sits right after the topic. Keeping the payload apart lets a fan-out share one payload
 * buffer between every socket write.
 */
export function encodePublishHead(
  topic: string,
  payloadLength: number,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
  props: Buffer | undefined,
): Buffer {
  const topicLen = Buffer.byteLength(topic);
  const propLen = props ? props.length : 0;
  const propLenBytes = props ? (propLen < 128 ? 1 : propLen < 16384 ? 2 : propLen < 2097152 ? 3 : 4) : 0;
  const headLen = 2 + topicLen + (qos > 0 ? 2 : 0) + propLenBytes + propLen;
  const remaining = headLen + payloadLength;
  const lenBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
  const b = Buffer.allocUnsafe(1 + lenBytes + headLen);
  b[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let i = writeVarint(b, 1, remaining);
  b.writeUInt16BE(topicLen, i);
  i += 2;
  i += b.write(topic, i, 'utf8');
  if (qos > 0) {
    b.writeUInt16BE(packetId, i);
    i += 2;
  }
  if (props) {
    i = writeVarint(b, i, propLen);
    props.copy(b, i);
  }
  return b;
}

function writeVarint(b: Buffer, at: number, n: number): number {
  let i = at;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    b[i++] = byte;
  } while (n > 0);
  return i;
}

/** A whole PUBLISH (`props` as for {@link encodePublishHead}). */
export function encodePublish(
  topic: string,
  payload: Buffer,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
  props: Buffer | undefined,
): Buffer {
  return Buffer.concat([encodePublishHead(topic, payload.length, qos, retain, dup, packetId, props), payload]);
}
