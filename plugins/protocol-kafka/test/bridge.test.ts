import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, waitFor } from './helpers.js';

describe('cross-protocol: MQTT → Kafka and Kafka → MQTT', () => {
  let b: KafkaTestBroker;
  let mqttPort: number;
  beforeAll(async () => {
    b = await startKafkaBroker(
      {
        bridge: {
          mqttToKafka: [
            { from: 'sensors/#', to: 'sensors', key: 'topic', partitions: 2 },
            { from: 'meters/+', to: 'meters', key: 'field:id' },
          ],
          kafkaToMqtt: [{ from: 'commands', to: 'devices/{key}/cmd' }],
        },
      },
      { plugins: { 'protocol-mqtt': { enabled: true, options: { port: 0 } } } },
    );
    mqttPort = b.broker.endpoints('protocol-mqtt').tcp;
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('appends MQTT publishes to the mapped Kafka topic with the MQTT topic as key and properties as headers', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 5, clientId: 'sensor-1' });
    await client.publishAsync('sensors/room1/temp', '21.5', {
      qos: 1,
      properties: { contentType: 'text/plain', userProperties: { unit: 'C' } },
    });
    await client.publishAsync('meters/m1', JSON.stringify({ id: 'meter-7', kwh: 3 }), { qos: 1 });
    await client.publishAsync('other/topic', 'not mapped', { qos: 1 });
    await client.endAsync();

    const kafka = b.kafka();
    const consumer = kafka.consumer({ groupId: 'bridge-in', maxWaitTimeInMs: 100 });
    const got: Array<{ topic: string; key: string | null; value: string; headers: Record<string, string> }> = [];
    await consumer.connect();
    await consumer.subscribe({ topics: ['sensors', 'meters'], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) =>
        void got.push({
          topic,
          key: message.key?.toString() ?? null,
          value: message.value!.toString(),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        }),
    });
    await waitFor(() => got.length >= 2, 10000, 'bridged records');
    await consumer.disconnect();
    const sensor = got.find((g) => g.topic === 'sensors')!;
    expect(sensor).toMatchObject({ key: 'sensors/room1/temp', value: '21.5' });
    expect(sensor.headers).toMatchObject({ 'mqtt-topic': 'sensors/room1/temp', 'content-type': 'text/plain', unit: 'C' });
    expect(got.find((g) => g.topic === 'meters')).toMatchObject({ key: 'meter-7' });
    expect(got).toHaveLength(2);
  });

  it('publishes records produced to a mapped Kafka topic to MQTT subscribers', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 5, clientId: 'device-9' });
    const received: Array<{ topic: string; payload: string; user?: Record<string, unknown>; contentType?: string }> = [];
    client.on('message', (topic, payload, packet) =>
      received.push({
        topic,
        payload: payload.toString(),
        user: packet.properties?.userProperties as Record<string, unknown> | undefined,
        contentType: packet.properties?.contentType,
      }),
    );
    await client.subscribeAsync('devices/+/cmd', { qos: 1 });
    const producer = b.kafka().producer();
    await producer.connect();
    await producer.send({
      topic: 'commands',
      messages: [{ key: 'dev9', value: 'reboot', headers: { 'content-type': 'text/plain', reason: 'update' } }],
    });
    await producer.disconnect();
    await waitFor(() => received.length >= 1, 10000, 'MQTT delivery');
    await client.endAsync();
    expect(received[0]).toMatchObject({ topic: 'devices/dev9/cmd', payload: 'reboot', contentType: 'text/plain' });
    expect(received[0].user).toMatchObject({ reason: 'update' });
  });
});

describe('bridge options', () => {
  it('refuses to start with an MQTT → Kafka rule naming an illegal Kafka topic', async () => {
    await expect(startKafkaBroker({ bridge: { mqttToKafka: [{ from: 'a/#', to: 'not/legal' }] } })).rejects.toThrow(
      /bridge\.mqttToKafka\.0\.to.*legal Kafka topic name/,
    );
  });
});
