import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { decodeRecordBatches } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, waitFor } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('@platformatic/kafka', () => {
  let b: KafkaTestBroker;
  let child: ChildProcess | undefined;
  const closers: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    b = await startKafkaBroker();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await b?.stop();
  });

  const admin = () => {
    const a = new Admin({ clientId: 'pk-admin', bootstrapBrokers: [b.bootstrap] });
    closers.push(() => a.close());
    return a;
  };

  it('creates, lists and deletes topics', async () => {
    const a = admin();
    await a.createTopics({ topics: ['pk-admin'], partitions: 2, replicas: 1 });
    expect(await a.listTopics()).toContain('pk-admin');
    const md = await a.metadata({ topics: ['pk-admin'] });
    expect(md.topics.get('pk-admin')?.partitionsCount).toBe(2);
    await a.deleteTopics({ topics: ['pk-admin'] });
    expect(await a.listTopics()).not.toContain('pk-admin');
  });

  for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`produces (${compression}, idempotent) and consumes`, async () => {
      const topic = `pk-${compression}`;
      await admin().createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const producer = new Producer({
        clientId: 'pk-producer',
        bootstrapBrokers: [b.bootstrap],
        serializers: stringSerializers,
        idempotent: true,
        compression,
      });
      closers.push(() => producer.close());
      const values = Array.from({ length: 20 }, (_, i) => `${compression}-${i}`);
      await producer.send({ messages: values.map((value, i) => ({ topic, key: `k${i}`, value, headers: { h: value } })) });
      await producer.close();

      const stored = decodeRecordBatches((await b.broker.logStore.fetch({ topic, partition: 0 }, 0, 1 << 20)).batches);
      expect(stored[0].header.attributes & 7).toBe(['none', 'gzip', 'snappy', 'lz4'].indexOf(compression));
      expect(stored[0].header.producerId).toBeGreaterThanOrEqual(0);

      const consumer = new Consumer({
        groupId: `pk-g-${compression}`,
        clientId: 'pk-consumer',
        bootstrapBrokers: [b.bootstrap],
        deserializers: stringDeserializers,
      });
      closers.push(async () => consumer.close(true));
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        sessionTimeout: 6000,
        heartbeatInterval: 500,
        maxWaitTime: 200,
      });
      const got: string[] = [];
      stream.on('data', (m) => got.push(m.value as string));
      await waitFor(() => got.length >= values.length, 10000, 'records');
      expect(got).toEqual(values);
      await stream.close();
      await consumer.close(true);
    });
  }

  it('a group of three rebalances when one leaves and when one is killed', async () => {
    const topic = 'pk-group';
    const a = admin();
    await a.createTopics({ topics: [topic], partitions: 6, replicas: 1 });
    const owned = new Map<string, number>();
    const member = async (name: string) => {
      const c = new Consumer({
        groupId: 'pk-g3',
        clientId: `pk-${name}`,
        bootstrapBrokers: [b.bootstrap],
        deserializers: stringDeserializers,
      });
      c.on('consumer:group:join', (e: { assignments: Array<{ topic: string; partitions: number[] }> }) =>
        owned.set(name, e.assignments.find((x) => x.topic === topic)?.partitions.length ?? 0),
      );
      const s = await c.consume({
        topics: [topic],
        mode: 'earliest',
        sessionTimeout: 3000,
        rebalanceTimeout: 4000,
        heartbeatInterval: 300,
        maxWaitTime: 200,
      });
      s.on('data', () => {});
      closers.push(async () => c.close(true));
      return { c, s };
    };
    await member('one');
    const two = await member('two');
    child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'fixtures/platformatic-member.ts'), b.bootstrap, 'pk-g3', topic],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const describeGroup = async () => (await a.describeGroups({ groups: ['pk-g3'] })).get('pk-g3')!;
    const members = async (n: number) => {
      const g = await describeGroup();
      return g.state === 'STABLE' && g.members.size === n;
    };
    await waitFor(() => members(3), 20000, 'three members');
    await two.s.close();
    await two.c.close(true);
    await waitFor(() => members(2), 20000, 'two members after a leave');
    child.kill('SIGKILL');
    await waitFor(() => members(1), 20000, 'one member after the session timeout');
    await waitFor(() => owned.get('one') === 6, 10000, 'the last member owns every partition');
  });
});
