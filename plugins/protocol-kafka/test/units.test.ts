import { describe, expect, it } from 'vitest';
import { fromKafkaHeaders, mqttTopicFor, recordKey, toKafkaHeaders } from '../src/bridge.js';
import { murmur2 } from '../src/murmur2.js';
import { a, f, readStruct, writeStruct } from '../src/protocol/schema.js';
import { Reader } from '../src/protocol/reader.js';
import { Writer } from '../src/protocol/writer.js';
import { fromTopicConfig, invalidTopicName, toTopicConfig } from '../src/topics.js';

describe('murmur2 (Kafka default partitioner hash)', () => {
  it('matches the reference values', () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of cases) expect(murmur2(Buffer.from(s))).toBe(h);
  });
});

describe('layout codec', () => {
  const layout = [
    f('id', 'int32'),
    f('name', 'string', '0+', { nullable: '1+' }),
    f('onlyNew', 'int64', '2+', { default: -1 }),
    a('items', [f('k', 'string'), f('v', 'bytes', '0+', { nullable: '0+' })]),
    f('hint', 'string', '2+', { nullable: '2+', tag: 0 }),
  ];
  for (const [version, flexible] of [
    [0, false],
    [1, false],
    [2, true],
  ] as const) {
    it(`round-trips v${version}${flexible ? ' (flexible)' : ''}`, () => {
      const value = {
        id: 7,
        name: version >= 1 ? null : 'n',
        onlyNew: 5,
        items: [
          { k: 'a', v: Buffer.from('x') },
          { k: 'b', v: null },
        ],
        hint: 'h',
      };
      const w = new Writer(8);
      writeStruct(w, layout, value, version, flexible);
      const back = readStruct(new Reader(w.toBuffer()), layout, version, flexible);
      expect(back).toEqual({ ...value, onlyNew: version >= 2 ? 5 : -1, hint: flexible ? 'h' : '' });
    });
  }
  it('skips unknown tagged fields', () => {
    const w = new Writer();
    w.int32(1)
      .uvarint(2)
      .uvarint(99)
      .uvarint(3)
      .bytes(Buffer.from([1, 2, 3]))
      .uvarint(0)
      .uvarint(2)
      .uvarint(2)
      .bytes(Buffer.from('h'));
    expect(readStruct(new Reader(w.toBuffer()), [f('id', 'int32'), f('hint', 'string', '0+', { tag: 0 })], 0, true)).toEqual({
      id: 1,
      hint: 'h',
    });
  });
});

describe('bridge mapping', () => {
  it('turns MQTT properties into Kafka headers and back', () => {
    const headers = toKafkaHeaders(
      { 'content-type': 'text/plain', 'mqtt-user-unit': 'C', 'correlation-data': Buffer.from([1, 2]) },
      'a/b',
    );
    expect(headers.map((h) => [h.key, h.value?.toString('hex')])).toEqual([
      ['mqtt-topic', Buffer.from('a/b').toString('hex')],
      ['content-type', Buffer.from('text/plain').toString('hex')],
      ['unit', Buffer.from('C').toString('hex')],
      ['correlation-data', '0102'],
    ]);
    expect(fromKafkaHeaders(headers)).toEqual({
      'content-type': 'text/plain',
      'mqtt-user-unit': 'C',
      'correlation-data': Buffer.from([1, 2]),
    });
  });
  it('derives keys and MQTT topics from the rules', () => {
    const rule = { from: 'x/#', to: 't', key: 'field:id', partitions: 1 };
    expect(recordKey(rule, 'x/1', Buffer.from('{"id":"dev-1"}'))?.toString()).toBe('dev-1');
    expect(recordKey(rule, 'x/1', Buffer.from('{"id":42}'))?.toString()).toBe('42');
    expect(recordKey(rule, 'x/1', Buffer.from('not json'))).toBeNull();
    expect(recordKey({ ...rule, key: 'topic' }, 'x/1', Buffer.alloc(0))?.toString()).toBe('x/1');
    expect(recordKey({ ...rule, key: 'none' }, 'x/1', Buffer.alloc(0))).toBeNull();
    expect(mqttTopicFor({ from: 'c', to: 'd/{key}/{topic}/{partition}', qos: 1 }, 'c', 2, Buffer.from('a+b'))).toBe('d/a_b/c/2');
  });
});

describe('topic names and configs', () => {
  it('applies Kafka topic name rules', () => {
    expect(invalidTopicName('orders.v1_x-y')).toBeUndefined();
    for (const bad of ['', '.', '..', 'a/b', 'a b', 'x'.repeat(250)]) expect(invalidTopicName(bad)).toBeDefined();
  });
  it('maps Kafka topic configs to TopicConfig and back', () => {
    const c = toTopicConfig([
      { name: 'retention.ms', value: '1000' },
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'max.message.bytes', value: '5000' },
    ]);
    expect(c).toEqual({ retentionMs: 1000, cleanupPolicy: 'compact', extra: { 'max.message.bytes': '5000' } });
    expect(() => toTopicConfig([{ name: 'retention.ms', value: 'soon' }])).toThrow(/integer/);
    const back = fromTopicConfig({ partitions: 1, ...c });
    expect(back).toContainEqual({ name: 'retention.ms', value: '1000', isDefault: false });
    expect(back).toContainEqual({ name: 'max.message.bytes', value: '5000', isDefault: false });
    expect(back).toContainEqual({ name: 'retention.bytes', value: '-1', isDefault: true });
  });
});

describe('README', () => {
  it('lists exactly the advertised API keys and version ranges', async () => {
    const { readFile } = await import('node:fs/promises');
    const { API_SPECS } = await import('../src/protocol/apis.js');
    const text = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...text.matchAll(/^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*([\d–]+)\s*\|\s*(\S+)\s*\|$/gm)].map((m) =>
      m.slice(1, 5).join(' '),
    );
    const expected = [...API_SPECS]
      .sort((x, y) => x.key - y.key)
      .map((s) =>
        [
          s.key,
          s.name,
          s.minVersion === s.maxVersion ? s.minVersion : `${s.minVersion}–${s.maxVersion}`,
          Number.isFinite(s.flexibleFrom) ? `${s.flexibleFrom}+` : 'none',
        ].join(' '),
      );
    expect(rows).toEqual(expected);
  });
});
