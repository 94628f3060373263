import { z } from '@robustmq/sdk';

const port = z.number().int().min(0).max(65535);

/** Where MQTT publishes go into Kafka: every message matching `from` is appended to Kafka topic `to`. */
export const mqttToKafkaRule = z.object({
  /** MQTT topic filter (`+`/`#` wildcards). */
  from: z.string().min(1),
  /** Kafka topic (created on first use with `partitions` partitions). */
  to: z.string().min(1),
  /**
   * Record key: `topic` = the MQTT topic, `none` = null key, `field:<name>` = that top-level field of
   * a JSON payload (null when absent or the payload is not JSON).
   */
  key: z.string().default('topic'),
  partitions: z.number().int().min(1).default(1),
});

/** Where Kafka records go into MQTT: records produced to Kafka topic `from` are published to MQTT. */
export const kafkaToMqttRule = z.object({
  /** Kafka topic. */
  from: z.string().min(1),
  /** MQTT topic template: `{key}` = record key (UTF-8), `{topic}` = Kafka topic, `{partition}`. */
  to: z.string().min(1).default('{topic}'),
  /** MQTT QoS given to the published messages (subscribers get min(this, their granted QoS)). */
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
});

/** Options of the protocol-kafka plugin. Every field has a default. */
export const kafkaOptionsSchema = z.object({
  /** TCP listener port (0 = any free port). */
  port: port.default(9092),
  /** Bind address; defaults to the broker's `host`. */
  host: z.string().optional(),
  /** Host clients are told to connect to (Metadata, FindCoordinator). Default: the bind host, or `127.0.0.1` for a wildcard bind (set it for remote clients). */
  advertisedHost: z.string().optional(),
  /** Port clients are told to connect to; default the bound port. */
  advertisedPort: port.optional(),
  /** This broker's node id. */
  nodeId: z.number().int().min(0).default(0),
  clusterId: z.string().default('robustmq'),
  /** Create unknown topics on Metadata and Produce requests (Kafka `auto.create.topics.enable`). */
  autoCreateTopics: z.boolean().default(true),
  /** Partitions of auto-created topics (Kafka `num.partitions`). */
  defaultPartitions: z.number().int().min(1).default(1),
  /** Largest request frame accepted, in bytes (Kafka `socket.request.max.bytes`). */
  maxFrameBytes: z.number().int().min(1024).default(104857600),
  /** Largest record batch accepted by Produce (Kafka `message.max.bytes`). */
  maxMessageBytes: z.number().int().min(1024).default(1048588),
  /** Requests a connection may have in flight before the broker stops reading from it. */
  maxInflightRequests: z.number().int().min(1).default(100),
  /** Delay before the first rebalance of an empty group completes (Kafka `group.initial.rebalance.delay.ms`). */
  groupInitialRebalanceDelayMs: z.number().int().min(0).default(0),
  groupMinSessionTimeoutMs: z.number().int().min(1).default(1000),
  groupMaxSessionTimeoutMs: z.number().int().min(1).default(1800000),
  /**
   * Interval between snapshots of the idempotent producer state of changed partitions, in ms (0: only
   * at shutdown). After a crash the log written since the last snapshot is replayed.
   */
  producerStateSnapshotMs: z.number().int().min(0).default(5000),
  /** A producer with no batch on a partition for this long is forgotten there (Kafka `producer.id.expiration.ms`). */
  producerIdExpirationMs: z.number().int().min(1).default(86400000),
  sasl: z
    .object({
      /** Require SASL authentication before any request but ApiVersions and the SASL ones. */
      enabled: z.boolean().default(false),
      mechanisms: z
        .array(z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']))
        .default(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']),
    })
    .prefault({}),
  /** Cross-protocol mapping between MQTT topics and Kafka topics (see README). */
  bridge: z
    .object({
      mqttToKafka: z.array(mqttToKafkaRule).default([]),
      kafkaToMqtt: z.array(kafkaToMqttRule).default([]),
    })
    .prefault({}),
});

export type KafkaOptions = z.output<typeof kafkaOptionsSchema>;
export type MqttToKafkaRule = z.output<typeof mqttToKafkaRule>;
export type KafkaToMqttRule = z.output<typeof kafkaToMqttRule>;
