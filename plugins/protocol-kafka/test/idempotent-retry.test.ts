import { Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropProxy } from './drop-proxy.js';
import { type KafkaTestBroker, startKafkaBroker } from './helpers.js';

describe('idempotent producer retries after a lost response', () => {
  let b: KafkaTestBroker;
  const proxy = new DropProxy();
  beforeAll(async () => {
    // Clients learn the proxy's address from Metadata, so every connection goes through it.
    const port = await proxy.listen();
    b = await startKafkaBroker({ advertisedHost: '127.0.0.1', advertisedPort: port });
    proxy.target = b.port;
  });
  afterAll(async () => {
    await b?.stop();
    await proxy.close();
  });

  const client = () =>
    new Kafka({
      clientId: 'retry',
      brokers: [`127.0.0.1:${proxy.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 50 },
    });

  it('kafkajs resends the batch with the same sequence and the broker stores it once', async () => {
    const producer = client().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'retry', acks: -1, messages: [{ value: 'first' }] });
    proxy.dropProduceResponses = 1;
    const [meta] = await producer.send({ topic: 'retry', acks: -1, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.send({ topic: 'retry', acks: -1, messages: [{ value: 'last' }] });
    await producer.disconnect();
    expect(proxy.dropped).toBe(1);
    expect(meta.baseOffset).toBe('1');
    const records = await b.broker.logStore.read({ topic: 'retry', partition: 0 }, 0, 100);
    expect(records.map((r) => r.value!.toString())).toEqual(['first', 'a', 'b', 'c', 'last']);
  });

  it('@platformatic/kafka retries the same way and the broker stores the batch once', async () => {
    await b.broker.logStore.createTopic('pk-retry', { partitions: 1 });
    const producer = new Producer({
      clientId: 'pk-retry',
      bootstrapBrokers: [`127.0.0.1:${proxy.port}`],
      serializers: stringSerializers,
      idempotent: true,
      retries: 8,
      retryDelay: 50,
    });
    try {
      await producer.send({ messages: [{ topic: 'pk-retry', value: 'first' }] });
      proxy.dropProduceResponses = 1;
      const before = proxy.dropped;
      await producer.send({ messages: ['a', 'b', 'c'].map((value) => ({ topic: 'pk-retry', value })) });
      await producer.send({ messages: [{ topic: 'pk-retry', value: 'last' }] });
      expect(proxy.dropped).toBe(before + 1);
    } finally {
      await producer.close();
    }
    const records = await b.broker.logStore.read({ topic: 'pk-retry', partition: 0 }, 0, 100);
    expect(records.map((r) => r.value!.toString())).toEqual(['first', 'a', 'b', 'c', 'last']);
  });

  it('without idempotence the same lost response duplicates the batch (what the check prevents)', async () => {
    const producer = client().producer({ idempotent: false, maxInFlightRequests: 1 });
    await producer.connect();
    proxy.dropProduceResponses = 1;
    await producer.send({ topic: 'retry-plain', acks: -1, messages: [{ value: 'x' }] });
    await producer.disconnect();
    const records = await b.broker.logStore.read({ topic: 'retry-plain', partition: 0 }, 0, 100);
    expect(records.map((r) => r.value!.toString())).toEqual(['x', 'x']);
  });
});
