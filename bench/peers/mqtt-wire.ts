/**
 * The few MQTT 3.1.1 packets the load generator needs, encoded by hand, and a frame scanner that
 * only finds packet boundaries: the generator must stay far cheaper than the brokers it drives.
 */

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
}

/** CONNECT, MQTT 3.1.1, clean session. */
export function connectPacket(clientId: string, keepAlive = 300): Buffer {
  const header = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, keepAlive >> 8, keepAlive & 0xff])]);
  return packet(0x10, Buffer.concat([header, str(clientId)]));
}

export function subscribePacket(packetId: number, filter: string, qos: 0 | 1): Buffer {
  return packet(0x82, Buffer.concat([Buffer.from([packetId >> 8, packetId & 0xff]), str(filter), Buffer.from([qos])]));
}

/** A PUBLISH template and where its packet id sits (QoS 1), so senders can stamp ids in place. */
export function publishTemplate(
  topic: string,
  payload: Buffer,
  qos: 0 | 1,
): { bytes: Buffer; idOffset: number; payloadOffset: number } {
  const body = Buffer.concat([str(topic), qos > 0 ? Buffer.from([0, 1]) : Buffer.alloc(0), payload]);
  const bytes = packet(0x30 | (qos << 1), body);
  const headerLen = bytes.length - body.length;
  const idOffset = headerLen + 2 + Buffer.byteLength(topic);
  return { bytes, idOffset, payloadOffset: idOffset + (qos > 0 ? 2 : 0) };
}

export function pubackPacket(packetId: number): Buffer {
  return Buffer.from([0x40, 0x02, packetId >> 8, packetId & 0xff]);
}

/** Packet types the scanner reports. */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;

/**
 * Splits a byte stream into packets and calls `onPacket(type, flags, buf, bodyStart, end)`.
 * `buf` is only valid during the call.
 */
export class FrameScanner {
  private rest: Buffer | undefined;

  constructor(private readonly onPacket: (type: number, flags: number, buf: Buffer, bodyStart: number, end: number) => void) {}

  push(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let pos = 0;
    while (pos < buf.length) {
      if (buf.length - pos < 2) break;
      let len = 0;
      let mult = 1;
      let i = pos + 1;
      let complete = false;
      while (i < buf.length && i < pos + 5) {
        const b = buf[i++];
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || i + len > buf.length) break;
      this.onPacket(buf[pos] >> 4, buf[pos] & 0x0f, buf, i, i + len);
      pos = i + len;
    }
    if (pos < buf.length) this.rest = Buffer.from(buf.subarray(pos));
  }
}
