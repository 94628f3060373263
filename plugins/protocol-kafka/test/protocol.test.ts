import { encodeRecordBatch } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../src/protocol/api-keys.js';
import { API_SPECS } from '../src/protocol/apis.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { Reader } from '../src/protocol/reader.js';
import { type KafkaTestBroker, startKafkaBroker } from './helpers.js';
import { RawClient } from './raw-client.js';

describe('protocol: versions, errors, malformed frames, idempotence', () => {
  let b: KafkaTestBroker;
  beforeAll(async () => {
    b = await startKafkaBroker({ autoCreateTopics: false });
    const admin = b.kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'raw', numPartitions: 1 }] });
    await admin.disconnect();
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('ApiVersions advertises exactly the supported table, in v0 and flexible v3', async () => {
    const c = await RawClient.open(b.port);
    for (const v of [0, 3]) {
      const r = (await c.request(ApiKey.ApiVersions, v, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' })) as {
        errorCode: number;
        apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
      };
      expect(r.errorCode).toBe(0);
      expect(r.apiKeys).toEqual(API_SPECS.map((s) => ({ apiKey: s.key, minVersion: s.minVersion, maxVersion: s.maxVersion })));
    }
    c.close();
  });

  it('answers an unsupported ApiVersions version with UNSUPPORTED_VERSION in the v0 layout', async () => {
    const c = await RawClient.open(b.port);
    const body = await c.rawRequest(ApiKey.ApiVersions, 99);
    const r = new Reader(body);
    expect(r.int16()).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(r.int32()).toBe(API_SPECS.length);
    c.close();
  });

  it('closes the connection on an unsupported version of another API, an unknown key, or a bad frame size', async () => {
    for (const send of [
      (c: RawClient) => void c.rawRequest(ApiKey.Metadata, 42),
      (c: RawClient) => void c.rawRequest(999, 0),
      (c: RawClient) => c.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])),
      (c: RawClient) => void c.rawRequest(ApiKey.Metadata, 1, Buffer.from([0, 0, 0, 5])),
    ]) {
      const c = await RawClient.open(b.port);
      send(c);
      await c.closed;
    }
  });

  it('refuses a batch with a bad CRC with CORRUPT_MESSAGE and unknown partitions with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const c = await RawClient.open(b.port);
    const batch = encodeRecordBatch([{ value: Buffer.from('x') }], { baseOffset: 0 });
    batch[batch.length - 1] ^= 0xff;
    const r = (await c.request(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'raw',
          partitionData: [
            { index: 0, records: batch },
            { index: 7, records: batch },
          ],
        },
      ],
    })) as { responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> };
    expect(r.responses[0].partitionResponses.map((p) => p.errorCode)).toEqual([
      ErrorCode.CORRUPT_MESSAGE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    c.close();
  });

  it('drops retried idempotent batches and refuses out-of-order sequences', async () => {
    const c = await RawClient.open(b.port);
    const init = (await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000 })) as {
      errorCode: number;
      producerId: number;
      producerEpoch: number;
    };
    expect(init.errorCode).toBe(0);
    const produce = (baseSequence: number, n = 3) =>
      c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topicData: [
          {
            name: 'raw',
            partitionData: [
              {
                index: 0,
                records: encodeRecordBatch(
                  Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`r${baseSequence + i}`) })),
                  { baseOffset: 0, producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence },
                ),
              },
            ],
          },
        ],
      }) as Promise<{ responses: Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: number }> }> }>;
    const first = (await produce(0)).responses[0].partitionResponses[0];
    expect(first.errorCode).toBe(0);
    const retry = (await produce(0)).responses[0].partitionResponses[0];
    expect(retry).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset });
    const next = (await produce(3)).responses[0].partitionResponses[0];
    expect(next).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset + 3 });
    const gap = (await produce(10)).responses[0].partitionResponses[0];
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const lo = (await c.request(ApiKey.ListOffsets, 6, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'raw', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    })) as { topics: Array<{ partitions: Array<{ offset: number }> }> };
    expect(lo.topics[0].partitions[0].offset).toBe(first.baseOffset + 6);
    c.close();
  });

  it('long-polls a fetch until data arrives or max wait passes', async () => {
    const c = await RawClient.open(b.port);
    const lo = (await c.request(ApiKey.ListOffsets, 6, {
      replicaId: -1,
      topics: [{ name: 'raw', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    })) as { topics: Array<{ partitions: Array<{ offset: number }> }> };
    const end = lo.topics[0].partitions[0].offset;
    const fetch = (maxWaitMs: number) =>
      c.request(ApiKey.Fetch, 12, {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'raw', partitions: [{ partition: 0, fetchOffset: end, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      }) as Promise<{ responses: Array<{ partitions: Array<{ records: Buffer | null; highWatermark: number }> }> }>;
    let t0 = Date.now();
    const empty = await fetch(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(empty.responses[0].partitions[0].records?.length ?? 0).toBe(0);

    t0 = Date.now();
    const pending = fetch(5000);
    const producer = b.kafka().producer();
    await producer.connect();
    await producer.send({ topic: 'raw', messages: [{ value: 'wake' }] });
    const woken = await pending;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(woken.responses[0].partitions[0].records!.length).toBeGreaterThan(0);
    expect(woken.responses[0].partitions[0].highWatermark).toBe(end + 1);
    await producer.disconnect();
    c.close();
  });

  it('IncrementalAlterConfigs sets and deletes topic configs; broker configs are refused', async () => {
    const c = await RawClient.open(b.port);
    const alter = (configs: Array<{ name: string; configOperation: number; value: string | null }>, resourceType = 2) =>
      c.request(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType, resourceName: resourceType === 2 ? 'raw' : '0', configs }],
        validateOnly: false,
      }) as Promise<{ responses: Array<{ errorCode: number }> }>;
    expect((await alter([{ name: 'retention.ms', configOperation: 0, value: '5000' }])).responses[0].errorCode).toBe(0);
    expect(await b.broker.logStore.describeTopic('raw')).toMatchObject({ retentionMs: 5000 });
    expect((await alter([{ name: 'retention.ms', configOperation: 1, value: null }])).responses[0].errorCode).toBe(0);
    expect((await b.broker.logStore.describeTopic('raw'))?.retentionMs).toBeUndefined();
    expect((await alter([{ name: 'retention.ms', configOperation: 0, value: 'soon' }])).responses[0].errorCode).toBe(
      ErrorCode.INVALID_CONFIG,
    );
    expect((await alter([{ name: 'num.partitions', configOperation: 0, value: '3' }], 4)).responses[0].errorCode).toBe(
      ErrorCode.INVALID_REQUEST,
    );
    c.close();
  });
});
