import { afterAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, tempDir, waitFor } from './helpers.js';

describe('retention per topic through topic configs (storage-file enforces it)', () => {
  let b: KafkaTestBroker | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await b?.stop();
    await cleanup?.();
  });

  it('old segments of a topic with retention.ms are deleted and the log start moves', async () => {
    const tmp = await tempDir('kafka-retention-');
    cleanup = tmp.cleanup;
    b = await startKafkaBroker(
      {},
      {
        storage: 'storage-file',
        dataDir: tmp.dir,
        plugins: { 'storage-file': { options: { fsync: 'never', retentionCheckIntervalMs: 100 } } },
      },
    );
    const kafka = b.kafka();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: 'short-lived',
          numPartitions: 1,
          configEntries: [
            { name: 'retention.ms', value: '1000' },
            { name: 'segment.ms', value: '100' },
          ],
        },
        { topic: 'kept', numPartitions: 1 },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    const old = String(Date.now() - 3_600_000);
    for (const topic of ['short-lived', 'kept']) {
      await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `old-${i}`, timestamp: old })) });
    }
    await new Promise((r) => setTimeout(r, 250));
    for (const topic of ['short-lived', 'kept']) await producer.send({ topic, messages: [{ value: 'new' }] });
    await producer.disconnect();

    await waitFor(
      async () => Number((await admin.fetchTopicOffsets('short-lived'))[0].low) >= 5,
      10000,
      'log start past the old segment',
    );
    expect((await admin.fetchTopicOffsets('short-lived'))[0]).toMatchObject({ low: '5', high: '6' });
    expect((await admin.fetchTopicOffsets('kept'))[0]).toMatchObject({ low: '0', high: '6' });
    await admin.disconnect();

    const consumer = kafka.consumer({ groupId: 'ret', maxWaitTimeInMs: 100 });
    const got: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'short-lived', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    await waitFor(() => got.length >= 1, 10000, 'the surviving record');
    await consumer.disconnect();
    expect(got).toEqual(['new']);
  });
});
