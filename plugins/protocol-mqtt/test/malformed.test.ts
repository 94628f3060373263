import mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { client, closeClients, collect, RawClient, startTestBroker, type TestBroker, waitFor } from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ maxPacketSize: 1024 });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

/** The broker still serves a well-behaved client. */
async function stillServes(): Promise<void> {
  const c = await client(tb, { protocolVersion: 5 });
  const got = collect(c);
  await c.subscribeAsync('health/x', { qos: 1 });
  await c.publishAsync('health/x', 'ok', { qos: 1 });
  await waitFor(() => got.length === 1);
  await c.endAsync();
}

const v5 = (bytes: number[] | Buffer) => Buffer.from(bytes);
function publishBytes(topic: Buffer, version: 4 | 5, header = 0x30): Buffer {
  const props = version === 5 ? [0] : [];
  const body = Buffer.concat([
    Buffer.from([topic.length >> 8, topic.length & 0xff]),
    topic,
    Buffer.from(props),
    Buffer.from('x'),
  ]);
  return Buffer.concat([Buffer.from([header, body.length]), body]);
}

/** Asserts the connection closes, with DISCONNECT `code` first for 5.0. */
async function expectClosed(c: RawClient, code?: number): Promise<void> {
  await c.waitClosed();
  if (code !== undefined) expect(c.packets.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: code });
}

describe.each([4, 5] as const)('malformed input after CONNECT, protocol version %i', (version) => {
  const code = (c: number) => (version === 5 ? c : undefined);

  it('truncated packet (string longer than the remaining length)', async () => {
    const c = await RawClient.connected(tb.port, version);
    // SUBSCRIBE id 1, filter length 10 but only 3 bytes inside the packet.
    c.sendRaw(version === 5 ? [0x82, 0x07, 0, 1, 0, 0, 10, 0x61, 0x62] : [0x82, 0x06, 0, 1, 0, 10, 0x61, 0x62]);
    await expectClosed(c, code(0x81));
    await stillServes();
  });

  it('bad remaining length (five continuation bytes)', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.sendRaw([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    await expectClosed(c, code(0x81));
    await stillServes();
  });

  it('reserved fixed-header flags set (SUBSCRIBE with flags 0000)', async () => {
    const c = await RawClient.connected(tb.port, version);
    const sub = mqttPacket.generate(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] },
      { protocolVersion: version },
    );
    sub[0] = 0x80;
    c.sendRaw(sub);
    await expectClosed(c, code(0x81));
    await stillServes();
  });

  it('invalid UTF-8 in a PUBLISH topic', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.sendRaw(publishBytes(Buffer.from([0x61, 0xc3, 0x28]), version));
    await expectClosed(c, code(0x81));
    await stillServes();
  });

  it('wildcards in a PUBLISH topic', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.sendRaw(publishBytes(Buffer.from('a/+/b'), version));
    await expectClosed(c, code(0x90));
    const d = await RawClient.connected(tb.port, version);
    d.sendRaw(publishBytes(Buffer.from('a/#'), version));
    await expectClosed(d, code(0x90));
    await stillServes();
  });

  it('a second CONNECT', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: 'again', clean: true, keepalive: 0 });
    await expectClosed(c, code(0x82));
    await stillServes();
  });

  it('QoS 3 in a PUBLISH', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.sendRaw(publishBytes(Buffer.from('a'), version, 0x36));
    await expectClosed(c, code(0x81));
    await stillServes();
  });

  it('an oversized packet is refused from its header', async () => {
    const c = await RawClient.connected(tb.port, version);
    // Announces 2 MB; only the header is sent.
    c.sendRaw([0x30, 0x80, 0x80, 0x80, 0x01]);
    await expectClosed(c, code(0x95));
    await stillServes();
  });

  it('DUP on a QoS 0 PUBLISH and packet identifier 0', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.sendRaw(publishBytes(Buffer.from('a'), version, 0x38));
    await expectClosed(c, code(0x81));
    const d = await RawClient.connected(tb.port, version);
    d.sendRaw(version === 5 ? [0x32, 0x06, 0, 1, 0x61, 0, 0, 0] : [0x32, 0x05, 0, 1, 0x61, 0, 0]);
    await expectClosed(d, code(0x81));
    await stillServes();
  });

  it('a server-only packet (CONNACK) from the client', async () => {
    const c = await RawClient.connected(tb.port, version);
    c.sendRaw([0x20, 0x02, 0x00, 0x00]);
    await expectClosed(c, code(0x82));
    await stillServes();
  });
});

describe('malformed input before or in CONNECT', () => {
  it('closes a connection whose first packet is not CONNECT, without an answer', async () => {
    const c = await RawClient.open(tb.port, 4);
    c.sendRaw([0xc0, 0x00]);
    await c.waitClosed();
    expect(c.packets.length).toBe(0);
    await stillServes();
  });

  it('answers an unknown protocol level with CONNACK 0x01 (3.1.1 style)', async () => {
    const c = await RawClient.open(tb.port, 4);
    c.sendRaw(v5([0x10, 0x0c, 0, 4, 0x4d, 0x51, 0x54, 0x54, 0x09, 0x02, 0, 0, 0, 0]));
    const ack = await c.next('connack');
    expect(ack.returnCode).toBe(1);
    await c.waitClosed();
    await stillServes();
  });

  it('answers a 5.0 CONNECT with a malformed property with CONNACK 0x81', async () => {
    const c = await RawClient.open(tb.port, 5);
    // Property id 0x7f does not exist.
    c.sendRaw(v5([0x10, 0x0f, 0, 4, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0, 0, 0x02, 0x7f, 0x00, 0, 0]));
    const ack = await c.next('connack');
    expect(ack.reasonCode).toBe(0x81);
    await c.waitClosed();
    await stillServes();
  });

  it('closes a 3.1.1 CONNECT with a password but no user name', async () => {
    const c = await RawClient.open(tb.port, 4);
    // Flags 0x42: password + clean session; client id "a"; password "pw".
    c.sendRaw(v5([0x10, 0x11, 0, 4, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x42, 0, 0, 0, 1, 0x61, 0, 2, 0x70, 0x77]));
    await c.waitClosed();
    expect(c.packets.length).toBe(0);
    await stillServes();
  });

  it('answers a CONNECT with the reserved flag set by closing', async () => {
    const c = await RawClient.open(tb.port, 4);
    c.sendRaw(v5([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x03, 0, 0, 0, 1, 0x61]));
    await c.waitClosed();
    await stillServes();
  });

  it('answers an oversized 5.0 CONNECT with CONNACK 0x95', async () => {
    const c = await RawClient.open(tb.port, 5);
    const big = mqttPacket.generate(
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'x'.repeat(2000), clean: true, keepalive: 0 },
      { protocolVersion: 5 },
    );
    c.sendRaw(big);
    const ack = await c.next('connack');
    expect(ack.reasonCode).toBe(0x95);
    await c.waitClosed();
    await stillServes();
  });

  it('answers a 5.0 CONNECT with a repeated property with CONNACK 0x82', async () => {
    const c = await RawClient.open(tb.port, 5);
    // Session Expiry Interval (0x11) twice.
    c.sendRaw(v5([0x10, 24, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 0, 10, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2, 0, 1, 0x61]));
    expect((await c.next('connack')).reasonCode).toBe(0x82);
    await c.waitClosed();
  });

  it('disconnects a 5.0 PUBLISH carrying a Subscription Identifier or a wildcard Response Topic (0x82)', async () => {
    const c = await RawClient.connected(tb.port, 5);
    c.send({
      cmd: 'publish',
      topic: 'a',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { subscriptionIdentifier: 3 },
    });
    await expectClosed(c, 0x82);
    const d = await RawClient.connected(tb.port, 5);
    d.send({
      cmd: 'publish',
      topic: 'a',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { responseTopic: 'r/#' },
    });
    await expectClosed(d, 0x82);
    await stillServes();
  });

  it('counts protocol errors in a metric', async () => {
    const text = await tb.broker.metrics.render();
    expect(text).toMatch(/robustmq_mqtt_protocol_errors_total\{code="0x81"\} [1-9]/);
    expect(text).toMatch(/robustmq_mqtt_protocol_errors_total\{code="0x95"\} [1-9]/);
  });
});
