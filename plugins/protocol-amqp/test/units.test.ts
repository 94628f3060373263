import { describe, expect, it } from 'vitest';
import { headersMatch } from '../src/broker/headers-match.js';
import { bindingFilter, encodeLevel, publishTopic, swapSeparators, topicPatternMatches } from '../src/broker/topic-map.js';
import { decodeTable, encodeTable, Writer } from '../src/codec/field-table.js';
import { decodeContentHeader, FrameParser, writeContent } from '../src/codec/frames.js';
import { decodeMethod, writeMethod } from '../src/codec/methods.js';
import { ConfirmTracker } from '../src/confirms.js';

describe('field tables', () => {
  it('round-trips every value kind', () => {
    const t = {
      s: 'text',
      n: 42,
      neg: -7,
      big: 2 ** 40,
      f: 1.5,
      yes: true,
      no: false,
      nil: null,
      bytes: Buffer.from([1, 2, 3]),
      when: new Date(1_700_000_000_000),
      list: [1, 'two', [3], { four: 4 }],
      nested: { deep: { deeper: 'x' } },
    };
    expect(decodeTable(encodeTable(t))).toEqual(t);
  });

  it('decodes the narrow integer, float and decimal types clients send', () => {
    // b=-1, B=255, s=-2, u=65535, i=4294967295, f=0.5, D=scale 2 of 12345
    const body = Buffer.concat([
      Buffer.from([1, 0x61, 0x62, 0xff]),
      Buffer.from([1, 0x62, 0x42, 0xff]),
      Buffer.from([1, 0x63, 0x73, 0xff, 0xfe]),
      Buffer.from([1, 0x64, 0x75, 0xff, 0xff]),
      Buffer.from([1, 0x65, 0x69, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([1, 0x66, 0x66, 0x3f, 0, 0, 0]),
      Buffer.from([1, 0x67, 0x44, 2, 0, 0, 0x30, 0x39]),
    ]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    expect(decodeTable(Buffer.concat([len, body]))).toEqual({ a: -1, b: 255, c: -2, d: 65535, e: 4294967295, f: 0.5, g: 123.45 });
  });

  it('rejects truncated tables and unknown types', () => {
    expect(() => decodeTable(Buffer.from([0, 0, 0, 9, 1, 0x61]))).toThrow(/truncated/);
    expect(() => decodeTable(Buffer.from([0, 0, 0, 3, 1, 0x61, 0x3f]))).toThrow(/unknown field type/);
  });
});

describe('methods and frames', () => {
  it('packs consecutive bits into one octet and round-trips', () => {
    const w = new Writer();
    const args = {
      reserved1: 0,
      queue: 'q',
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: true,
      noWait: true,
      arguments: { a: 'b' },
    };
    writeMethod(w, 'queue.declare', args);
    const payload = Buffer.from(w.result());
    // class 50, method 10, short, shortstr "q", one octet of bits (durable|auto-delete|no-wait = 0b11010), table
    expect(payload.subarray(0, 8)).toEqual(Buffer.from([0, 50, 0, 10, 0, 0, 1, 0x71]));
    expect(payload[8]).toBe(0b11010);
    expect(decodeMethod(payload)).toMatchObject({ name: 'queue.declare', args });
  });

  it('splits content bodies at frame_max and reassembles headers', () => {
    const w = new Writer();
    const body = Buffer.alloc(10000, 5);
    writeContent(
      w,
      3,
      'basic.deliver',
      { consumerTag: 'c', deliveryTag: 9, redelivered: true, exchange: 'x', routingKey: 'k' },
      { contentType: 'a/b', deliveryMode: 2, timestamp: 5 },
      body,
      4096,
    );
    const frames = new FrameParser(4096).push(Buffer.from(w.result()));
    expect(frames.map((f) => [f.type, f.channel, f.payload.length])).toEqual([
      [1, 3, frames[0].payload.length],
      [2, 3, frames[1].payload.length],
      [3, 3, 4088],
      [3, 3, 4088],
      [3, 3, 10000 - 2 * 4088],
    ]);
    expect(decodeMethod(frames[0].payload).args).toMatchObject({ deliveryTag: 9, redelivered: true, routingKey: 'k' });
    expect(decodeContentHeader(frames[1].payload)).toEqual({
      classId: 60,
      bodySize: 10000,
      properties: { contentType: 'a/b', deliveryMode: 2, timestamp: 5 },
    });
  });

  it('parses frames split at any byte and refuses oversize frames and bad frame ends', () => {
    const w = new Writer();
    writeMethod(w, 'basic.qos', { prefetchCount: 7, global: true });
    const m = Buffer.from(w.result());
    const frame = Buffer.concat([Buffer.from([1, 0, 1, 0, 0, 0, m.length]), m, Buffer.from([0xce])]);
    const p = new FrameParser(4096);
    const got = [];
    for (const byte of frame) got.push(...p.push(Buffer.from([byte])));
    expect(got.length).toBe(1);
    expect(decodeMethod(got[0].payload).args).toEqual({ prefetchSize: 0, prefetchCount: 7, global: true });
    expect(() => new FrameParser(4096).push(Buffer.from([1, 0, 1, 0, 1, 0, 0]))).toThrow(/exceeds frame_max/);
    const bad = Buffer.from(frame);
    bad[bad.length - 1] = 0;
    expect(() => new FrameParser(4096).push(bad)).toThrow(/bad frame end/);
  });
});

describe('routing keys and bindings on router topics', () => {
  const prefix = '$amqp/%2F/x';
  it('maps amq.topic keys to MQTT topics and back', () => {
    expect(publishTopic('', true, 'topic', 'a.b.c')).toBe('a/b/c');
    expect(swapSeparators('v1/report.pdf')).toBe('v1.report/pdf');
    expect(bindingFilter('', true, 'topic', 'a.*.#')).toEqual({ filter: 'a/+/#', needsCheck: false });
  });

  it('encodes levels and widens patterns the trie cannot hold', () => {
    expect(encodeLevel('a/b+c#d%e')).toBe('a%2Fb%2Bc%23d%25e');
    expect(publishTopic(prefix, false, 'direct', 'k.1/2')).toBe(`${prefix}/k.1%2F2`);
    expect(publishTopic(prefix, false, 'topic', 'k.1/2')).toBe(`${prefix}/k/1%2F2`);
    expect(bindingFilter(prefix, false, 'topic', '#.err')).toEqual({ filter: `${prefix}/#`, needsCheck: true });
    expect(bindingFilter(prefix, false, 'topic', 'a.#.z')).toEqual({ filter: `${prefix}/a/#`, needsCheck: true });
    expect(bindingFilter(prefix, false, 'fanout', 'ignored')).toEqual({ filter: `${prefix}/#`, needsCheck: false });
    expect(bindingFilter(prefix, false, 'headers', '')).toEqual({ filter: `${prefix}/#`, needsCheck: true });
  });

  it('matches AMQP topic patterns', () => {
    const cases: Array<[string, string, boolean]> = [
      ['#', '', true],
      ['#', 'a.b', true],
      ['a.#', 'a', true],
      ['#.a', 'a', true],
      ['a.#.b', 'a.b', true],
      ['a.#.b', 'a.x.y.b', true],
      ['a.*', 'a', false],
      ['*.*', 'a.b', true],
      ['a.*.c', 'a.b.c.d', false],
      ['#.#', 'x', true],
    ];
    for (const [p, k, want] of cases) expect([p, k, topicPatternMatches(p, k)]).toEqual([p, k, want]);
  });

  it('matches headers bindings', () => {
    expect(headersMatch({ 'x-match': 'all', a: 1, b: 'x' }, { a: 1, b: 'x', c: 3 })).toBe(true);
    expect(headersMatch({ 'x-match': 'all', a: 1, b: 'x' }, { a: 1 })).toBe(false);
    expect(headersMatch({ 'x-match': 'any', a: 1, b: 'x' }, { b: 'x' })).toBe(true);
    expect(headersMatch({ a: null }, { a: 'anything' })).toBe(true);
    expect(headersMatch({ 'x-match': 'any' }, { a: 1 })).toBe(false);
    expect(headersMatch({ 'x-match': 'all-with-x', 'x-k': 'v' }, { 'x-k': 'v' })).toBe(true);
  });
});

describe('publisher confirms', () => {
  it('confirms in order and collapses runs with multiple', () => {
    const sent: Array<[boolean, number, boolean]> = [];
    const t = new ConfirmTracker((ack, seq, multiple) => sent.push([ack, seq, multiple]));
    const seqs = [t.next(), t.next(), t.next(), t.next(), t.next()];
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    t.settle(3, true);
    t.settle(2, true);
    expect(sent).toEqual([]);
    t.settle(1, true);
    t.settle(4, false);
    t.settle(5, true);
    expect(sent).toEqual([
      [true, 3, true],
      [false, 4, false],
      [true, 5, false],
    ]);
  });
});
