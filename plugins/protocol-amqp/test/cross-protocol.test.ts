import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpTestBroker, startAmqp, until } from './helpers.js';

let b: AmqpTestBroker;
let conn: ChannelModel;
let ch: Channel;
let client: MqttClient;

beforeAll(async () => {
  b = await startAmqp({ mqtt: true });
  conn = await amqp.connect(b.url);
  ch = await conn.createChannel();
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqttPort}`, { protocolVersion: 5, clientId: 'cross-1' });
});
afterAll(async () => {
  await client.endAsync();
  await conn.close();
  await b.stop();
});

describe('MQTT ↔ AMQP through amq.topic', () => {
  it('an MQTT publish to a/b/c reaches a queue bound to amq.topic with a.*.c', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'sensors.*.temp');
    const got: ConsumeMessage[] = [];
    await ch.consume(queue, (m) => m && got.push(m), { noAck: true });
    await client.publishAsync('sensors/kitchen/temp', '21.5', {
      qos: 1,
      properties: { contentType: 'text/plain', userProperties: { unit: 'C' }, correlationData: Buffer.from('corr') },
    });
    await client.publishAsync('sensors/kitchen/humidity', '40', { qos: 0 });
    await until(() => got.length === 1);
    const m = got[0];
    expect(m.content.toString()).toBe('21.5');
    expect(m.fields).toMatchObject({ exchange: 'amq.topic', routingKey: 'sensors.kitchen.temp' });
    expect(m.properties).toMatchObject({
      contentType: 'text/plain',
      deliveryMode: 2,
      correlationId: 'corr',
      headers: { unit: 'C' },
    });
  });

  it('an AMQP publish to amq.topic with key a.b.c reaches MQTT subscribers of a/+/c, properties mapped', async () => {
    const got: Array<{ topic: string; payload: string; props: mqtt.IPublishPacket['properties'] }> = [];
    client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), props: packet.properties }));
    await client.subscribeAsync('orders/+/created', { qos: 1 });
    ch.publish('amq.topic', 'orders.eu.created', Buffer.from('{"id":1}'), {
      contentType: 'application/json',
      replyTo: 'orders.replies',
      headers: { tenant: 'acme' },
    });
    ch.publish('amq.topic', 'orders.eu.deleted', Buffer.from('no'));
    await until(() => got.length === 1);
    expect(got[0].topic).toBe('orders/eu/created');
    expect(got[0].payload).toBe('{"id":1}');
    expect(got[0].props).toMatchObject({
      contentType: 'application/json',
      responseTopic: 'orders.replies',
      userProperties: { tenant: 'acme' },
    });
  });

  it('dots and slashes swap both ways, and # bindings see every MQTT topic', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'v1.#');
    await client.publishAsync('v1/files/report.pdf', 'x', { qos: 0 });
    await client.publishAsync('v1', 'root', { qos: 0 });
    const got: ConsumeMessage[] = [];
    await ch.consume(queue, (m) => m && got.push(m), { noAck: true });
    await until(() => got.length === 2);
    expect(got.map((m) => m.fields.routingKey).sort()).toEqual(['v1', 'v1.files.report/pdf']);
  });

  it('other exchanges stay out of MQTT topic space', async () => {
    const seen: string[] = [];
    client.on('message', (topic) => seen.push(topic));
    await client.subscribeAsync('#', { qos: 0 });
    await ch.assertExchange('private.x', 'topic', { durable: false });
    ch.publish('private.x', 'a.b', Buffer.from('hidden'));
    ch.publish('amq.topic', 'visible.one', Buffer.from('shown'));
    await until(() => seen.includes('visible/one'));
    expect(seen.some((t) => t.startsWith('$amqp') || t === 'a/b')).toBe(false);
  });
});
