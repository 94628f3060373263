import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { client, closeClients, collect, RawClient, sleep, startTestBroker, type TestBroker, waitFor } from './helpers.js';

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ sysInterval: 1 });
});
afterEach(closeClients);
afterAll(async () => {
  await tb.stop();
});

describe.each([4, 5] as const)('SUBSCRIBE, protocol version %i', (protocolVersion) => {
  it('matches + and # wildcards, including the parent level for #', async () => {
    const sub = await client(tb, { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync([`w${protocolVersion}/+/b`, `w${protocolVersion}/x/#`]);
    const pub = await client(tb, { protocolVersion });
    for (const t of ['a/b', 'a/c', 'x', 'x/y/z', 'q/b']) await pub.publishAsync(`w${protocolVersion}/${t}`, t);
    await waitFor(() => got.length === 4);
    await sleep(50);
    expect(got.map((g) => g.payload).sort()).toEqual(['a/b', 'q/b', 'x', 'x/y/z']);
  });

  it('does not match $SYS topics with a leading wildcard, but does with $SYS/#', async () => {
    const all = await client(tb, { protocolVersion });
    const sys = await client(tb, { protocolVersion });
    const gotAll = collect(all);
    const gotSys = collect(sys);
    await all.subscribeAsync('#');
    await sys.subscribeAsync('$SYS/broker/clients/+');
    await waitFor(() => gotSys.length > 0, 3000, '$SYS publish');
    expect(gotSys[0].topic.startsWith('$SYS/broker/clients/')).toBe(true);
    expect(gotAll.some((g) => g.topic.startsWith('$'))).toBe(false);
  });

  it('refuses invalid filters in SUBACK and keeps the valid ones', async () => {
    const c = await RawClient.connected(tb.port, protocolVersion);
    c.send({
      cmd: 'subscribe',
      messageId: 5,
      subscriptions: [
        { topic: 'ok/+', qos: 1 },
        { topic: 'bad/#/x', qos: 1 },
        { topic: 'bad+/x', qos: 0 },
        { topic: '$share/g', qos: 0 },
      ],
    } as never);
    const ack = await c.next('suback');
    expect(ack.granted).toEqual(protocolVersion === 5 ? [1, 0x8f, 0x8f, 0x8f] : [1, 0x80, 0x80, 0x80]);
    c.end();
  });

  it('unsubscribes', async () => {
    const sub = await client(tb, { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync(`u${protocolVersion}/x`);
    const pub = await client(tb, { protocolVersion });
    await pub.publishAsync(`u${protocolVersion}/x`, '1');
    await waitFor(() => got.length === 1);
    await sub.unsubscribeAsync(`u${protocolVersion}/x`);
    await pub.publishAsync(`u${protocolVersion}/x`, '2');
    await sleep(100);
    expect(got.length).toBe(1);
  });
});

describe('MQTT 5 subscription options', () => {
  it('UNSUBACK says 0x11 for a filter that had no subscription', async () => {
    const c = await RawClient.connected(tb.port, 5);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'un/a', qos: 0 }] });
    await c.next('suback');
    c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['un/a', 'un/b'] });
    const ack = await c.next('unsuback');
    expect(ack.granted).toEqual([0, 0x11]);
    c.end();
  });

  it('No Local: own messages are not delivered back', async () => {
    const c = await client(tb, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('nl/x', { qos: 0, nl: true });
    const other = await client(tb, { protocolVersion: 5 });
    await c.publishAsync('nl/x', 'mine');
    await other.publishAsync('nl/x', 'theirs');
    await waitFor(() => got.length === 1);
    await sleep(50);
    expect(got.map((g) => g.payload)).toEqual(['theirs']);
  });

  it('Retain As Published keeps the retain flag on live deliveries; otherwise it is cleared', async () => {
    const rap = await client(tb, { protocolVersion: 5 });
    const plain = await client(tb, { protocolVersion: 5 });
    const gotRap = collect(rap);
    const gotPlain = collect(plain);
    await rap.subscribeAsync('rap/x', { qos: 0, rap: true });
    await plain.subscribeAsync('rap/x', { qos: 0 });
    const pub = await client(tb, { protocolVersion: 5 });
    await pub.publishAsync('rap/x', 'r', { retain: true });
    await waitFor(() => gotRap.length === 1 && gotPlain.length === 1);
    expect(gotRap[0].packet.retain).toBe(true);
    expect(gotPlain[0].packet.retain).toBe(false);
    await pub.publishAsync('rap/x', '', { retain: true });
  });

  it('Retain Handling 0 sends retained on every subscribe, 1 only for a new subscription, 2 never', async () => {
    const pub = await client(tb, { protocolVersion: 5 });
    await pub.publishAsync('rh/x', 'kept', { retain: true, qos: 1 });
    for (const [rh, expected] of [
      [0, 2],
      [1, 1],
      [2, 0],
    ] as const) {
      const c = await client(tb, { protocolVersion: 5 });
      const got = collect(c);
      await c.subscribeAsync('rh/x', { qos: 1, rh });
      await c.subscribeAsync('rh/x', { qos: 1, rh });
      await sleep(100);
      expect(got.length, `rh=${rh}`).toBe(expected);
      for (const g of got) expect(g.packet.retain).toBe(true);
    }
    await pub.publishAsync('rh/x', '', { retain: true });
  });

  it('rejects No Local on a shared subscription with DISCONNECT 0x82', async () => {
    const c = await RawClient.connected(tb.port, 5);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/x', qos: 0, nl: true }] });
    const d = await c.next('disconnect');
    expect(d.reasonCode).toBe(0x82);
    await c.waitClosed();
  });
});

describe('shared subscriptions', () => {
  it('round-robins between the members of a group and sends to every group', async () => {
    const a = await client(tb, { protocolVersion: 5 });
    const b = await client(tb, { protocolVersion: 5 });
    const other = await client(tb, { protocolVersion: 4 });
    const gotA = collect(a);
    const gotB = collect(b);
    const gotOther = collect(other);
    await a.subscribeAsync('$share/g1/sh/x', { qos: 1 });
    await b.subscribeAsync('$share/g1/sh/x', { qos: 1 });
    await other.subscribeAsync('$share/g2/sh/x', { qos: 1 });
    const pub = await client(tb, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publishAsync('sh/x', String(i), { qos: 1 });
    await waitFor(() => gotA.length + gotB.length === 10 && gotOther.length === 10);
    expect(gotA.length).toBe(5);
    expect(gotB.length).toBe(5);
  });

  it('sends to the remaining member when one leaves, including its unacknowledged QoS 1 messages', async () => {
    const stay = await client(tb, { protocolVersion: 5, clientId: 'share-stay' });
    const gotStay = collect(stay);
    await stay.subscribeAsync('$share/g3/lv/x', { qos: 1 });
    const leaver = await RawClient.connected(tb.port, 5, { clientId: 'share-leaver' });
    leaver.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g3/lv/x', qos: 1 }] });
    await leaver.next('suback');
    const pub = await client(tb, { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pub.publishAsync('lv/x', String(i), { qos: 1 });
    await waitFor(() => gotStay.length + leaver.count('publish') === 6);
    expect(leaver.count('publish')).toBeGreaterThan(0);
    // The leaver never acknowledges: its messages go to the member that stays.
    leaver.end();
    await waitFor(() => gotStay.length === 6, 3000, 'redelivery');
    expect(gotStay.map((g) => g.payload).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    for (let i = 6; i < 9; i++) await pub.publishAsync('lv/x', String(i), { qos: 1 });
    await waitFor(() => gotStay.length === 9);
  });
});
