import { decodeRecordBatches } from '@robustmq/sdk';
import { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKafkajsCodecs } from './codecs.js';
import { type KafkaTestBroker, startKafkaBroker, waitFor } from './helpers.js';

describe('kafkajs: compression codecs and the idempotent producer', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    registerKafkajsCodecs();
    b = await startKafkaBroker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  const codecs = [
    ['gzip', CompressionTypes.GZIP, 1],
    ['snappy', CompressionTypes.Snappy, 2],
    ['lz4', CompressionTypes.LZ4, 3],
    ['zstd', CompressionTypes.ZSTD, 4],
  ] as const;

  for (const [name, type, id] of codecs) {
    it(`stores ${name} batches as received and serves them back`, async () => {
      const topic = `codec-${name}`;
      const kafka = b.kafka();
      const producer = kafka.producer();
      await producer.connect();
      const values = Array.from({ length: 40 }, (_, i) => `${name}-${i}-${'x'.repeat(200)}`);
      await producer.send({ topic, compression: type, messages: values.map((value) => ({ value })) });
      await producer.disconnect();

      // Stored bytes keep the codec bits; the sdk decoder (with the plugin's decompressors) reads them.
      const stored = await b.broker.logStore.fetch({ topic, partition: 0 }, 0, 1 << 20);
      const batches = decodeRecordBatches(stored.batches);
      expect(batches[0].header.attributes & 7).toBe(id);
      expect(batches.flatMap((x) => x.records).map((r) => r.value!.toString())).toEqual(values);

      const consumer = kafka.consumer({ groupId: `g-${name}`, maxWaitTimeInMs: 100 });
      const got: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      await waitFor(() => got.length >= values.length, 10000, `${name} records`);
      await consumer.disconnect();
      expect(got).toEqual(values);
    });
  }

  it('an idempotent producer gets a producer id and its batches carry sequences', async () => {
    const kafka = b.kafka();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 3; i++)
      await producer.send({ topic: 'idem', acks: -1, messages: [{ value: `a${i}` }, { value: `b${i}` }] });
    await producer.disconnect();
    const stored = decodeRecordBatches((await b.broker.logStore.fetch({ topic: 'idem', partition: 0 }, 0, 1 << 20)).batches);
    expect(stored).toHaveLength(3);
    expect(stored.map((x) => x.header.baseSequence)).toEqual([0, 2, 4]);
    expect(stored[0].header.producerId).toBeGreaterThanOrEqual(0);
    expect(stored.flatMap((x) => x.records).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
