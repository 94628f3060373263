/**
 * AlterConfigs (replace a topic's dynamic configs) and IncrementalAlterConfigs (SET / DELETE per
 * config) for topics. Broker configs are plugin options and cannot be altered at run time.
 */
import type { TopicConfig } from '@robustmq/sdk';
import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaServer } from '../server.js';
import { storageErrorCode } from '../storage-errors.js';
import { fromTopicConfig, TopicError, toTopicConfig } from '../topics.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
/** Configs that map onto TopicConfig fields (the others live in `extra`, which can only grow). */
const MAPPED = new Set(['retention.ms', 'retention.bytes', 'segment.bytes', 'segment.ms', 'cleanup.policy']);

interface Resource {
  resourceType: number;
  resourceName: string;
  configs: Array<{ name: string; value: string | null; configOperation?: number }>;
}

/** Applies the wanted set of dynamic configs: mapped ones not listed go back to their defaults. */
async function apply(server: KafkaServer, topic: string, wanted: Map<string, string>, validateOnly: boolean): Promise<void> {
  const patch = toTopicConfig([...wanted].map(([name, value]) => ({ name, value })));
  const full: Partial<Omit<TopicConfig, 'partitions'>> = {
    retentionMs: patch.retentionMs,
    retentionBytes: patch.retentionBytes,
    segmentBytes: patch.segmentBytes,
    segmentMs: patch.segmentMs,
    cleanupPolicy: patch.cleanupPolicy,
  };
  if (patch.extra) full.extra = patch.extra;
  if (!validateOnly) await server.topics.updateConfig(topic, full);
}

async function alter(server: KafkaServer, conn: Connection, r: Resource, validateOnly: boolean, incremental: boolean) {
  const base = { resourceType: r.resourceType, resourceName: r.resourceName };
  if (r.resourceType === BROKER) {
    return {
      ...base,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'broker configs are plugin options (plugins.protocol-kafka.options)',
    };
  }
  if (r.resourceType !== TOPIC)
    return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unsupported resource type ${r.resourceType}` };
  if (!(await server.authorize(conn, 'admin', r.resourceName))) {
    return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'not authorized' };
  }
  try {
    server.topics.invalidate(r.resourceName);
    const topic = await server.topics.get(r.resourceName);
    if (!topic) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${r.resourceName}`);
    const wanted = new Map<string, string>();
    if (incremental) for (const c of fromTopicConfig(topic.config)) if (!c.isDefault) wanted.set(c.name, c.value);
    for (const c of r.configs) {
      const op = incremental ? (c.configOperation ?? SET) : SET;
      if (op === SET) {
        if (c.value !== null) wanted.set(c.name, c.value);
      } else if (op === DELETE) {
        if (!MAPPED.has(c.name)) throw new TopicError(ErrorCode.INVALID_CONFIG, `${c.name} cannot be deleted once set`);
        wanted.delete(c.name);
      } else {
        throw new TopicError(ErrorCode.INVALID_CONFIG, `${c.name} is not a list config (APPEND/SUBTRACT)`);
      }
    }
    await apply(server, r.resourceName, wanted, validateOnly);
    return { ...base, errorCode: 0, errorMessage: null };
  } catch (err) {
    if (err instanceof TopicError) return { ...base, errorCode: err.code, errorMessage: err.message };
    return { ...base, errorCode: storageErrorCode(err), errorMessage: (err as Error).message };
  }
}

export async function handleAlterConfigs(
  server: KafkaServer,
  conn: Connection,
  req: { resources: Resource[]; validateOnly: boolean },
) {
  const responses = [];
  for (const r of req.resources) responses.push(await alter(server, conn, r, req.validateOnly, false));
  return { throttleTimeMs: 0, responses };
}

export async function handleIncrementalAlterConfigs(
  server: KafkaServer,
  conn: Connection,
  req: { resources: Resource[]; validateOnly: boolean },
) {
  const responses = [];
  for (const r of req.resources) responses.push(await alter(server, conn, r, req.validateOnly, true));
  return { throttleTimeMs: 0, responses };
}
