import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, startAmqp, until } from './helpers.js';

let b: AmqpTestBroker;

beforeAll(async () => {
  b = await startAmqp({
    extra: {
      'protocol-kafka': {
        enabled: true,
        options: { port: 0, host: '127.0.0.1', bridge: { kafkaToMqtt: [{ from: 'orders', to: 'kafka/orders' }] } },
      },
    },
  });
});
afterAll(async () => {
  await b.stop();
});

describe('a queue fed from a Kafka topic', () => {
  it('records produced to a bridged Kafka topic reach a queue bound to amq.topic', async () => {
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'kafka.orders');
    const kafka = new Kafka({ brokers: [`127.0.0.1:${b.broker.endpoints('protocol-kafka').kafka}`], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'orders',
      messages: [{ key: 'k1', value: 'order-1', headers: { 'content-type': 'text/plain' } }],
    });
    await producer.disconnect();
    const got: amqp.ConsumeMessage[] = [];
    await ch.consume(queue, (m) => m && got.push(m), { noAck: true });
    await until(() => got.length === 1, 5000, 'the Kafka record');
    expect(got[0].content.toString()).toBe('order-1');
    expect(got[0].fields).toMatchObject({ exchange: 'amq.topic', routingKey: 'kafka.orders' });
    expect(got[0].properties.contentType).toBe('text/plain');
    await conn.close();
  });
});
