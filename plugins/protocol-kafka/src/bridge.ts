/**
 * Cross-protocol mapping. MQTT → Kafka: a router subscriber per rule appends matching messages
 * to a Kafka topic. Kafka → MQTT: records produced to a mapped Kafka topic are published through
 * the kernel publish pipeline so subscribers of any protocol receive them.
 */
import {
  type BatchHeader,
  createMessage,
  decodeBatchRecords,
  type Delivery,
  Headers,
  type HeaderValue,
  isPromise,
  type RecordHeader,
  type RecordInput,
  type StoredRecord,
  publishMessage,
} from '@robustmq/sdk';
import type { KafkaToMqttRule, MqttToKafkaRule } from './options.js';
import { partitionForKey } from './murmur2.js';
import type { KafkaServer } from './server.js';

/** Kafka record header carrying the MQTT topic a record came from. */
export const MQTT_TOPIC_HEADER = 'mqtt-topic';
/** Header names that keep their name in both directions (documented sdk names). */
const KNOWN = new Set<string>([
  Headers.contentType,
  Headers.payloadFormat,
  Headers.responseTopic,
  Headers.correlationData,
  Headers.messageId,
  Headers.contentEncoding,
]);
/** Records waiting to be appended per MQTT → Kafka rule before new ones are dropped. */
const QUEUE_LIMIT = 10000;

/** MQTT message headers → Kafka record headers: user properties lose their `mqtt-user-` prefix. */
export function toKafkaHeaders(headers: Record<string, HeaderValue>, mqttTopic: string): RecordHeader[] {
  const out: RecordHeader[] = [{ key: MQTT_TOPIC_HEADER, value: Buffer.from(mqttTopic) }];
  for (const [name, value] of Object.entries(headers)) {
    const key = name.startsWith(Headers.mqttUserPrefix) ? name.slice(Headers.mqttUserPrefix.length) : name;
    if (!key) continue;
    out.push({ key, value: typeof value === 'string' ? Buffer.from(value) : value });
  }
  return out;
}

/** Kafka record headers → message headers: documented names kept, others become MQTT user properties. */
export function fromKafkaHeaders(headers: RecordHeader[]): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  for (const h of headers) {
    if (h.key === MQTT_TOPIC_HEADER || h.value === null) continue;
    const name = KNOWN.has(h.key) ? h.key : `${Headers.mqttUserPrefix}${h.key}`;
    out[name] = h.key === Headers.correlationData ? h.value : h.value.toString('utf8');
  }
  return out;
}

/** The record key a rule asks for. */
export function recordKey(rule: MqttToKafkaRule, topic: string, payload: Buffer): Buffer | null {
  if (rule.key === 'none') return null;
  if (rule.key === 'topic') return Buffer.from(topic);
  if (rule.key.startsWith('field:')) {
    const field = rule.key.slice(6);
    try {
      const v = (JSON.parse(payload.toString('utf8')) as Record<string, unknown>)?.[field];
      if (v === undefined || v === null) return null;
      return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    } catch {
      return null;
    }
  }
  return Buffer.from(topic);
}

/** Fills `{key}`, `{topic}` and `{partition}` in an MQTT topic template. */
export function mqttTopicFor(rule: KafkaToMqttRule, topic: string, partition: number, key: Buffer | null): string {
  return rule.to
    .replaceAll('{topic}', topic)
    .replaceAll('{partition}', String(partition))
    .replaceAll('{key}', key ? key.toString('utf8').replace(/[+#]/g, '_') : '');
}

interface RuleState {
  rule: MqttToKafkaRule;
  id: string;
  queue: Promise<void>;
  queued: number;
  roundRobin: number;
}

export class Bridge {
  private readonly states: RuleState[] = [];
  private readonly toMqtt = new Map<string, KafkaToMqttRule[]>();

  constructor(
    private readonly server: KafkaServer,
    private readonly rules: { mqttToKafka: MqttToKafkaRule[]; kafkaToMqtt: KafkaToMqttRule[] },
  ) {
    for (const r of rules.kafkaToMqtt) this.toMqtt.set(r.from, [...(this.toMqtt.get(r.from) ?? []), r]);
  }

  start(): void {
    this.rules.mqttToKafka.forEach((rule, i) => {
      const state: RuleState = { rule, id: `kafka-bridge:${i}:${rule.to}`, queue: Promise.resolve(), queued: 0, roundRobin: 0 };
      this.states.push(state);
      this.server.router.attach({ id: state.id, deliver: (d) => this.deliver(state, d) });
      this.server.router.subscribe(state.id, rule.from, { qos: 1 });
    });
  }

  stop(): Promise<void> {
    for (const s of this.states) this.server.router.detach(s.id);
    return Promise.all(this.states.map((s) => s.queue)).then(() => undefined);
  }

  private deliver(state: RuleState, d: Delivery): boolean {
    const msg = d.message;
    // Records that came from Kafka are already in a Kafka topic: do not loop them back.
    if (msg.origin.protocol === 'kafka') return true;
    if (state.queued >= QUEUE_LIMIT) {
      this.server.hooks.emit('dropped', { message: msg, subscriberId: state.id, reason: 'queue-full' });
      return true;
    }
    state.queued++;
    const record: RecordInput = {
      key: recordKey(state.rule, msg.topic, msg.payload),
      value: msg.payload,
      headers: toKafkaHeaders(msg.headers, msg.topic),
      timestamp: msg.timestamp,
    };
    state.queue = state.queue
      .then(() => this.append(state, record))
      .catch((err) => this.server.logger.warn({ rule: state.id, err: (err as Error).message }, 'kafka bridge: append failed'))
      .finally(() => {
        state.queued--;
      });
    return true;
  }

  private async append(state: RuleState, record: RecordInput): Promise<void> {
    const name = state.rule.to;
    let topic = this.server.topics.cached(name) ?? (await this.server.topics.get(name));
    if (!topic) {
      await this.server.topics.create(name, state.rule.partitions).catch(() => undefined);
      topic = await this.server.topics.get(name);
      if (!topic) throw new Error(`cannot create Kafka topic ${name}`);
    }
    const partition = record.key ? partitionForKey(record.key, topic.partitions) : state.roundRobin++ % topic.partitions;
    const tp = { topic: name, partition };
    await this.server.store.append(tp, [record]);
    this.server.waiters.notify(name, partition);
  }

  /** True when records appended to this Kafka topic must be published to MQTT. */
  mapsKafkaTopic(topic: string): boolean {
    return this.toMqtt.has(topic);
  }

  /** Publishes the records of a batch produced to a mapped Kafka topic. */
  publishBatch(topic: string, partition: number, batch: Buffer, header: BatchHeader, clientId: string, principal?: string): void {
    const rules = this.toMqtt.get(topic);
    if (!rules) return;
    let records: StoredRecord[];
    try {
      records = decodeBatchRecords(batch, 0, header);
    } catch (err) {
      this.server.logger.warn({ topic, err: (err as Error).message }, 'kafka bridge: cannot decode batch for MQTT');
      return;
    }
    for (const rule of rules) {
      for (const r of records) {
        const message = createMessage({
          topic: mqttTopicFor(rule, topic, partition, r.key),
          payload: r.value ?? Buffer.alloc(0),
          key: r.key ?? undefined,
          headers: fromKafkaHeaders(r.headers),
          timestamp: r.timestamp,
          durability: 'durable',
          qos: rule.qos,
          origin: { protocol: 'kafka', clientId, principal },
        });
        const out = publishMessage(this.server.hooks, this.server.router, message);
        if (isPromise(out))
          out.catch((err) => this.server.logger.warn({ err: (err as Error).message }, 'kafka bridge: publish failed'));
      }
    }
  }
}
