import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaServer } from '../server.js';
import { storageErrorCode } from '../storage-errors.js';

interface ListOffsetsRequest {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; timestamp: number }> }>;
}

/** Timestamp values with special meaning. */
const LATEST = -1;
const EARLIEST = -2;

/** ListOffsets: latest (-1), earliest (-2) or the first offset with a timestamp at or after the given one. */
export async function handleListOffsets(server: KafkaServer, conn: Connection, req: ListOffsetsRequest) {
  const topics = [];
  for (const t of req.topics) {
    const allowed = await server.authorize(conn, 'consume', t.name);
    const topic = allowed ? await server.topics.get(t.name) : undefined;
    const partitions = await Promise.all(
      t.partitions.map(async (p) => {
        const base = { partitionIndex: p.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: 0 };
        if (!allowed) return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions)
          return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const tp = { topic: t.name, partition: p.partitionIndex };
        try {
          if (p.timestamp === LATEST || p.timestamp === EARLIEST) {
            const o = await server.store.offsets(tp);
            return { ...base, errorCode: 0, offset: p.timestamp === LATEST ? o.highWatermark : o.logStartOffset };
          }
          if (p.timestamp < 0) return { ...base, errorCode: ErrorCode.INVALID_REQUEST };
          const offset = await server.store.offsetForTimestamp(tp, p.timestamp);
          if (offset === undefined) return { ...base, errorCode: 0 };
          const [record] = await server.store.read(tp, offset, 1);
          return { ...base, errorCode: 0, offset, timestamp: record?.timestamp ?? p.timestamp };
        } catch (err) {
          return { ...base, errorCode: storageErrorCode(err) };
        }
      }),
    );
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}
