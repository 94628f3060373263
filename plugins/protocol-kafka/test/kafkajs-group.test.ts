import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker, waitFor } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('kafkajs: consumer group of three rebalances on leave and on session timeout', () => {
  let b: KafkaTestBroker;
  let child: ChildProcess | undefined;
  const consumers: Consumer[] = [];
  beforeAll(async () => {
    b = await startKafkaBroker();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await b?.stop();
  });

  it('spreads partitions over three members, then two, then one, and keeps consuming', async () => {
    const kafka = b.kafka('group-test');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'grp', numPartitions: 6 }] });

    const assignments = new Map<string, number[]>();
    const received: string[] = [];
    const start = async (name: string) => {
      const c = kafka.consumer({
        groupId: 'g3',
        sessionTimeout: 3000,
        rebalanceTimeout: 4000,
        heartbeatInterval: 300,
        maxWaitTimeInMs: 200,
      });
      c.on(c.events.GROUP_JOIN, (e) => assignments.set(name, e.payload.memberAssignment.grp ?? []));
      await c.connect();
      await c.subscribe({ topic: 'grp', fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
      consumers.push(c);
      return c;
    };
    await start('a');
    const consumerB = await start('b');
    child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/group-member.ts'), b.bootstrap, 'g3', 'grp'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });

    const describe = async () => (await admin.describeGroups(['g3'])).groups[0];
    await waitFor(
      async () => {
        const g = await describe();
        return g.state === 'Stable' && g.members.length === 3;
      },
      20000,
      'three stable members',
    );
    await waitFor(
      () => (assignments.get('a')?.length ?? 0) + (assignments.get('b')?.length ?? 0) === 4,
      10000,
      'a and b own 4 of 6',
    );

    // One member leaves cleanly: the other two share all six partitions.
    await consumerB.disconnect();
    consumers.splice(consumers.indexOf(consumerB), 1);
    await waitFor(
      async () => {
        const g = await describe();
        return g.state === 'Stable' && g.members.length === 2;
      },
      20000,
      'two stable members',
    );

    // One member dies without leaving: its session times out and the last member owns everything.
    child.kill('SIGKILL');
    await waitFor(
      async () => {
        const g = await describe();
        return g.state === 'Stable' && g.members.length === 1;
      },
      20000,
      'one stable member after the session timeout',
    );
    await waitFor(() => assignments.get('a')?.length === 6, 10000, 'a owns all six partitions');

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'grp',
      messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `after-${i}` })),
    });
    await producer.disconnect();
    await waitFor(() => received.filter((v) => v.startsWith('after-')).length >= 30, 15000, 'a receives every record');
    expect(new Set(received.filter((v) => v.startsWith('after-'))).size).toBe(30);
    expect([...(assignments.get('a') ?? [])].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
    await admin.disconnect();
  });
});
