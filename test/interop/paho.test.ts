/**
 * Interoperability with the Eclipse Paho Python client (Debian python3-paho-mqtt 1.6.1), MQTT 3.1.1
 * and 5.0, through a real RobustMQ on a free port. The scenarios live in paho_client.py.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InteropBroker, paho, requireTools, startInteropBroker } from './support.js';

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  user_properties?: Array<[string, string]>;
}

let target: InteropBroker;
beforeAll(async () => {
  await requireTools(['paho']);
  target = await startInteropBroker();
});
afterAll(async () => {
  await target?.stop();
});

describe.each(['311', '5'] as const)('Paho Python, MQTT %s', (proto) => {
  it.each([0, 1, 2])('publishes and receives at QoS %i, in order', async (qos) => {
    const r = await paho<{ received: Received[] }>('roundtrip', target.port, proto, String(qos));
    expect(r.received.map((m) => m.payload)).toEqual([`m0-q${qos}`, `m1-q${qos}`, `m2-q${qos}`]);
    // Subscribed at QoS 2: delivered at the publisher's QoS.
    expect(r.received.every((m) => m.qos === qos && !m.retain)).toBe(true);
  });

  it('keeps a retained message for new subscribers and clears it with an empty one', async () => {
    const r = await paho<{ first: Received[]; after_clear: Received[] }>('retained', target.port, proto);
    expect(r.first).toHaveLength(1);
    expect(r.first[0]).toMatchObject({ payload: 'kept', retain: true, qos: 1 });
    expect(r.after_clear).toEqual([]);
  });

  it('publishes the will of a client that vanished, not of one that disconnected', async () => {
    const r = await paho<{ received: Received[] }>('will', target.port, proto);
    expect(r.received).toHaveLength(1);
    expect(r.received[0].topic).toMatch(/\/abrupt$/);
    expect(r.received[0]).toMatchObject({ payload: 'gone', qos: 1 });
  });

  it('keeps a persistent session across a reconnect and delivers what was published meanwhile', async () => {
    const r = await paho<{ first_present: boolean; second_present: boolean; third_present: boolean; received: Received[] }>(
      'session',
      target.port,
      proto,
    );
    expect(r.first_present).toBe(false);
    // 3.1.1: the first connection was clean, so nothing survived it; 5.0: clean start with a session
    // expiry interval keeps the (empty) session after the disconnect.
    expect(r.second_present).toBe(proto === '5');
    expect(r.third_present).toBe(true);
    expect(r.received.map((m) => m.payload)).toEqual(['offline-0', 'offline-1', 'offline-2']);
    expect(r.received.every((m) => m.qos === 1)).toBe(true);
  });
});

describe('Paho Python, MQTT 5 only', () => {
  it('carries user properties, in order and with repeated names', async () => {
    const r = await paho<{ received: Received[] }>('userprops', target.port, '5');
    expect(r.received).toHaveLength(1);
    expect(r.received[0].user_properties).toEqual([
      ['colour', 'blue'],
      ['size', '7'],
      ['colour', 'green'],
    ]);
  });
});
