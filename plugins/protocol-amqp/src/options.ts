import { z } from '@robustmq/sdk';

/** Options of the AMQP plugin (`plugins.protocol-amqp.options`, env `ROBUSTMQ_AMQP_*`). */
export const amqpOptionsSchema = z
  .object({
    /** TCP port; 0 picks a free one (tests). */
    port: z.coerce.number().int().min(0).max(65535).default(5672),
    /** Bind address; defaults to the broker's `host`. */
    host: z.string().optional(),
    /** Virtual hosts clients may open. */
    vhosts: z.array(z.string()).default(['/']),
    /** Largest frame offered in connection.tune (bytes). */
    frameMax: z.coerce.number().int().min(4096).max(16777216).default(131072),
    /** Highest channel number offered in connection.tune. */
    channelMax: z.coerce.number().int().min(1).max(65535).default(2047),
    /** Heartbeat interval offered in connection.tune (seconds, 0 = off). */
    heartbeat: z.coerce.number().int().min(0).max(65535).default(60),
    /** Largest message body accepted (bytes). */
    maxMessageSize: z.coerce
      .number()
      .int()
      .min(1)
      .default(16 * 1024 * 1024),
    /** Connections accepted at once (0 = unlimited). */
    maxConnections: z.coerce.number().int().min(0).default(0),
    /**
     * Heap bytes above which publishing connections are blocked (connection.blocked), 0 = off.
     * Default: 70% of the V8 heap limit.
     */
    memoryHighWatermark: z.coerce.number().min(0).optional(),
    /** AMQPS listener (AMQP over TLS). */
    tls: z
      .object({
        enabled: z.coerce.boolean().default(false),
        port: z.coerce.number().int().min(0).max(65535).default(5671),
        /** PEM certificate chain file. */
        cert: z.string().optional(),
        /** PEM private key file. */
        key: z.string().optional(),
        /** PEM CA bundle that verifies client certificates. */
        ca: z.string().optional(),
        /** Ask clients for a certificate; a verified one enables the EXTERNAL mechanism. */
        requestCert: z.coerce.boolean().default(false),
        /** Refuse clients without a valid certificate (with requestCert). */
        rejectUnauthorized: z.coerce.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Milliseconds between acknowledgement-state writes of durable queues. */
    ackFlushMs: z.coerce.number().int().min(1).default(200),
  })
  .strict();

export type AmqpOptions = z.output<typeof amqpOptionsSchema>;
