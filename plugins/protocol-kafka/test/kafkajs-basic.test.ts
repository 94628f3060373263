import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, waitFor } from './helpers.js';

describe('kafkajs: admin, produce, consume', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    b = await startKafkaBroker({ autoCreateTopics: false });
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('creates, lists, describes and deletes topics', async () => {
    const admin = b.kafka().admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic: 'admin-t1', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
        }),
      ).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: 'admin-t1', numPartitions: 3 }] })).toBe(false);
      expect(await admin.listTopics()).toContain('admin-t1');
      const md = await admin.fetchTopicMetadata({ topics: ['admin-t1'] });
      expect(md.topics[0].partitions).toHaveLength(3);
      const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: 'admin-t1' }], includeSynonyms: false });
      const retention = cfg.resources[0].configEntries.find((e) => e.configName === 'retention.ms');
      expect(retention?.configValue).toBe('60000');
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: 2,
            name: 'admin-t1',
            configEntries: [
              { name: 'retention.ms', value: '120000' },
              { name: 'cleanup.policy', value: 'compact' },
            ],
          },
        ],
      });
      const altered = await admin.describeConfigs({ resources: [{ type: 2, name: 'admin-t1' }], includeSynonyms: false });
      const entries = Object.fromEntries(altered.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
      expect(entries).toMatchObject({ 'retention.ms': '120000', 'cleanup.policy': 'compact' });
      expect(await b.broker.logStore.describeTopic('admin-t1')).toMatchObject({ retentionMs: 120000, cleanupPolicy: 'compact' });
      await admin.createPartitions({ topicPartitions: [{ topic: 'admin-t1', count: 5 }] });
      const md2 = await admin.fetchTopicMetadata({ topics: ['admin-t1'] });
      expect(md2.topics[0].partitions).toHaveLength(5);
      await admin.deleteTopics({ topics: ['admin-t1'] });
      expect(await admin.listTopics()).not.toContain('admin-t1');
      await expect(admin.createTopics({ topics: [{ topic: 'bad topic!', numPartitions: 1 }] })).rejects.toThrow();
    } finally {
      await admin.disconnect();
    }
  });

  it('produces and consumes records with keys, headers and offsets', async () => {
    const kafka = b.kafka();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'pc', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}`, headers: { h: `x${i}` } }));
    const res = await producer.send({ topic: 'pc', acks: -1, messages: sent.slice(0, 25) });
    expect(res.every((r) => r.errorCode === 0)).toBe(true);
    await producer.send({ topic: 'pc', acks: 1, messages: sent.slice(25) });
    await producer.disconnect();

    const offsets = await (async () => {
      const a = kafka.admin();
      await a.connect();
      const o = await a.fetchTopicOffsets('pc');
      await a.disconnect();
      return o;
    })();
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(50);

    const consumer = kafka.consumer({ groupId: 'g-basic', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'pc', fromBeginning: true });
    const got: Array<{ key: string; value: string; h: string; partition: number; offset: string }> = [];
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        got.push({
          key: message.key!.toString(),
          value: message.value!.toString(),
          h: message.headers!.h!.toString(),
          partition,
          offset: message.offset,
        });
      },
    });
    await waitFor(() => got.length >= 50, 15000, '50 messages');
    await consumer.disconnect();
    expect(new Set(got.map((g) => g.value)).size).toBe(50);
    for (const g of got) expect(g.h).toBe(`x${Number(g.value.slice(1))}`);
    // Same key → same partition, offsets increase within a partition.
    const byKey = new Map<string, Set<number>>();
    for (const g of got) byKey.set(g.key, (byKey.get(g.key) ?? new Set()).add(g.partition));
    for (const parts of byKey.values()) expect(parts.size).toBe(1);
  });

  it('answers unknown topics with UNKNOWN_TOPIC_OR_PARTITION when auto-creation is off', async () => {
    const producer = b.kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await expect(producer.send({ topic: 'does-not-exist', messages: [{ value: 'x' }] })).rejects.toThrow(
      /not host|does not exist|unknown/i,
    );
    await producer.disconnect();
  });
});
