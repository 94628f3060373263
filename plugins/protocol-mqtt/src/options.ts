import { z } from '@robustmq/sdk';

const tlsFiles = {
  /** PEM certificate chain file. */
  cert: z.string().optional(),
  /** PEM private key file. */
  key: z.string().optional(),
  /** PEM CA bundle used to verify client certificates. */
  ca: z.string().optional(),
  /** Ask clients for a certificate (verified against `ca`). */
  requestCert: z.boolean().default(false),
  /** Refuse clients without a valid certificate (only with requestCert). */
  rejectUnauthorized: z.boolean().default(true),
};

/** Options of the protocol-mqtt plugin. Every field has a default. */
export const mqttOptionsSchema = z.object({
  /** TCP listener port (0 = any free port). */
  port: z.number().int().min(0).max(65535).default(1883),
  /** Bind address; defaults to the broker's `host`. */
  host: z.string().optional(),
  tls: z
    .object({ enabled: z.boolean().default(false), port: z.number().int().min(0).max(65535).default(8883), ...tlsFiles })
    .prefault({}),
  ws: z
    .object({
      enabled: z.boolean().default(false),
      port: z.number().int().min(0).max(65535).default(8083),
      path: z.string().default('/mqtt'),
    })
    .prefault({}),
  wss: z
    .object({
      enabled: z.boolean().default(false),
      port: z.number().int().min(0).max(65535).default(8084),
      path: z.string().default('/mqtt'),
      ...tlsFiles,
    })
    .prefault({}),
  /** Maximum simultaneous connections (0 = unlimited). */
  maxConnections: z.number().int().min(0).default(0),
  /** Largest packet accepted from clients, in bytes (announced as Maximum Packet Size). */
  maxPacketSize: z.number().int().min(16).max(268435455).default(1048576),
  /** Incoming QoS 1/2 publishes a client may have unacknowledged (announced as Receive Maximum). */
  receiveMaximum: z.number().int().min(1).max(65535).default(1024),
  /** Topic aliases a client may use towards the broker (0 disables). */
  topicAliasMaximum: z.number().int().min(0).max(65535).default(64),
  /** Outgoing QoS 1/2 messages in flight per client (also capped by the client's Receive Maximum). */
  maxInflight: z.number().int().min(1).max(65535).default(1024),
  /** Messages queued per session while offline or while the in-flight window is full. */
  maxQueuedMessages: z.number().int().min(1).default(1000),
  /** Which message to drop when the queue is full. */
  queueDropPolicy: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
  /** Queue QoS 0 messages for offline persistent sessions too. */
  queueQos0: z.boolean().default(false),
  /** Topic levels allowed in names and filters (0 = unlimited). */
  maxTopicLevels: z.number().int().min(0).default(128),
  /** Topic length in bytes (0 = unlimited; the protocol caps it at 65535). */
  maxTopicLength: z.number().int().min(0).default(65535),
  /** Publishes per second per client (0 = unlimited); excess publishes disconnect with 0x96. */
  publishRateLimit: z.number().min(0).default(0),
  /** Largest keep-alive accepted, in seconds; larger (or 0) values are replaced by it (5.0 Server Keep Alive). 0 = no limit. */
  keepAliveMax: z.number().int().min(0).max(65535).default(0),
  /** Largest session expiry interval granted, in seconds. */
  sessionExpiryMax: z.number().int().min(0).max(4294967295).default(4294967295),
  /** Milliseconds a client has to send CONNECT after the socket opens. */
  connectTimeoutMs: z.number().int().min(100).default(10000),
  retainAvailable: z.boolean().default(true),
  wildcardSubscriptionAvailable: z.boolean().default(true),
  sharedSubscriptionAvailable: z.boolean().default(true),
  subscriptionIdentifiersAvailable: z.boolean().default(true),
  /** Highest QoS the broker accepts (announced as Maximum QoS). */
  maximumQoS: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
  /** Allow clients the authenticate hooks have no opinion about. */
  allowAnonymous: z.boolean().default(true),
  /** Seconds between `$SYS/broker/...` statistics publishes (0 disables). */
  sysInterval: z.number().min(0).default(10),
  /** Value of the Response Information property for clients that ask for it ('' = not sent). */
  responseInformation: z.string().default('response/'),
});

export type MqttOptions = z.output<typeof mqttOptionsSchema>;
