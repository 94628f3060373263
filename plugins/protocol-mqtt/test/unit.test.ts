import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { decodeFast } from '../src/fast-decode.js';
import { encodeAck, encodeProperties, encodePublish } from '../src/fast-encode.js';
import { FrameGuard } from '../src/frame-guard.js';
import { headersToProps, propsToHeaders } from '../src/properties.js';
import { TokenBucket } from '../src/rate-limit.js';
import { topicFilterProblem, topicMatches, topicNameProblem } from '../src/topic.js';

const limits = { maxTopicLevels: 0, maxTopicLength: 0 };

describe('fast encoders match mqtt-packet', () => {
  for (const v of [4, 5] as const) {
    for (const size of [0, 10, 200, 20000, 3_000_000]) {
      for (const qos of [0, 1, 2] as const) {
        it(`PUBLISH v${v} qos ${qos} payload ${size}`, () => {
          const payload = Buffer.alloc(size, 3);
          const ours = encodePublish('a/tópico', payload, qos, qos === 1, qos === 2, 513, v === 5 ? Buffer.alloc(0) : undefined);
          const theirs = mqttPacket.generate(
            {
              cmd: 'publish',
              topic: 'a/tópico',
              payload,
              qos,
              retain: qos === 1,
              dup: qos === 2,
              messageId: qos ? 513 : undefined,
            },
            { protocolVersion: v },
          );
          expect(ours.equals(theirs)).toBe(true);
        });
      }
    }
  }
  it('PUBLISH with every 5.0 property parses back, user properties in order', () => {
    const props = encodeProperties({
      payloadFormatIndicator: true,
      messageExpiryInterval: 300,
      contentType: 'text/plain',
      responseTopic: 'r/1',
      correlationData: Buffer.from([1, 2, 3]),
      subscriptionIdentifiers: [5, 300],
      topicAlias: 4,
      userProperties: [
        ['colour', 'blue'],
        ['size', '7'],
        ['colour', 'green'],
      ],
    });
    const bytes = encodePublish('t', Buffer.from('x'), 1, false, false, 9, props);
    const parsed: Array<Record<string, unknown>> = [];
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (p) => parsed.push(p as never));
    parser.parse(bytes);
    expect(parsed[0]).toMatchObject({
      cmd: 'publish',
      topic: 't',
      messageId: 9,
      properties: {
        payloadFormatIndicator: true,
        messageExpiryInterval: 300,
        contentType: 'text/plain',
        responseTopic: 'r/1',
        correlationData: Buffer.from([1, 2, 3]),
        subscriptionIdentifier: [5, 300],
        topicAlias: 4,
        userProperties: { colour: ['blue', 'green'], size: '7' },
      },
    });
    // The wire keeps blue, size, green in that order.
    const text = bytes.toString('latin1');
    expect(text.indexOf('blue')).toBeLessThan(text.indexOf('size'));
    expect(text.indexOf('size')).toBeLessThan(text.indexOf('green'));
  });

  it('acks', () => {
    for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
      expect(encodeAck(cmd, 7).equals(mqttPacket.generate({ cmd, messageId: 7 } as never, { protocolVersion: 4 }))).toBe(true);
      const parsed: unknown[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (p) => parsed.push(p));
      const code = cmd === 'puback' || cmd === 'pubrec' ? 0x87 : 0x92;
      parser.parse(encodeAck(cmd, 9, code));
      expect(parsed[0]).toMatchObject({ cmd, messageId: 9, reasonCode: code });
    }
  });
});

describe('topics', () => {
  it('validates names and filters', () => {
    expect(topicNameProblem('a/b', limits)).toBeUndefined();
    expect(topicNameProblem('a/+', limits)).toBeDefined();
    expect(topicNameProblem('', limits)).toBeDefined();
    expect(topicNameProblem('a\u0000b', limits)).toBeDefined();
    expect(topicFilterProblem('a/#', limits)).toBeUndefined();
    expect(topicFilterProblem('+/+/#', limits)).toBeUndefined();
    expect(topicFilterProblem('a/#/b', limits)).toBeDefined();
    expect(topicFilterProblem('a+', limits)).toBeDefined();
    expect(topicNameProblem('a/b/c', { maxTopicLevels: 2, maxTopicLength: 0 })).toBe('too many topic levels');
    expect(topicNameProblem('abcdef', { maxTopicLevels: 0, maxTopicLength: 5 })).toBe('topic too long');
  });
  it('matches, with $ topics hidden from leading wildcards', () => {
    expect(topicMatches('a/+', 'a/b')).toBe(true);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
  });
});

describe('frame guard', () => {
  it('finds oversized packets across chunk boundaries', () => {
    const g = new FrameGuard(100);
    expect(g.check(Buffer.from([0x30, 5, 0, 1, 0x61]))).toBe('ok');
    expect(g.check(Buffer.from([1, 2, 0x30]))).toBe('ok');
    expect(g.check(Buffer.from([0xc8]))).toBe('ok');
    expect(g.check(Buffer.from([0x01]))).toBe('too-large');
    expect(new FrameGuard(100).check(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toBe('bad-length');
  });
});

describe('properties ↔ headers', () => {
  it('round-trips 5.0 publish properties', () => {
    const props = {
      contentType: 'a/b',
      responseTopic: 'r',
      correlationData: Buffer.from('c'),
      payloadFormatIndicator: true,
      userProperties: { x: '1', y: ['2', '3'] },
    };
    const headers = propsToHeaders(props);
    expect(headers['content-type']).toBe('a/b');
    expect(headers['mqtt-user-y']).toBe('["2","3"]');
    const back = headersToProps({
      topic: 't',
      payload: Buffer.alloc(0),
      headers,
      timestamp: 0,
      durability: 'transient',
      origin: { protocol: 'mqtt', clientId: 'c' },
    });
    expect(back).toEqual(props);
  });
});

describe('token bucket', () => {
  it('allows the burst, then asks to wait', () => {
    const b = new TokenBucket(2, 0);
    expect(b.take(0)).toBe(0);
    expect(b.take(0)).toBe(0);
    expect(b.take(0)).toBe(500);
    expect(b.take(2000)).toBe(0);
  });
});

describe('fast decoder', () => {
  const parse = (buf: Buffer, v: 4 | 5) => {
    const out: unknown[] = [];
    const parser = mqttPacket.parser({ protocolVersion: v });
    parser.on('packet', (p) => out.push(p));
    parser.parse(buf);
    return out;
  };
  for (const v of [4, 5] as const) {
    it(`decodes what mqtt-packet decodes, v${v}, and stops at anything else`, () => {
      const gen = (p: object) => mqttPacket.generate(p as never, { protocolVersion: v });
      const packets = [
        gen({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: true, dup: false }),
        gen({ cmd: 'publish', topic: 'ü/2', payload: Buffer.alloc(300, 7), qos: 2, messageId: 65535, retain: false, dup: true }),
        gen({ cmd: 'puback', messageId: 3 }),
        gen({ cmd: 'pubrec', messageId: 4 }),
        gen({ cmd: 'pubrel', messageId: 5 }),
        gen({ cmd: 'pubcomp', messageId: 6 }),
        gen({ cmd: 'pingreq' }),
      ];
      const all = Buffer.concat(packets);
      const ours: Packet[] = [];
      expect(decodeFast(all, v, ours)).toBe(all.length);
      const theirs = parse(all, v) as Array<Record<string, unknown>>;
      expect(ours.length).toBe(theirs.length);
      const fields = (p: Record<string, unknown>) => {
        const f: Record<string, unknown> = { cmd: p.cmd, messageId: p.messageId, reasonCode: p.reasonCode };
        if (p.cmd === 'publish')
          Object.assign(f, { topic: p.topic, qos: p.qos, dup: p.dup, retain: p.retain, payload: String(p.payload) });
        return f;
      };
      for (let i = 0; i < ours.length; i++) expect(fields(ours[i] as never)).toEqual(fields(theirs[i]));
      // A partial packet and a SUBSCRIBE stop the fast path at their start.
      const partial: Packet[] = [];
      expect(decodeFast(all.subarray(0, packets[0].length + 5), v, partial)).toBe(packets[0].length);
      const sub = gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
      const mixed: Packet[] = [];
      expect(decodeFast(Buffer.concat([packets[2], sub, packets[3]]), v, mixed)).toBe(packets[2].length);
      // QoS 3 and reserved flags are left to mqtt-packet (which reports the error).
      expect(decodeFast(Buffer.from([0x36, 0x03, 0, 1, 0x61]), v, [])).toBe(0);
      expect(decodeFast(Buffer.from([0x41, 0x02, 0, 1]), v, [])).toBe(0);
    });
  }
  it('leaves a 5.0 PUBLISH with properties to mqtt-packet', () => {
    const p = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.from('x'),
        qos: 0,
        retain: false,
        dup: false,
        properties: { contentType: 'a' },
      },
      { protocolVersion: 5 },
    );
    expect(decodeFast(p, 5, [])).toBe(0);
  });
});
