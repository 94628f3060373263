/**
 * AMQP basic properties ↔ kernel Message headers. AMQP-only fields travel as `amqp-*` headers so
 * they survive storage and a crossing to another protocol and back; the common ones use the sdk
 * `Headers` names (content-type, reply-to ↔ response-topic, correlation-id ↔ correlation-data, …).
 */
import { createMessage, type HeaderValue, Headers, type Message, type Origin } from '@robustmq/sdk';
import { decodeTable, encodeTable, type FieldTable, type FieldValue } from '../codec/field-table.js';
import type { BasicProperties } from '../codec/frames.js';

/** Header names this plugin adds to kernel messages. */
export const AmqpHeaders = {
  /** Exchange the message was published to. */
  exchange: 'amqp-exchange',
  /** Routing key it was published with. */
  routingKey: 'amqp-routing-key',
  /** The AMQP `headers` table, raw field-table bytes (length prefix included). */
  table: 'amqp-headers',
  deliveryMode: 'amqp-delivery-mode',
  priority: 'amqp-priority',
  expiration: 'amqp-expiration',
  timestamp: 'amqp-timestamp',
  type: 'amqp-type',
  userId: 'amqp-user-id',
  appId: 'amqp-app-id',
  clusterId: 'amqp-cluster-id',
} as const;

/** Properties of messages published through AMQP, kept to skip re-encoding on delivery. */
const propsCache = new WeakMap<Message, BasicProperties>();

const str = (v: HeaderValue | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');

/** Builds the kernel message of an AMQP publish. */
export function toMessage(
  topic: string,
  exchange: string,
  routingKey: string,
  props: BasicProperties,
  body: Buffer,
  origin: Origin,
  now: number,
): Message {
  const h: Record<string, HeaderValue> = { [AmqpHeaders.exchange]: exchange, [AmqpHeaders.routingKey]: routingKey };
  if (props.contentType !== undefined) h[Headers.contentType] = props.contentType;
  if (props.contentEncoding !== undefined) h[Headers.contentEncoding] = props.contentEncoding;
  if (props.headers !== undefined && props.headers.length > 4) {
    h[AmqpHeaders.table] = props.headers;
    // String-valued entries are also MQTT 5 user properties, so MQTT subscribers see them.
    for (const [k, v] of Object.entries(safeDecode(props.headers))) {
      if (typeof v === 'string') h[Headers.mqttUserPrefix + k] = v;
    }
  }
  if (props.deliveryMode !== undefined) h[AmqpHeaders.deliveryMode] = String(props.deliveryMode);
  if (props.priority !== undefined) h[AmqpHeaders.priority] = String(props.priority);
  if (props.correlationId !== undefined) h[Headers.correlationData] = props.correlationId;
  if (props.replyTo !== undefined) h[Headers.responseTopic] = props.replyTo;
  if (props.expiration !== undefined) h[AmqpHeaders.expiration] = props.expiration;
  if (props.messageId !== undefined) h[Headers.messageId] = props.messageId;
  if (props.timestamp !== undefined) h[AmqpHeaders.timestamp] = String(props.timestamp);
  if (props.type !== undefined) h[AmqpHeaders.type] = props.type;
  if (props.userId !== undefined) h[AmqpHeaders.userId] = props.userId;
  if (props.appId !== undefined) h[AmqpHeaders.appId] = props.appId;
  if (props.clusterId !== undefined) h[AmqpHeaders.clusterId] = props.clusterId;
  const durable = props.deliveryMode === 2;
  const m = createMessage({
    topic,
    payload: body,
    headers: h,
    timestamp: now,
    durability: durable ? 'durable' : 'transient',
    qos: durable ? 1 : 0,
    origin,
  });
  const ttl = props.expiration === undefined ? Number.NaN : Number(props.expiration);
  if (Number.isFinite(ttl) && ttl >= 0) m.expiresAt = now + ttl;
  propsCache.set(m, props);
  return m;
}

function safeDecode(raw: Buffer): FieldTable {
  try {
    return decodeTable(raw);
  } catch {
    return {};
  }
}

/** The AMQP headers table of a message (from `amqp-headers`, else from MQTT user properties). */
export function headersTable(m: Message): FieldTable {
  const raw = m.headers[AmqpHeaders.table];
  if (raw !== undefined) return safeDecode(typeof raw === 'string' ? Buffer.from(raw, 'binary') : raw);
  const out: FieldTable = {};
  for (const [k, v] of Object.entries(m.headers)) {
    if (k.startsWith(Headers.mqttUserPrefix)) out[k.slice(Headers.mqttUserPrefix.length)] = str(v) as FieldValue;
  }
  return out;
}

/** The basic properties to deliver a kernel message with. */
export function toProperties(m: Message): BasicProperties {
  const cached = propsCache.get(m);
  if (cached !== undefined) return cached;
  const h = m.headers;
  const p: BasicProperties = {};
  const ct = str(h[Headers.contentType]);
  if (ct !== undefined) p.contentType = ct;
  const ce = str(h[Headers.contentEncoding]);
  if (ce !== undefined) p.contentEncoding = ce;
  const raw = h[AmqpHeaders.table];
  if (raw !== undefined) p.headers = typeof raw === 'string' ? Buffer.from(raw, 'binary') : raw;
  else {
    const t = headersTable(m);
    if (Object.keys(t).length > 0) p.headers = encodeTable(t);
  }
  const dm = str(h[AmqpHeaders.deliveryMode]);
  p.deliveryMode = dm !== undefined ? Number(dm) : m.durability === 'durable' ? 2 : 1;
  const pr = str(h[AmqpHeaders.priority]);
  if (pr !== undefined) p.priority = Number(pr);
  const corr = str(h[Headers.correlationData]);
  if (corr !== undefined && Buffer.byteLength(corr) <= 255) p.correlationId = corr;
  const rt = str(h[Headers.responseTopic]);
  if (rt !== undefined && Buffer.byteLength(rt) <= 255) p.replyTo = rt;
  const exp = str(h[AmqpHeaders.expiration]);
  if (exp !== undefined) p.expiration = exp;
  const id = str(h[Headers.messageId]);
  if (id !== undefined) p.messageId = id;
  const ts = str(h[AmqpHeaders.timestamp]);
  if (ts !== undefined) p.timestamp = Number(ts);
  const ty = str(h[AmqpHeaders.type]);
  if (ty !== undefined) p.type = ty;
  const uid = str(h[AmqpHeaders.userId]);
  if (uid !== undefined) p.userId = uid;
  const app = str(h[AmqpHeaders.appId]);
  if (app !== undefined) p.appId = app;
  const cl = str(h[AmqpHeaders.clusterId]);
  if (cl !== undefined) p.clusterId = cl;
  propsCache.set(m, p);
  return p;
}

/** A copy of `m` with a replaced AMQP headers table (dead-lettering adds x-death). */
export function withHeadersTable(m: Message, table: FieldTable, exchange: string, routingKey: string, topic: string): Message {
  const headers: Record<string, HeaderValue> = {
    ...m.headers,
    [AmqpHeaders.table]: encodeTable(table),
    [AmqpHeaders.exchange]: exchange,
    [AmqpHeaders.routingKey]: routingKey,
  };
  // Dead-lettered messages lose their per-message expiry (RabbitMQ removes `expiration`).
  delete headers[AmqpHeaders.expiration];
  const copy: Message = { ...m, topic, headers };
  delete copy.expiresAt;
  return copy;
}
