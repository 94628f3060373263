import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, startTestBroker } from '@robustmq/kernel';
import { encodeRecordBatch, getJson } from '@robustmq/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { PartitionSnapshot } from '../src/partition-producers.js';
import { ApiKey } from '../src/protocol/api-keys.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { startKafkaBroker, tempDir } from './helpers.js';
import { RawClient } from './raw-client.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'kafka-broker.ts');

interface Answer {
  errorCode: number;
  baseOffset: number;
}

/** A raw connection that produces idempotent batches with chosen producer id, epoch and sequence. */
class RawProducer {
  private constructor(readonly c: RawClient) {}

  static async open(port: number): Promise<RawProducer> {
    return new RawProducer(await RawClient.open(port));
  }

  async initProducerId(): Promise<number> {
    const r = (await this.c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000 })) as {
      errorCode: number;
      producerId: number;
    };
    expect(r.errorCode).toBe(0);
    return r.producerId;
  }

  async produce(
    topic: string,
    partition: number,
    producerId: number,
    baseSequence: number,
    n: number,
    epoch = 0,
  ): Promise<Answer> {
    const records = encodeRecordBatch(
      Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${producerId}:${baseSequence + i}`) })),
      { baseOffset: 0, producerId, producerEpoch: epoch, baseSequence },
    );
    const r = (await this.c.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    })) as { responses: Array<{ partitionResponses: Answer[] }> };
    const { errorCode, baseOffset } = r.responses[0].partitionResponses[0];
    return { errorCode, baseOffset };
  }

  async highWatermark(topic: string, partition: number): Promise<number> {
    const r = (await this.c.request(ApiKey.ListOffsets, 6, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1 }] }],
    })) as { topics: Array<{ partitions: Array<{ offset: number }> }> };
    return r.topics[0].partitions[0].offset;
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    const r = (await this.c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    })) as { topics: Array<{ errorCode: number }> };
    expect(r.topics[0].errorCode).toBe(0);
  }

  async deleteTopic(name: string): Promise<void> {
    const r = (await this.c.request(ApiKey.DeleteTopics, 4, { topicNames: [name], timeoutMs: 5000 })) as {
      responses: Array<{ errorCode: number }>;
    };
    expect(r.responses[0].errorCode).toBe(0);
  }

  close(): void {
    this.c.close();
  }
}

const ok = (baseOffset: number): Answer => ({ errorCode: 0, baseOffset });

/** What was produced before the restart: the offset each (producer, partition, sequence) got. */
interface Produced {
  pidA: number;
  pidB: number;
  /** Offsets by `${pid}/${partition}/${seq}`. */
  offsets: Map<string, number>;
  hw: [number, number];
}

/**
 * Producer A sends 7 batches of 3 records to partition 0 (only the last 5 are remembered), producer B
 * interleaves batches of 2 there, and A sends 2 batches to partition 1.
 */
async function produceBefore(p: RawProducer, topic: string): Promise<Produced> {
  const pidA = await p.initProducerId();
  const pidB = await p.initProducerId();
  const offsets = new Map<string, number>();
  const send = async (pid: number, partition: number, seq: number, n: number) => {
    const r = await p.produce(topic, partition, pid, seq, n);
    expect(r.errorCode).toBe(0);
    offsets.set(`${pid}/${partition}/${seq}`, r.baseOffset);
  };
  for (let i = 0; i < 7; i++) {
    await send(pidA, 0, i * 3, 3);
    if (i % 2 === 0) await send(pidB, 0, (i / 2) * 2, 2);
  }
  await send(pidA, 1, 0, 2);
  await send(pidA, 1, 2, 2);
  return { pidA, pidB, offsets, hw: [await p.highWatermark(topic, 0), await p.highWatermark(topic, 1)] };
}

/** After the restart: retries get their original offsets and are not stored, gaps and old epochs are refused. */
async function checkAfter(p: RawProducer, topic: string, before: Produced): Promise<void> {
  const { pidA, pidB, offsets, hw } = before;
  const at = (pid: number, partition: number, seq: number) => offsets.get(`${pid}/${partition}/${seq}`)!;
  // The last 5 batches of A on partition 0 (sequences 6..20), in any order.
  for (const seq of [18, 6, 12, 9, 15]) expect(await p.produce(topic, 0, pidA, seq, 3)).toEqual(ok(at(pidA, 0, seq)));
  for (const seq of [0, 2, 4, 6]) expect(await p.produce(topic, 0, pidB, seq, 2)).toEqual(ok(at(pidB, 0, seq)));
  expect(await p.produce(topic, 1, pidA, 2, 2)).toEqual(ok(at(pidA, 1, 2)));
  expect(await p.produce(topic, 1, pidA, 0, 2)).toEqual(ok(at(pidA, 1, 0)));
  expect([await p.highWatermark(topic, 0), await p.highWatermark(topic, 1)]).toEqual(hw);

  // A gap, a sequence older than the remembered batches, a batch with different bounds: refused.
  expect((await p.produce(topic, 0, pidA, 30, 3)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  expect((await p.produce(topic, 0, pidA, 3, 3)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  expect((await p.produce(topic, 0, pidA, 18, 2)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  expect((await p.produce(topic, 1, pidB, 5, 1)).errorCode).toBe(0); // B is unknown on partition 1: accepted
  expect(await p.highWatermark(topic, 0)).toBe(hw[0]);

  // The next sequences go on where they stopped.
  expect(await p.produce(topic, 0, pidA, 21, 3)).toEqual(ok(hw[0]));
  expect(await p.produce(topic, 0, pidB, 8, 2)).toEqual(ok(hw[0] + 3));
  expect(await p.produce(topic, 1, pidA, 4, 1)).toEqual(ok(hw[1] + 1));
  // A newer epoch starts over; the old epoch is then fenced.
  expect(await p.produce(topic, 0, pidA, 0, 1, 1)).toEqual(ok(hw[0] + 5));
  expect((await p.produce(topic, 0, pidA, 24, 3, 0)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  expect(await p.highWatermark(topic, 0)).toBe(hw[0] + 6);
}

describe('idempotent producer state survives restarts', () => {
  let broker: Broker | undefined;
  let producer: RawProducer | undefined;
  afterEach(async () => {
    producer?.close();
    producer = undefined;
    await broker?.stop();
    broker = undefined;
  });

  const startFileBroker = (dir: string, producerStateSnapshotMs = 0) =>
    startTestBroker({
      env: {},
      config: {
        host: '127.0.0.1',
        storage: 'storage-file',
        admin: { enabled: false },
        log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
        plugins: {
          'storage-file': { options: { dir } },
          'protocol-mqtt': { enabled: false },
          'protocol-kafka': { enabled: true, options: { port: 0, producerStateSnapshotMs } },
        },
      },
    });
  const kafkaPort = (b: Broker) => b.endpoints('protocol-kafka').kafka;
  const snapshotOf = (b: Broker, topic: string, partition: number) =>
    getJson<PartitionSnapshot>(b.metaStore, `kafka/producer-state/${topic}/${partition}`);

  it('stop + start over storage-file: retries get their original offsets, gaps are refused', async () => {
    const tmp = await tempDir('kafka-idem-restart-');
    try {
      broker = await startFileBroker(tmp.dir);
      producer = await RawProducer.open(kafkaPort(broker));
      await producer.createTopic('idem', 2);
      const before = await produceBefore(producer, 'idem');
      producer.close();
      await broker.stop();

      broker = await startFileBroker(tmp.dir);
      // The clean stop wrote a snapshot at the log end, so nothing is replayed.
      expect((await snapshotOf(broker, 'idem', 0))?.offset).toBe(before.hw[0]);
      producer = await RawProducer.open(kafkaPort(broker));
      await checkAfter(producer, 'idem', before);
      const hw = await producer.highWatermark('idem', 0);
      producer.close();
      await broker.stop();

      // Again, after a run that appended more: the newest epoch's batch is still known.
      broker = await startFileBroker(tmp.dir);
      producer = await RawProducer.open(kafkaPort(broker));
      expect(await producer.produce('idem', 0, before.pidA, 0, 1, 1)).toEqual(ok(hw - 1));
      expect((await producer.produce('idem', 0, before.pidA, 2, 1, 1)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect(await producer.highWatermark('idem', 0)).toBe(hw);
    } finally {
      producer?.close();
      await broker?.stop();
      broker = undefined;
      await tmp.cleanup();
    }
  });

  /** Runs the broker in a child process, produces, SIGKILLs it, and checks the state in a new broker. */
  async function crashAndCheck(
    snapshotMs: number,
    beforeKill: (p: RawProducer) => Promise<void> = async () => {},
    afterRestart: (p: RawProducer) => Promise<void> = async () => {},
  ) {
    const tmp = await tempDir('kafka-idem-crash-');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, tmp.dir, String(snapshotMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, signal) => r(signal)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /port (\d+)\n/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`broker fixture exited with ${code}`)));
      });
      const p = await RawProducer.open(port);
      await p.createTopic('crash', 2);
      const before = await produceBefore(p, 'crash');
      await beforeKill(p);
      before.hw = [await p.highWatermark('crash', 0), await p.highWatermark('crash', 1)];
      // Acknowledged: kill without any shutdown, snapshot or flush.
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      p.close();

      broker = await startFileBroker(tmp.dir);
      const snapshot = await snapshotOf(broker, 'crash', 0);
      producer = await RawProducer.open(kafkaPort(broker));
      await afterRestart(producer);
      await checkAfter(producer, 'crash', before);
      return { snapshot, before };
    } finally {
      child.kill('SIGKILL');
      await exited;
      producer?.close();
      producer = undefined;
      await broker?.stop();
      broker = undefined;
      await tmp.cleanup();
    }
  }

  it('SIGKILLed broker without a snapshot: the state is rebuilt from the stored batch headers', async () => {
    const { snapshot } = await crashAndCheck(0);
    expect(snapshot).toBeUndefined();
  }, 30000);

  it('SIGKILLed broker: snapshot plus replay of the batches stored after it', async () => {
    let extra: { pid: number; offset: number } | undefined;
    const { snapshot, before } = await crashAndCheck(
      100,
      async (p) => {
        await new Promise((r) => setTimeout(r, 400)); // snapshots are written
        // Stored after the last snapshot: a new producer's batch.
        const pid = await p.initProducerId();
        const r = await p.produce('crash', 0, pid, 0, 4);
        expect(r.errorCode).toBe(0);
        extra = { pid, offset: r.baseOffset };
      },
      async (p) => {
        // Known from the replay of the log after the snapshot.
        expect(await p.produce('crash', 0, extra!.pid, 0, 4)).toEqual(ok(extra!.offset));
        expect((await p.produce('crash', 0, extra!.pid, 5, 1)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      },
    );
    // The snapshot predates the last batch, which only the log replay can know.
    expect(snapshot).toBeDefined();
    expect(snapshot!.offset).toBeGreaterThan(0);
    expect(snapshot!.offset).toBeLessThanOrEqual(extra!.offset);
    expect(before.hw[0]).toBe(extra!.offset + 4);
  }, 30000);

  it('a deleted and re-created topic starts with no producer state', async () => {
    const b = await startKafkaBroker();
    try {
      const p = await RawProducer.open(b.port);
      await p.createTopic('gone', 1);
      const pid = await p.initProducerId();
      expect(await p.produce('gone', 0, pid, 0, 3)).toEqual(ok(0));
      expect(await p.produce('gone', 0, pid, 3, 3)).toEqual(ok(3));
      await p.deleteTopic('gone');
      await p.createTopic('gone', 1);
      // Not mistaken for a retry of the old topic's batch: stored in the new log.
      expect(await p.produce('gone', 0, pid, 3, 3)).toEqual(ok(0));
      expect(await p.highWatermark('gone', 0)).toBe(3);
      p.close();
    } finally {
      await b.stop();
    }
  });
});
