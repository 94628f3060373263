import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeProperties, encodePublish } from '../src/fast-encode.js';
import { client, closeClients, collect, RawClient, sleep, startTestBroker, type TestBroker, waitFor } from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ topicAliasMaximum: 10 });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

describe.each([4, 5] as const)('PUBLISH, protocol version %i', (protocolVersion) => {
  it.each([0, 1, 2] as const)('delivers QoS %i end to end with min(published, granted) QoS', async (qos) => {
    const sub = await client(tb, { protocolVersion });
    const pub = await client(tb, { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync(`q/${protocolVersion}/${qos}`, { qos: 2 });
    await pub.publishAsync(`q/${protocolVersion}/${qos}`, `m${qos}`, { qos });
    await waitFor(() => got.length === 1);
    expect(got[0].payload).toBe(`m${qos}`);
    expect(got[0].packet.qos).toBe(qos);
  });

  it('downgrades to the granted QoS', async () => {
    const sub = await client(tb, { protocolVersion });
    const pub = await client(tb, { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync(`down/${protocolVersion}`, { qos: 1 });
    await pub.publishAsync(`down/${protocolVersion}`, 'x', { qos: 2 });
    await waitFor(() => got.length === 1);
    expect(got[0].packet.qos).toBe(1);
  });

  it.each([1, 2] as const)('keeps the order of many QoS %i messages', async (qos) => {
    const sub = await client(tb, { protocolVersion });
    const pub = await client(tb, { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync(`order/${protocolVersion}`, { qos: 2 });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) sends.push(pub.publishAsync(`order/${protocolVersion}`, String(i), { qos }));
    await Promise.all(sends);
    await waitFor(() => got.length === 200);
    expect(got.map((g) => Number(g.payload))).toEqual([...Array(200).keys()]);
  });
});

describe('MQTT 5 publish properties', () => {
  it('passes content type, response topic, correlation data, payload format and user properties through', async () => {
    const sub = await client(tb, { protocolVersion: 5 });
    const pub = await client(tb, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('props/x', { qos: 1 });
    await pub.publishAsync('props/x', 'body', {
      qos: 1,
      properties: {
        contentType: 'text/plain',
        responseTopic: 'reply/here',
        correlationData: Buffer.from('corr-1'),
        payloadFormatIndicator: true,
        userProperties: { a: '1', b: ['x', 'y'] },
      },
    });
    await waitFor(() => got.length === 1);
    const p = got[0].packet.properties;
    expect(p?.contentType).toBe('text/plain');
    expect(p?.responseTopic).toBe('reply/here');
    expect(p?.correlationData?.toString()).toBe('corr-1');
    expect(p?.payloadFormatIndicator).toBe(true);
    expect(p?.userProperties).toEqual({ a: '1', b: ['x', 'y'] });
  });

  it('keeps the order of user properties, also with repeated names', async () => {
    const sub = await RawClient.connected(tb.port, 5);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'uorder/x', qos: 0 }] });
    await sub.next('suback');
    const pub = await RawClient.connected(tb.port, 5);
    // colour=blue, size=7, colour=green: mqtt-packet cannot write this order, so the bytes are built here.
    const props = encodeProperties({
      userProperties: [
        ['colour', 'blue'],
        ['size', '7'],
        ['colour', 'green'],
      ],
    });
    pub.sendRaw(encodePublish('uorder/x', Buffer.from('p'), 0, false, false, 0, props));
    await waitFor(() => sub.count('publish') === 1);
    const raw: Buffer[] = [];
    sub.socket.on('data', (d) => raw.push(d));
    pub.sendRaw(encodePublish('uorder/x', Buffer.from('q'), 0, false, false, 0, props));
    await waitFor(() => raw.length > 0);
    const text = Buffer.concat(raw).toString('latin1');
    expect(text.indexOf('blue')).toBeGreaterThan(0);
    expect(text.indexOf('blue')).toBeLessThan(text.indexOf('size'));
    expect(text.indexOf('size')).toBeLessThan(text.indexOf('green'));
    sub.end();
    pub.end();
  });

  it('decrements the message expiry interval and drops expired queued messages', async () => {
    const sub = await client(tb, {
      protocolVersion: 5,
      clientId: 'exp-sub',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await sub.subscribeAsync('exp/x', { qos: 1 });
    await sub.endAsync();
    const pub = await client(tb, { protocolVersion: 5 });
    await pub.publishAsync('exp/x', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('exp/x', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await sleep(1200);
    const again = await client(tb, {
      protocolVersion: 5,
      clientId: 'exp-sub',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    const got = collect(again);
    await waitFor(() => got.length === 1);
    await sleep(100);
    expect(got.map((g) => g.payload)).toEqual(['long']);
    const left = got[0].packet.properties?.messageExpiryInterval as number;
    expect(left).toBeLessThan(100);
    expect(left).toBeGreaterThan(90);
  });

  it('answers 0x10 No matching subscribers and 0x99 for an invalid UTF-8 payload with format indicator 1', async () => {
    const pub = await client(tb, { protocolVersion: 5 });
    const codes: number[] = [];
    pub.on('packetreceive', (p) => {
      if (p.cmd === 'puback') codes.push(p.reasonCode ?? 0);
    });
    await pub.publishAsync('nobody/here', 'x', { qos: 1 }).catch(() => undefined);
    await pub
      .publishAsync('nobody/here', Buffer.from([0xff, 0xfe]), { qos: 1, properties: { payloadFormatIndicator: true } })
      .catch(() => undefined);
    await waitFor(() => codes.length === 2);
    expect(codes).toEqual([0x10, 0x99]);
  });

  it('resolves topic aliases from the client and sends aliases to a client that allows them', async () => {
    const sub = await client(tb, { protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
    const raw: Array<{ topic: string; alias?: number }> = [];
    sub.on('packetreceive', (p) => {
      if (p.cmd === 'publish') raw.push({ topic: p.topic, alias: p.properties?.topicAlias });
    });
    const got = collect(sub);
    await sub.subscribeAsync('alias/#', { qos: 0 });
    const pub = await client(tb, { protocolVersion: 5 });
    await pub.publishAsync('alias/one', '1', { properties: { topicAlias: 3 } });
    await pub.publishAsync('', '2', { properties: { topicAlias: 3 } });
    await waitFor(() => got.length === 2);
    expect(got.map((g) => [g.topic, g.payload])).toEqual([
      ['alias/one', '1'],
      ['alias/one', '2'],
    ]);
    // First PUBLISH sets alias 1 with the topic, the second uses the alias alone.
    expect(raw[0]).toEqual({ topic: 'alias/one', alias: 1 });
    expect(raw[1]).toEqual({ topic: '', alias: 1 });
  });

  it('sends subscription identifiers, merged for overlapping subscriptions', async () => {
    const sub = await client(tb, { protocolVersion: 5 });
    const got = collect(sub);
    await sub.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await sub.subscribeAsync('sid/#', { qos: 0, properties: { subscriptionIdentifier: 9 } });
    const pub = await client(tb, { protocolVersion: 5 });
    await pub.publishAsync('sid/a', 'x', { qos: 1 });
    await waitFor(() => got.length === 1);
    await sleep(50);
    expect(got.length).toBe(1);
    const ids = got[0].packet.properties?.subscriptionIdentifier;
    expect([ids].flat().sort()).toEqual([7, 9]);
    expect(got[0].packet.qos).toBe(1);
  });

  it("respects the client's Receive Maximum (flow control)", async () => {
    const sub = await RawClient.connected(tb.port, 5, { properties: { receiveMaximum: 2 } });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flow/x', qos: 1 }] });
    await sub.next('suback');
    const pub = await client(tb, { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pub.publishAsync('flow/x', String(i), { qos: 1 });
    await waitFor(() => sub.count('publish') === 2);
    await sleep(100);
    expect(sub.count('publish')).toBe(2);
    const first = await sub.next('publish');
    sub.send({ cmd: 'puback', messageId: first.messageId });
    await waitFor(() => sub.count('publish') === 2);
    await sleep(50);
    expect(sub.count('publish')).toBe(2);
    const seen = [first.payload.toString()];
    while (seen.length < 6) {
      const p = await sub.next('publish');
      seen.push(p.payload.toString());
      sub.send({ cmd: 'puback', messageId: p.messageId });
    }
    expect(seen).toEqual(['0', '1', '2', '3', '4', '5']);
    sub.end();
  });

  it("does not send a packet larger than the client's Maximum Packet Size", async () => {
    const sub = await client(tb, { protocolVersion: 5, properties: { maximumPacketSize: 200 } });
    const got = collect(sub);
    await sub.subscribeAsync('big/x', { qos: 1 });
    const pub = await client(tb, { protocolVersion: 5 });
    await pub.publishAsync('big/x', Buffer.alloc(500, 1), { qos: 1 });
    await pub.publishAsync('big/x', 'small', { qos: 1 });
    await waitFor(() => got.length === 1);
    await sleep(50);
    expect(got.map((g) => g.payload)).toEqual(['small']);
  });
});
