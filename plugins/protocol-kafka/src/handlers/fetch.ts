/**
 * Fetch: stored batches served as they are, with long polling (maxWaitMs / minBytes) woken by
 * appends, per-partition and per-response byte limits (the first batch is always whole).
 */
import { OffsetOutOfRangeError } from '@robustmq/sdk';
import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaServer } from '../server.js';
import { storageErrorCode } from '../storage-errors.js';

interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId: number;
  sessionEpoch: number;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: number; partitionMaxBytes: number }> }>;
}

interface PartitionData {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: null;
  preferredReadReplica: number;
  records: Buffer;
}

const EMPTY = Buffer.alloc(0);

function errorPartition(partitionIndex: number, errorCode: number): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

export async function handleFetch(server: KafkaServer, conn: Connection, req: FetchRequest) {
  // Authorization and topic lookup once per request.
  const allowed = new Map<string, number>();
  for (const t of req.topics) {
    if (allowed.has(t.topic)) continue;
    if (!(await server.authorize(conn, 'consume', t.topic))) allowed.set(t.topic, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    else if (!(await server.topics.get(t.topic))) allowed.set(t.topic, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    else allowed.set(t.topic, 0);
  }
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  const minBytes = Math.max(0, req.minBytes);
  for (;;) {
    const { responses, bytes, errors } = await fetchOnce(server, req, allowed);
    const remaining = deadline - Date.now();
    if (bytes >= minBytes || errors || remaining <= 0 || server.stopping || conn.isClosed) {
      server.countOut(responses);
      return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
    }
    await waitForAppend(server, req, remaining);
  }
}

function waitForAppend(server: KafkaServer, req: FetchRequest, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const parts = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition })));
    const timer = setTimeout(() => {
      cancel();
      resolve();
    }, ms);
    const cancel = server.waiters.wait(parts, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function fetchOnce(server: KafkaServer, req: FetchRequest, allowed: Map<string, number>) {
  let budget = req.maxBytes > 0 ? req.maxBytes : 0x7fffffff;
  let bytes = 0;
  let errors = false;
  const responses = [];
  for (const t of req.topics) {
    const topicError = allowed.get(t.topic) ?? 0;
    const topic = topicError === 0 ? (server.topics.cached(t.topic) ?? (await server.topics.get(t.topic))) : undefined;
    const partitions: PartitionData[] = [];
    for (const p of t.partitions) {
      if (topicError !== 0 || !topic) {
        partitions.push(errorPartition(p.partition, topicError || ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        errors = true;
        continue;
      }
      if (p.partition < 0 || p.partition >= topic.partitions) {
        partitions.push(errorPartition(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        errors = true;
        continue;
      }
      const tp = { topic: t.topic, partition: p.partition };
      try {
        // Once the response budget is spent, later partitions report offsets without data.
        if (budget <= 0) {
          const o = await server.store.offsets(tp);
          partitions.push(dataPartition(p.partition, o.highWatermark, o.logStartOffset, EMPTY));
          continue;
        }
        const limit = Math.max(1, Math.min(p.partitionMaxBytes, budget));
        const res = await server.store.fetch(tp, p.fetchOffset, limit);
        // A first batch bigger than the limits is still returned whole (KIP-74); after that the budget binds.
        const records = bytes > 0 && res.batches.length > budget ? EMPTY : res.batches;
        budget -= records.length;
        bytes += records.length;
        partitions.push(dataPartition(p.partition, res.highWatermark, res.logStartOffset, records));
      } catch (err) {
        errors = true;
        if (err instanceof OffsetOutOfRangeError) {
          const o = await server.store.offsets(tp).catch(() => ({ highWatermark: -1, logStartOffset: -1 }));
          partitions.push({
            ...errorPartition(p.partition, ErrorCode.OFFSET_OUT_OF_RANGE),
            highWatermark: o.highWatermark,
            logStartOffset: o.logStartOffset,
          });
        } else {
          server.logger.warn({ topic: t.topic, partition: p.partition, err: (err as Error).message }, 'kafka: fetch failed');
          partitions.push(errorPartition(p.partition, storageErrorCode(err)));
        }
      }
    }
    responses.push({ topic: t.topic, partitions });
  }
  return { responses, bytes, errors };
}

function dataPartition(partitionIndex: number, hw: number, logStart: number, records: Buffer): PartitionData {
  return {
    partitionIndex,
    errorCode: 0,
    highWatermark: hw,
    lastStableOffset: hw,
    logStartOffset: logStart,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records,
  };
}
