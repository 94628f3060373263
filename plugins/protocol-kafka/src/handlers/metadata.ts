import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaServer } from '../server.js';
import { invalidTopicName, type KafkaTopic } from '../topics.js';

interface MetadataRequest {
  topics: Array<{ name: string }> | null;
  allowAutoTopicCreation: boolean;
}

/** Metadata: this single broker leads every partition. v0's empty list and v1+'s null mean all topics. */
export async function handleMetadata(server: KafkaServer, conn: Connection, req: MetadataRequest, version: number) {
  const { nodeId } = server.options;
  const all = req.topics === null || (version === 0 && req.topics.length === 0);
  const names = all ? await server.topics.list() : [...new Set(req.topics!.map((t) => t.name))];
  const topics = await Promise.all(
    names.map(async (name) => {
      const bad = invalidTopicName(name);
      if (bad) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] };
      let topic: KafkaTopic | undefined;
      let creationDenied = false;
      try {
        topic = await server.topics.get(name);
        if (!topic && !all && req.allowAutoTopicCreation && server.options.autoCreateTopics) {
          creationDenied = !(await server.authorize(conn, 'admin', name));
          if (!creationDenied) topic = await server.topics.getOrCreate(name, true);
        }
      } catch {
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, name, partitions: [] };
      }
      // Like Kafka: a topic the client may not create is reported as not authorized.
      if (!topic)
        return {
          errorCode: creationDenied ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          name,
          partitions: [],
        };
      const partitions = [];
      for (let p = 0; p < topic.partitions; p++) {
        partitions.push({
          errorCode: 0,
          partitionIndex: p,
          leaderId: nodeId,
          leaderEpoch: 0,
          replicaNodes: [nodeId],
          isrNodes: [nodeId],
          offlineReplicas: [],
        });
      }
      return { errorCode: 0, name, isInternal: false, partitions };
    }),
  );
  const { host, port } = server.advertised();
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId, host, port, rack: null }],
    clusterId: server.options.clusterId,
    controllerId: nodeId,
    topics,
  };
}
