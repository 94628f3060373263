/**
 * Produce: each RecordBatch v2 is CRC-checked and stored as received; idempotent batches pass the
 * sequence check first. Appends to one partition are issued in request order.
 */
import { type AppendResult, type BatchHeader, batchSize, CorruptBatchError, isPromise, validateBatch } from '@robustmq/sdk';
import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { PartitionProducers } from '../partition-producers.js';
import type { KafkaServer } from '../server.js';
import { storageErrorCode } from '../storage-errors.js';
import type { KafkaTopic } from '../topics.js';

interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: Array<{ name: string; partitionData: Array<{ index: number; records: Buffer | null }> }>;
}

interface PartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  errorMessage?: string | null;
}

const fail = (index: number, errorCode: number, errorMessage?: string): PartitionResponse => ({
  index,
  errorCode,
  baseOffset: -1,
  logAppendTimeMs: -1,
  logStartOffset: -1,
  errorMessage: errorMessage ?? null,
});

export function handleProduce(server: KafkaServer, conn: Connection, req: ProduceRequest) {
  const ackless = req.acks === 0;
  if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
    return respond(
      req.topicData.map((t) => ({
        name: t.name,
        results: t.partitionData.map((p) => fail(p.index, ErrorCode.INVALID_REQUIRED_ACKS)),
      })),
    );
  }
  // Fast path: every topic cached and no async authorizer → appends are issued synchronously, in order.
  const topics = req.topicData.map((t) => server.topics.cached(t.name));
  if (topics.every((t) => t !== undefined) && !server.hooks.has('authorize')) {
    return finish(
      ackless,
      req.topicData.map((t, i) => produceTopic(server, conn, req, t, topics[i])),
    );
  }
  return (async () => {
    const results = [];
    for (const t of req.topicData) {
      if (!(await server.authorize(conn, 'publish', t.name))) {
        results.push({ name: t.name, results: t.partitionData.map((p) => fail(p.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED)) });
        continue;
      }
      let topic: KafkaTopic | undefined;
      try {
        topic = await server.topics.getOrCreate(t.name, true);
      } catch (err) {
        results.push({ name: t.name, results: t.partitionData.map((p) => fail(p.index, storageErrorCode(err))) });
        continue;
      }
      results.push(produceTopic(server, conn, req, t, topic));
    }
    return finish(ackless, results);
  })();
}

type TopicResult = { name: string; results: Array<PartitionResponse | Promise<PartitionResponse>> };

function finish(ackless: boolean, results: TopicResult[]) {
  if (ackless) {
    // acks=0: no response; appends still complete (their failures are logged).
    return null;
  }
  const pending = results.some((t) => t.results.some(isPromise));
  if (!pending) return respond(results as Array<{ name: string; results: PartitionResponse[] }>);
  return Promise.all(results.map(async (t) => ({ name: t.name, results: await Promise.all(t.results) }))).then(respond);
}

function respond(results: Array<{ name: string; results: PartitionResponse[] }>) {
  return {
    responses: results.map((t) => ({ name: t.name, partitionResponses: t.results })),
    throttleTimeMs: 0,
  };
}

function produceTopic(
  server: KafkaServer,
  conn: Connection,
  req: ProduceRequest,
  t: ProduceRequest['topicData'][number],
  topic: KafkaTopic | undefined,
): TopicResult {
  if (!topic) return { name: t.name, results: t.partitionData.map((p) => fail(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) };
  return {
    name: t.name,
    results: t.partitionData.map((p) => {
      if (p.index < 0 || p.index >= topic.partitions) return fail(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (req.transactionalId !== null)
        return fail(p.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported');
      const r = appendRecords(server, conn, topic, p.index, p.records);
      if (isPromise(r) && req.acks === 0) {
        r.catch(() => undefined);
      }
      return r;
    }),
  };
}

/** Validates and appends every batch of one partition's record set. */
function appendRecords(
  server: KafkaServer,
  conn: Connection,
  topic: KafkaTopic,
  partition: number,
  records: Buffer | null,
): PartitionResponse | Promise<PartitionResponse> {
  if (!records || records.length === 0) return fail(partition, ErrorCode.CORRUPT_MESSAGE, 'empty record set');
  const batches: Array<{ header: BatchHeader; bytes: Buffer }> = [];
  let pos = 0;
  try {
    while (pos < records.length) {
      const header = validateBatch(records, pos);
      const size = batchSize(header);
      if (size > server.options.maxMessageBytes) {
        return fail(
          partition,
          ErrorCode.MESSAGE_TOO_LARGE,
          `batch of ${size} bytes exceeds maxMessageBytes ${server.options.maxMessageBytes}`,
        );
      }
      if (header.recordCount <= 0) return fail(partition, ErrorCode.INVALID_RECORD, 'batch without records');
      // A batch that is a small part of a large received buffer is copied so the store does not pin the rest.
      const view = records.subarray(pos, pos + size);
      batches.push({ header, bytes: view.length * 2 < view.buffer.byteLength ? Buffer.from(view) : view });
      pos += size;
    }
  } catch (err) {
    const msg = err instanceof CorruptBatchError ? err.message : String(err);
    server.logger.debug({ conn: conn.id, topic: topic.name, partition, err: msg }, 'kafka: corrupt batch refused');
    return fail(partition, ErrorCode.CORRUPT_MESSAGE, msg);
  }

  // Idempotent batches need the partition's producer state, loaded (once) from snapshot and log.
  const idempotent = batches.some(({ header }) => header.producerId >= 0 && header.baseSequence >= 0);
  const state = server.producers.partition(topic.name, partition, idempotent);
  if (isPromise(state)) {
    return state.then(
      (s) => appendBatches(server, conn, topic, partition, batches, s),
      (err) => {
        server.logger.warn({ topic: topic.name, partition, err: (err as Error).message }, 'kafka: producer state load failed');
        return fail(partition, storageErrorCode(err), (err as Error).message);
      },
    );
  }
  return appendBatches(server, conn, topic, partition, batches, state);
}

/** Sequence-checks and appends validated batches; `state` is set when the partition's producer state is loaded. */
function appendBatches(
  server: KafkaServer,
  conn: Connection,
  topic: KafkaTopic,
  partition: number,
  batches: Array<{ header: BatchHeader; bytes: Buffer }>,
  state: PartitionProducers | undefined,
): Promise<PartitionResponse> {
  const tp = { topic: topic.name, partition };
  const appends: Array<Promise<AppendResult>> = [];
  for (const { header, bytes } of batches) {
    const idempotent = state !== undefined && header.producerId >= 0 && header.baseSequence >= 0;
    if (idempotent) {
      const check =
        server.producers.checkEpoch(header.producerId, header.producerEpoch) ??
        state.check(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount);
      if (check.kind === 'error') return Promise.resolve(fail(partition, check.code, check.message));
      if (check.kind === 'duplicate') {
        appends.push(check.result);
        continue;
      }
    }
    const p = server.store.appendBatch(tp, bytes);
    if (idempotent) {
      state.appended(header.producerId, header.producerEpoch, header.baseSequence, header.recordCount, p);
      server.producers.noteEpoch(header.producerId, header.producerEpoch);
    } else if (state) state.dirty = true;
    appends.push(
      p.then((res) => {
        server.afterAppend(tp, bytes, header, conn);
        return res;
      }),
    );
  }
  return Promise.all(appends).then(
    (results) => ({
      index: partition,
      errorCode: 0,
      baseOffset: results[0].baseOffset,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      errorMessage: null,
    }),
    (err) => {
      server.logger.warn({ topic: topic.name, partition, err: (err as Error).message }, 'kafka: append failed');
      return fail(partition, storageErrorCode(err), (err as Error).message);
    },
  );
}
