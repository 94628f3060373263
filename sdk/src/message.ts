/** Which protocol a message entered the broker through. */
export type ProtocolName = 'mqtt' | 'kafka' | 'amqp' | 'internal' | (string & {});

/** Who published a message. */
export interface Origin {
  protocol: ProtocolName;
  clientId: string;
  /** Authenticated identity (username, SASL principal), if any. */
  principal?: string;
}

/**
 * Header values are strings or raw bytes. Protocol-specific fields travel as headers whose
 * names are listed in {@link Headers} so they survive a crossing between protocols.
 */
export type HeaderValue = string | Buffer;

/**
 * How long a message must live.
 * - `transient`: delivered to live subscribers only (MQTT QoS 0, AMQP non-persistent).
 * - `durable`: must be written to a LogStore before it is acknowledged.
 */
export type Durability = 'transient' | 'durable';

/** The protocol-agnostic message every protocol plugin produces and consumes. */
export interface Message {
  /** Topic in the kernel's `/`-separated form (MQTT topic, Kafka topic, AMQP routing key mapped `.`→`/`). */
  topic: string;
  payload: Buffer;
  key?: Buffer;
  headers: Record<string, HeaderValue>;
  /** Milliseconds since the epoch when the broker accepted the message. */
  timestamp: number;
  /** Absolute expiry time in epoch milliseconds, if the message expires. */
  expiresAt?: number;
  durability: Durability;
  origin: Origin;
  /** Set by retain-capable protocols (MQTT retain flag). */
  retain?: boolean;
  /** Quality of service requested by the publisher (MQTT QoS; 1 for Kafka/AMQP durable). */
  qos?: 0 | 1 | 2;
}

/**
 * Documented header names. A protocol plugin maps its own fields to these so another protocol can
 * read them back.
 */
export const Headers = {
  /** MQTT 5 content type / AMQP content-type. */
  contentType: 'content-type',
  /** MQTT 5 payload format indicator: "1" = UTF-8. */
  payloadFormat: 'mqtt-payload-format',
  /** MQTT 5 response topic / AMQP reply-to. */
  responseTopic: 'response-topic',
  /** MQTT 5 correlation data / AMQP correlation-id. */
  correlationData: 'correlation-data',
  /** Prefix for MQTT 5 user properties: `mqtt-user-<name>`. Repeated names are JSON arrays. */
  mqttUserPrefix: 'mqtt-user-',
  /** AMQP message id. */
  messageId: 'message-id',
  /** AMQP content encoding. */
  contentEncoding: 'content-encoding',
} as const;

/** Creates a message with defaults for the optional fields. */
export function createMessage(fields: Partial<Message> & Pick<Message, 'topic' | 'payload' | 'origin'>): Message {
  return {
    headers: {},
    timestamp: Date.now(),
    durability: 'transient',
    ...fields,
  };
}
