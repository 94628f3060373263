import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, waitFor } from './helpers.js';

describe('kafkajs: group admin, offsets by timestamp, acks=0, fetch limits', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    b = await startKafkaBroker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('lists, describes and deletes groups; refuses to delete a group with members', async () => {
    const kafka = b.kafka();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ga', messages: [{ value: '1' }, { value: '2' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'ga-group', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    const got: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'ga', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    await waitFor(() => got.length === 2, 10000, 'two records');

    const admin = kafka.admin();
    await admin.connect();
    await waitFor(async () => (await admin.describeGroups(['ga-group'])).groups[0].state === 'Stable', 10000, 'stable group');
    const described = (await admin.describeGroups(['ga-group'])).groups[0];
    expect(described).toMatchObject({ groupId: 'ga-group', protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    expect(described.members).toHaveLength(1);
    expect((await admin.listGroups()).groups).toContainEqual({ groupId: 'ga-group', protocolType: 'consumer' });
    await expect(admin.deleteGroups(['ga-group'])).rejects.toThrow();

    await consumer.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: 'ga-group', topics: ['ga'] });
    expect(offsets[0].partitions[0].offset).toBe('2');
    expect((await admin.describeGroups(['ga-group'])).groups[0].state).toBe('Empty');
    await admin.deleteGroups(['ga-group']);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('ga-group');
    await expect(admin.deleteGroups(['never-existed'])).rejects.toThrow();
    // Committed offsets went with the group.
    expect((await admin.fetchOffsets({ groupId: 'ga-group', topics: ['ga'] }))[0].partitions[0].offset).toBe('-1');
    await admin.disconnect();
  });

  it('finds offsets by timestamp, earliest and latest', async () => {
    const kafka = b.kafka();
    const producer = kafka.producer();
    await producer.connect();
    const t0 = Date.now() - 100000;
    await producer.send({
      topic: 'ts',
      messages: [
        { value: 'a', timestamp: String(t0) },
        { value: 'b', timestamp: String(t0 + 1000) },
      ],
    });
    await producer.send({ topic: 'ts', messages: [{ value: 'c', timestamp: String(t0 + 2000) }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    expect((await admin.fetchTopicOffsetsByTimestamp('ts', t0 + 500))[0].offset).toBe('1');
    expect((await admin.fetchTopicOffsetsByTimestamp('ts', t0 + 1500))[0].offset).toBe('2');
    const o = (await admin.fetchTopicOffsets('ts'))[0];
    expect(o).toMatchObject({ low: '0', high: '3' });
    await admin.disconnect();
  });

  it('acks=0 produces without a response and the records are stored', async () => {
    const producer = b.kafka().producer();
    await producer.connect();
    await producer.send({ topic: 'noack', acks: 0, messages: Array.from({ length: 5 }, (_, i) => ({ value: `n${i}` })) });
    await waitFor(
      async () =>
        (await b.broker.logStore.offsets({ topic: 'noack', partition: 0 }).catch(() => ({ highWatermark: 0 }))).highWatermark ===
        5,
      5000,
      'five records',
    );
    await producer.send({ topic: 'noack', acks: 1, messages: [{ value: 'after' }] });
    await producer.disconnect();
  });

  it('respects fetch byte limits while always returning a whole first batch', async () => {
    const kafka = b.kafka();
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'big', messages: [{ value: Buffer.alloc(20000, i) }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'big-g', maxBytesPerPartition: 1000, maxBytes: 1000, maxWaitTimeInMs: 100 });
    const got: number[] = [];
    const batchSizes: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'big', fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        batchSizes.push(batch.messages.length);
        for (const m of batch.messages) got.push(m.value![0]);
      },
    });
    await waitFor(() => got.length >= 10, 15000, 'ten big records');
    await consumer.disconnect();
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.max(...batchSizes)).toBe(1);
  });
});

describe('kafkajs: transactions are refused at once', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    b = await startKafkaBroker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('a transactional producer fails to start with an authorization error, without retrying for long', async () => {
    const producer = b.kafka().producer({ transactionalId: 'tx-1', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const t0 = Date.now();
    await expect(producer.transaction()).rejects.toThrow(/authoriz|transaction|coordinator/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    await producer.disconnect();
  });
});
