import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PartialPacket, packetSize } from '../src/partial-packet.js';

const publish = (n: number, size: number) =>
  mqttPacket.generate({ cmd: 'publish', topic: 't', qos: 0, payload: Buffer.alloc(size, n), retain: false, dup: false });

describe('packetSize', () => {
  it('reads the size from 1- to 3-byte remaining lengths and waits for a cut header', () => {
    for (const size of [0, 100, 200, 20_000]) expect(packetSize(publish(1, size), 0)).toBe(publish(1, size).length);
    const big = publish(1, 20_000);
    expect(packetSize(big.subarray(0, 2), 0)).toBe(-1);
    expect(packetSize(Buffer.concat([publish(2, 3), big]), publish(2, 3).length)).toBe(big.length);
  });
});

describe('PartialPacket', () => {
  it('rebuilds a packet cut anywhere, also byte by byte, and returns the bytes after it', () => {
    const a = publish(1, 5000);
    const b = publish(2, 10);
    const stream = Buffer.concat([a, b]);
    for (const cut of [1, 2, 3, 100, a.length - 1]) {
      const p = new PartialPacket();
      p.start(stream.subarray(0, cut));
      let out: Buffer | undefined;
      let rest: Buffer = Buffer.alloc(0);
      // Feed the remainder in 1-byte reads until the packet completes.
      for (let i = cut; i < stream.length && !out; i++) {
        const r = p.take(stream.subarray(i, i + 1));
        out = r.packet;
        rest = r.rest;
      }
      expect(out?.equals(a)).toBe(true);
      expect(rest.length).toBe(0);
      expect(p.empty).toBe(true);
    }
    const p = new PartialPacket();
    p.start(stream.subarray(0, 10));
    const r = p.take(stream.subarray(10));
    expect(r.packet?.equals(a)).toBe(true);
    expect(r.rest.equals(b)).toBe(true);
  });
});
