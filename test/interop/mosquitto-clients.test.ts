/**
 * Interoperability with mosquitto_pub / mosquitto_sub (Debian mosquitto-clients) for MQTT 5.0,
 * 3.1.1 and 3.1 (the MQIsdp handshake), through a real RobustMQ on a free port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InteropBroker,
  mosquittoPub,
  mosquittoSub,
  requireTools,
  startInteropBroker,
  uniqueTopic,
  within,
} from './support.js';

let target: InteropBroker;
beforeAll(async () => {
  await requireTools(['mosquitto-clients']);
  target = await startInteropBroker();
});
afterAll(async () => {
  await target?.stop();
});

const VERSIONS = ['mqttv5', 'mqttv311', 'mqttv31'] as const;

describe.each(VERSIONS)('mosquitto clients, %s', (version) => {
  it.each([0, 1, 2])('publishes and receives at QoS %i', async (qos) => {
    const topic = uniqueTopic(`interop/mosq/${version}`);
    const sub = mosquittoSub(target.port, ['-V', version, '-t', topic, '-q', '2', '-C', '2', '-W', '10']);
    await within(sub.subscribed, 5000, 'SUBACK');
    for (const m of ['first', 'second']) {
      const r = await mosquittoPub(target.port, ['-V', version, '-t', topic, '-q', String(qos), '-m', `${m}-${qos}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await within(sub.exited, 10_000, 'mosquitto_sub to exit')).toBe(0);
    // Format %t|%r|%q|%p: topic, retained flag, QoS, payload.
    expect(sub.lines).toEqual([`${topic}|0|${qos}|first-${qos}`, `${topic}|0|${qos}|second-${qos}`]);
  });

  it('delivers a retained message to a later subscriber', async () => {
    const topic = uniqueTopic(`interop/mosq/${version}/retained`);
    expect((await mosquittoPub(target.port, ['-V', version, '-t', topic, '-q', '1', '-r', '-m', 'kept'])).code).toBe(0);
    const sub = mosquittoSub(target.port, ['-V', version, '-t', topic, '-q', '1', '-C', '1', '-W', '5']);
    expect(await within(sub.exited, 10_000, 'mosquitto_sub to exit')).toBe(0);
    expect(sub.lines).toEqual([`${topic}|1|1|kept`]);
    // An empty retained message clears it.
    expect((await mosquittoPub(target.port, ['-V', version, '-t', topic, '-q', '1', '-r', '-n'])).code).toBe(0);
    const after = mosquittoSub(target.port, ['-V', version, '-t', topic, '-q', '1', '-C', '1', '-W', '1']);
    await after.exited;
    expect(after.lines).toEqual([]);
  });

  it('publishes the will of a killed client', async () => {
    const topic = uniqueTopic(`interop/mosq/${version}/will`);
    const watcher = mosquittoSub(target.port, ['-V', version, '-t', `${topic}/#`, '-q', '1', '-C', '1', '-W', '10']);
    await within(watcher.subscribed, 5000, 'watcher SUBACK');
    const victim = mosquittoSub(target.port, [
      '-V',
      version,
      '-t',
      `${topic}/unused`,
      '--will-topic',
      `${topic}/gone`,
      '--will-payload',
      'victim died',
      '--will-qos',
      '1',
    ]);
    await within(victim.subscribed, 5000, 'victim SUBACK');
    victim.child.kill('SIGKILL');
    expect(await within(watcher.exited, 10_000, 'the will')).toBe(0);
    expect(watcher.lines).toEqual([`${topic}/gone|0|1|victim died`]);
  });

  it('keeps a persistent session (clean session off) across a reconnect', async () => {
    const topic = uniqueTopic(`interop/mosq/${version}/session`);
    const id = `persist-${version}-${Date.now()}`;
    // MQTT 5 keeps a session only with a session expiry interval.
    const session = ['-V', version, '-c', '-i', id, ...(version === 'mqttv5' ? ['-x', '300'] : [])];
    const first = mosquittoSub(target.port, [...session, '-t', topic, '-q', '1', '-E']);
    expect(await within(first.exited, 5000, 'subscribe-and-exit')).toBe(0);
    for (const m of ['a', 'b', 'c']) {
      expect((await mosquittoPub(target.port, ['-V', version, '-t', topic, '-q', '1', '-m', `offline-${m}`])).code).toBe(0);
    }
    const second = mosquittoSub(target.port, [...session, '-t', topic, '-q', '1', '-C', '3', '-W', '10']);
    expect(await within(second.exited, 10_000, 'the queued messages')).toBe(0);
    expect(second.lines).toEqual([`${topic}|0|1|offline-a`, `${topic}|0|1|offline-b`, `${topic}|0|1|offline-c`]);
  });
});

describe('mosquitto clients, MQTT 5 properties', () => {
  it('carries user properties set with -D', async () => {
    const topic = uniqueTopic('interop/mosq/props');
    const sub = mosquittoSub(target.port, ['-V', 'mqttv5', '-t', topic, '-q', '1', '-C', '1', '-W', '10'], '%p|%P');
    await within(sub.subscribed, 5000, 'SUBACK');
    const r = await mosquittoPub(target.port, [
      '-V',
      'mqttv5',
      '-t',
      topic,
      '-q',
      '1',
      '-m',
      'hello',
      '-D',
      'publish',
      'user-property',
      'site',
      'lab-1',
      '-D',
      'publish',
      'user-property',
      'shift',
      'night',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await within(sub.exited, 10_000, 'mosquitto_sub to exit')).toBe(0);
    expect(sub.lines).toEqual(['hello|site:lab-1 shift:night']);
  });

  it('crosses client libraries: 3.1 publisher, 5.0 subscriber', async () => {
    const topic = uniqueTopic('interop/mosq/cross');
    const sub = mosquittoSub(target.port, ['-V', 'mqttv5', '-t', topic, '-q', '1', '-C', '1', '-W', '10']);
    await within(sub.subscribed, 5000, 'SUBACK');
    expect((await mosquittoPub(target.port, ['-V', 'mqttv31', '-t', topic, '-q', '1', '-m', 'from-3.1'])).code).toBe(0);
    expect(await within(sub.exited, 10_000, 'mosquitto_sub to exit')).toBe(0);
    expect(sub.lines).toEqual([`${topic}|0|1|from-3.1`]);
  });
});
