import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, tempDir, waitFor } from './helpers.js';

describe('storage-file: committed offsets and records survive a broker restart', () => {
  let b: KafkaTestBroker | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await b?.stop();
    await cleanup?.();
  });

  it('a consumer group resumes from its committed offsets after the restart', async () => {
    const tmp = await tempDir('kafka-restart-');
    cleanup = tmp.cleanup;
    const start = () =>
      startKafkaBroker(
        {},
        { storage: 'storage-file', dataDir: tmp.dir, plugins: { 'storage-file': { options: { fsync: 'never' } } } },
      );

    b = await start();
    let kafka = b.kafka();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 2 }] });
    await admin.disconnect();
    let producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'durable',
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `before-${i}` })),
    });
    await producer.disconnect();

    const consume = async (groupId: string, expected: number) => {
      const got: string[] = [];
      const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
      await c.connect();
      await c.subscribe({ topic: 'durable', fromBeginning: true });
      await c.run({ autoCommitInterval: 100, eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      await waitFor(() => got.length >= expected, 15000, `${expected} records for ${groupId}`);
      await new Promise((r) => setTimeout(r, 300));
      await c.disconnect();
      return got;
    };
    expect((await consume('resume', 20)).length).toBe(20);
    await b.stop();

    b = await start();
    kafka = b.kafka();
    producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'durable',
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `after-${i}` })),
    });
    await producer.disconnect();

    const resumed = await consume('resume', 10);
    expect(resumed.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `after-${i}`).sort());
    const everything = await consume('fresh', 30);
    expect(everything.filter((v) => v.startsWith('before-'))).toHaveLength(20);
    await b.stop();
    b = undefined;
  });

  it('@platformatic/kafka resumes from committed offsets after the restart', async () => {
    const tmp = await tempDir('kafka-restart-pk-');
    const start = () =>
      startKafkaBroker(
        {},
        { storage: 'storage-file', dataDir: tmp.dir, plugins: { 'storage-file': { options: { fsync: 'never' } } } },
      );
    try {
      b = await start();
      const produce = async (values: string[]) => {
        const p = new Producer({
          clientId: 'pk-r',
          bootstrapBrokers: [b!.bootstrap],
          serializers: stringSerializers,
          autocreateTopics: true,
        });
        await p.send({ messages: values.map((value) => ({ topic: 'pk-durable', value })) });
        await p.close();
      };
      const consume = async (expected: number) => {
        const c = new Consumer({
          groupId: 'pk-resume',
          clientId: 'pk-r',
          bootstrapBrokers: [b!.bootstrap],
          deserializers: stringDeserializers,
        });
        const s = await c.consume({
          topics: ['pk-durable'],
          mode: 'committed',
          fallbackMode: 'earliest',
          autocommit: 50,
          sessionTimeout: 6000,
          heartbeatInterval: 500,
          maxWaitTime: 200,
        });
        const got: string[] = [];
        s.on('data', (m) => got.push(m.value as string));
        await waitFor(() => got.length >= expected, 15000, `${expected} records`);
        await new Promise((r) => setTimeout(r, 300));
        await s.close();
        await c.close(true);
        return got;
      };
      await produce(Array.from({ length: 8 }, (_, i) => `one-${i}`));
      expect(await consume(8)).toHaveLength(8);
      await b.stop();
      b = await start();
      await produce(Array.from({ length: 4 }, (_, i) => `two-${i}`));
      expect(await consume(4)).toEqual(['two-0', 'two-1', 'two-2', 'two-3']);
    } finally {
      await b?.stop();
      b = undefined;
      await tmp.cleanup();
    }
  });
});
