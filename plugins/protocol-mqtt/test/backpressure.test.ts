import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HoldablePublisher, PublisherFlow, STALL_MS } from '../src/flow.js';
import { client, closeClients, collect, RawClient, startTestBroker, type TestBroker, waitFor } from './helpers.js';

/** Reads one counter (without labels, or the given label set) from the Prometheus text. */
function counter(text: string, name: string, labels = ''): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

/** A 3.1.1 client on a raw socket that acknowledges QoS 1 and reads only a few ms out of every `period`. */
async function slowSubscriber(port: number, topic: string, period: number) {
  const socket: Socket = netConnect(port, '127.0.0.1');
  await once(socket, 'connect');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const got: Buffer[] = [];
  let ready: () => void = () => undefined;
  const subscribed = new Promise<void>((r) => {
    ready = r;
  });
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'suback') ready();
    if (p.cmd !== 'publish') return;
    got.push(p.payload as Buffer);
    if (p.qos === 1) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId as number }));
  });
  socket.on('data', (c) => parser.parse(c));
  socket.on('error', () => undefined);
  const write = (p: Packet) => socket.write(mqttPacket.generate(p, { protocolVersion: 4 }));
  write({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'slow-sub', clean: true, keepalive: 0 });
  write({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await subscribed;
  // Reads in short bursts: the broker sees a subscriber that keeps up only a little.
  const timer = setInterval(() => {
    socket.resume();
    setTimeout(() => socket.pause(), 2);
  }, period);
  return {
    got,
    close: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

describe('publisher backpressure', () => {
  let tb: TestBroker;
  beforeAll(async () => {
    tb = await startTestBroker({ maxQueuedMessages: 100, maxInflight: 20 });
  });
  afterAll(async () => {
    await closeClients();
    await tb.stop();
  });

  it('holds fast publishers for a slow subscriber: no QoS 1 message lost, nothing dropped', async () => {
    const before = await tb.broker.metrics.render();
    const sub = await slowSubscriber(tb.port, 'bp/#', 10);
    const PUBLISHERS = 4;
    const EACH = 1000;
    const payload = (p: number, i: number) => {
      const b = Buffer.alloc(4096, p);
      b.writeUInt32BE(i, 0);
      return b;
    };
    const pubs = await Promise.all(Array.from({ length: PUBLISHERS }, () => RawClient.connected(tb.port, 4)));
    // Each publisher writes everything at once (16 MiB in all), far more than the queue limit.
    pubs.forEach((c, p) => {
      const bytes: Buffer[] = [];
      for (let i = 0; i < EACH; i++) {
        const pkt = {
          cmd: 'publish',
          topic: `bp/${p}`,
          qos: 1,
          messageId: i + 1,
          payload: payload(p, i),
          retain: false,
          dup: false,
        };
        bytes.push(mqttPacket.generate(pkt as Packet, { protocolVersion: 4 }));
      }
      c.sendRaw(Buffer.concat(bytes));
    });
    await waitFor(() => sub.got.length === PUBLISHERS * EACH, 20_000, 'every message at the slow subscriber');
    await waitFor(() => pubs.every((c) => c.count('puback') === EACH), 5000, 'every PUBACK');
    // Per publisher, every message arrived once and in order.
    for (let p = 0; p < PUBLISHERS; p++) {
      const seq = sub.got.filter((b) => b[4] === p).map((b) => b.readUInt32BE(0));
      expect(seq).toEqual(Array.from({ length: EACH }, (_, i) => i));
    }
    const after = await tb.broker.metrics.render();
    const dropped = (t: string) => counter(t, 'robustmq_messages_dropped_total', '{reason="queue-full"}');
    expect(dropped(after) - dropped(before)).toBe(0);
    // The publishers really were held (reads stopped) rather than read and queued without bound.
    expect(
      counter(after, 'robustmq_mqtt_publisher_holds_total') - counter(before, 'robustmq_mqtt_publisher_holds_total'),
    ).toBeGreaterThan(0);
    sub.close();
    for (const c of pubs) c.end();
  }, 30_000);

  it('stops holding publishers for a subscriber that reads nothing at all', async () => {
    const stuck = await RawClient.connected(tb.port, 4);
    stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'stuck/x', qos: 1 }] });
    await stuck.next('suback');
    stuck.socket.pause();
    const other = await client(tb, { protocolVersion: 4 });
    const got = collect(other);
    await other.subscribeAsync('fine/x');
    const pub = await RawClient.connected(tb.port, 4);
    const big = Buffer.alloc(8192, 7);
    const bytes: Buffer[] = [];
    for (let i = 0; i < 3000; i++)
      bytes.push(mqttPacket.generate({ cmd: 'publish', topic: 'stuck/x', qos: 0, payload: big, retain: false, dup: false }));
    bytes.push(
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'fine/x',
        qos: 1,
        messageId: 9,
        payload: Buffer.from('after'),
        retain: false,
        dup: false,
      }),
    );
    const started = Date.now();
    pub.sendRaw(Buffer.concat(bytes));
    // Held at first, then released once the stuck subscriber made no progress for STALL_MS.
    await waitFor(() => got.length === 1, STALL_MS * 8, 'the publish behind the stuck subscriber');
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS / 2);
    expect(got[0].payload).toBe('after');
    stuck.end();
    pub.end();
  }, 15_000);
});

describe('PublisherFlow', () => {
  function fakeClock() {
    let now = 0;
    const timers: Array<{ at: number; fn: () => void; on: boolean }> = [];
    return {
      now: () => now,
      setTimeout: (fn: () => void, ms: number) => {
        const t = { at: now + ms, fn, on: true };
        timers.push(t);
        return t as unknown as NodeJS.Timeout;
      },
      clearTimeout: (t: NodeJS.Timeout) => {
        (t as unknown as { on: boolean }).on = false;
      },
      advance(ms: number) {
        now += ms;
        for (const t of [...timers]) {
          if (t.on && t.at <= now) {
            t.on = false;
            t.fn();
          }
        }
      },
    };
  }
  const publisher = () => {
    const p = { held: 0, holdReading: () => void p.held++, releaseReading: () => void p.held-- };
    return p satisfies HoldablePublisher;
  };

  it('holds a publisher once per subscriber and releases it when that subscriber drains', () => {
    const clock = fakeClock();
    const flow = new PublisherFlow<string, ReturnType<typeof publisher>>(clock as never);
    const a = publisher();
    expect(flow.hold(a, 's1')).toBe(true);
    expect(flow.hold(a, 's1')).toBe(false);
    expect(flow.hold(a, 's2')).toBe(true);
    expect(a.held).toBe(2);
    flow.release('s1');
    expect(a.held).toBe(1);
    flow.release('s2');
    expect(a.held).toBe(0);
    expect(flow.holding).toBe(0);
  });

  it('lets publishers go when the subscriber makes no progress for STALL_MS, and holds again after progress', () => {
    const clock = fakeClock();
    const flow = new PublisherFlow<string, ReturnType<typeof publisher>>(clock as never);
    const a = publisher();
    flow.hold(a, 's');
    clock.advance(STALL_MS / 2);
    flow.progress('s');
    clock.advance(STALL_MS / 2 + 1);
    expect(a.held).toBe(1);
    clock.advance(STALL_MS);
    expect(a.held).toBe(0);
    // Stalled: no new holds until it sends something again.
    expect(flow.hold(a, 's')).toBe(false);
    flow.progress('s');
    expect(flow.hold(a, 's')).toBe(true);
    flow.forgetPublisher(a);
    flow.release('s');
    expect(a.held).toBe(1);
  });
});
