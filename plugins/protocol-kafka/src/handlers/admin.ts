/** CreateTopics, DeleteTopics, CreatePartitions and DescribeConfigs. */
import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/schema.js';
import type { KafkaServer } from '../server.js';
import { storageErrorCode } from '../storage-errors.js';
import { fromTopicConfig, TopicError, toTopicConfig } from '../topics.js';

interface CreateTopicsRequest {
  topics: Array<{
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: Array<{ partitionIndex: number; brokerIds: number[] }>;
    configs: Array<{ name: string; value: string | null }>;
  }>;
  validateOnly: boolean;
}

function errorOf(err: unknown): { errorCode: number; errorMessage: string } {
  if (err instanceof TopicError) return { errorCode: err.code, errorMessage: err.message };
  return { errorCode: storageErrorCode(err), errorMessage: (err as Error).message };
}

export async function handleCreateTopics(server: KafkaServer, conn: Connection, req: CreateTopicsRequest) {
  const topics = [];
  for (const t of req.topics) {
    const base = { name: t.name, topicId: ZERO_UUID, numPartitions: -1, replicationFactor: -1, configs: null };
    if (!(await server.authorize(conn, 'admin', t.name))) {
      topics.push({ ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'not authorized' });
      continue;
    }
    try {
      if (t.replicationFactor !== -1 && t.replicationFactor !== 1)
        throw new TopicError(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `replication factor ${t.replicationFactor}: this broker keeps one copy`,
        );
      let partitions = t.numPartitions === -1 ? server.options.defaultPartitions : t.numPartitions;
      if (t.assignments.length > 0) {
        if (t.numPartitions !== -1)
          throw new TopicError(ErrorCode.INVALID_REQUEST, 'both numPartitions and replica assignments were given');
        if (t.assignments.some((a) => a.brokerIds.some((b) => b !== server.options.nodeId)))
          throw new TopicError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `only broker ${server.options.nodeId} exists`);
        partitions = t.assignments.length;
      }
      const created = await server.topics.create(t.name, partitions, toTopicConfig(t.configs), req.validateOnly);
      topics.push({
        ...base,
        topicId: created.id,
        errorCode: 0,
        errorMessage: null,
        numPartitions: created.partitions,
        replicationFactor: 1,
        configs: fromTopicConfig(created.config).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: false,
          configSource: c.isDefault ? 5 : 1,
          isSensitive: false,
        })),
      });
    } catch (err) {
      topics.push({ ...base, ...errorOf(err) });
    }
  }
  return { throttleTimeMs: 0, topics };
}

interface DeleteTopicsRequest {
  topics: Array<{ name: string | null; topicId: Buffer }>;
  topicNames: string[];
}

export async function handleDeleteTopics(server: KafkaServer, conn: Connection, req: DeleteTopicsRequest, version: number) {
  const names: Array<{ name: string | null; topicId: Buffer }> =
    version >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  const responses = [];
  for (const entry of names) {
    let name = entry.name;
    if (name === null) {
      // Deletion by topic id: find the topic with that id.
      for (const n of await server.topics.list()) {
        const t = await server.topics.get(n);
        if (t?.id.equals(entry.topicId)) name = n;
      }
      if (name === null) {
        responses.push({ name: null, topicId: entry.topicId, errorCode: 100, errorMessage: 'unknown topic id' });
        continue;
      }
    }
    const base = { name, topicId: entry.topicId };
    if (!(await server.authorize(conn, 'admin', name))) {
      responses.push({ ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'not authorized' });
      continue;
    }
    try {
      const topic = await server.topics.get(name);
      const deleted = topic ? await server.topics.delete(name) : false;
      if (deleted) server.topicDeleted(name);
      responses.push({
        ...base,
        topicId: topic?.id ?? entry.topicId,
        errorCode: deleted ? 0 : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: deleted ? null : `unknown topic ${name}`,
      });
    } catch (err) {
      responses.push({ ...base, ...errorOf(err) });
    }
  }
  return { throttleTimeMs: 0, responses };
}

interface CreatePartitionsRequest {
  topics: Array<{ name: string; count: number; assignments: Array<{ brokerIds: number[] }> | null }>;
  validateOnly: boolean;
}

export async function handleCreatePartitions(server: KafkaServer, conn: Connection, req: CreatePartitionsRequest) {
  const results = [];
  for (const t of req.topics) {
    if (!(await server.authorize(conn, 'admin', t.name))) {
      results.push({ name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'not authorized' });
      continue;
    }
    try {
      const topic = await server.topics.get(t.name);
      if (!topic) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${t.name}`);
      if (t.count <= topic.partitions)
        throw new TopicError(
          ErrorCode.INVALID_PARTITIONS,
          `topic ${t.name} has ${topic.partitions} partitions; the new count must be larger`,
        );
      if (t.count > 10000) throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'at most 10000 partitions');
      if (!req.validateOnly) await server.topics.addPartitions(t.name, t.count);
      results.push({ name: t.name, errorCode: 0, errorMessage: null });
    } catch (err) {
      results.push({ name: t.name, ...errorOf(err) });
    }
  }
  return { throttleTimeMs: 0, results };
}

interface DescribeConfigsRequest {
  resources: Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>;
}

/** Resource types. */
const TOPIC = 2;
const BROKER = 4;
/** Config sources: dynamic topic config, and default. */
const TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;
const STATIC_BROKER_CONFIG = 4;

export async function handleDescribeConfigs(server: KafkaServer, conn: Connection, req: DescribeConfigsRequest, version: number) {
  const results = [];
  for (const r of req.resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
    let entries: Array<{ name: string; value: string; isDefault: boolean; source: number }>;
    if (r.resourceType === TOPIC) {
      if (!(await server.authorize(conn, 'admin', r.resourceName))) {
        results.push({ ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'not authorized' });
        continue;
      }
      server.topics.invalidate(r.resourceName);
      const topic = await server.topics.get(r.resourceName);
      if (!topic) {
        results.push({
          ...base,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: `unknown topic ${r.resourceName}`,
        });
        continue;
      }
      entries = fromTopicConfig(topic.config).map((c) => ({ ...c, source: c.isDefault ? DEFAULT_CONFIG : TOPIC_CONFIG }));
    } else if (r.resourceType === BROKER) {
      const o = server.options;
      entries = [
        { name: 'auto.create.topics.enable', value: String(o.autoCreateTopics), isDefault: false, source: STATIC_BROKER_CONFIG },
        { name: 'num.partitions', value: String(o.defaultPartitions), isDefault: false, source: STATIC_BROKER_CONFIG },
        { name: 'message.max.bytes', value: String(o.maxMessageBytes), isDefault: false, source: STATIC_BROKER_CONFIG },
        { name: 'socket.request.max.bytes', value: String(o.maxFrameBytes), isDefault: false, source: STATIC_BROKER_CONFIG },
        { name: 'broker.id', value: String(o.nodeId), isDefault: false, source: STATIC_BROKER_CONFIG },
      ];
    } else {
      results.push({
        ...base,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unsupported resource type ${r.resourceType}`,
      });
      continue;
    }
    const wanted = r.configurationKeys;
    results.push({
      ...base,
      errorCode: 0,
      errorMessage: null,
      configs: entries
        .filter((e) => !wanted || wanted.includes(e.name))
        .map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: r.resourceType === BROKER,
          isDefault: e.isDefault,
          configSource: version >= 1 ? e.source : -1,
          isSensitive: false,
          synonyms: [],
          configType: 0,
          documentation: null,
        })),
    });
  }
  return { throttleTimeMs: 0, results };
}
