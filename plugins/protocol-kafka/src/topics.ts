/**
 * Kafka topics over the kernel LogStore: name checks, Kafka topic configs ↔ TopicConfig, topic ids,
 * a partition-count cache for the produce/fetch hot path, and auto-creation.
 */
import { randomBytes } from 'node:crypto';
import type { LogStore, TopicConfig } from '@robustmq/sdk';
import { ErrorCode } from './protocol/errors.js';

/** Legal Kafka topic names. */
const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME = 249;

/** Why a name is not a valid Kafka topic, or undefined when it is. */
export function invalidTopicName(name: string): string | undefined {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > MAX_TOPIC_NAME) return `topic name is longer than ${MAX_TOPIC_NAME} characters`;
  if (!LEGAL.test(name)) return 'topic name may contain only ASCII letters, digits, ".", "_" and "-"';
  return undefined;
}

/** Extra config key holding the topic id (hidden from DescribeConfigs). */
const TOPIC_ID_KEY = 'robustmq.kafka.topic.id';

/** Kafka topic configs that map onto TopicConfig fields. */
const MAPPED = ['retention.ms', 'retention.bytes', 'segment.bytes', 'segment.ms', 'cleanup.policy'] as const;

/** The Kafka view of one topic. */
export interface KafkaTopic {
  name: string;
  partitions: number;
  id: Buffer;
  config: TopicConfig;
}

export class TopicError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Converts Kafka topic configs to a TopicConfig patch; throws TopicError(INVALID_CONFIG). */
export function toTopicConfig(configs: Array<{ name: string; value: string | null }>): Partial<TopicConfig> {
  const out: Partial<TopicConfig> = {};
  const extra: Record<string, string> = {};
  for (const { name, value } of configs) {
    if (value === null) continue;
    const num = () => {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new TopicError(ErrorCode.INVALID_CONFIG, `${name} must be an integer, got "${value}"`);
      return n;
    };
    switch (name) {
      case 'retention.ms': {
        const n = num();
        out.retentionMs = n < 0 ? undefined : n;
        break;
      }
      case 'retention.bytes': {
        const n = num();
        out.retentionBytes = n < 0 ? undefined : n;
        break;
      }
      case 'segment.bytes':
        out.segmentBytes = num();
        break;
      case 'segment.ms':
        out.segmentMs = num();
        break;
      case 'cleanup.policy':
        if (value !== 'delete' && value !== 'compact')
          throw new TopicError(ErrorCode.INVALID_CONFIG, `cleanup.policy must be delete or compact, got "${value}"`);
        out.cleanupPolicy = value;
        break;
      default:
        extra[name] = value;
    }
  }
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}

/** Kafka topic configs of a TopicConfig: [name, value, isDefault]. */
export function fromTopicConfig(config: TopicConfig): Array<{ name: string; value: string; isDefault: boolean }> {
  const out = [
    { name: 'cleanup.policy', value: config.cleanupPolicy ?? 'delete', isDefault: config.cleanupPolicy === undefined },
    { name: 'retention.ms', value: String(config.retentionMs ?? -1), isDefault: config.retentionMs === undefined },
    { name: 'retention.bytes', value: String(config.retentionBytes ?? -1), isDefault: config.retentionBytes === undefined },
    { name: 'segment.bytes', value: String(config.segmentBytes ?? 1073741824), isDefault: config.segmentBytes === undefined },
    { name: 'segment.ms', value: String(config.segmentMs ?? 604800000), isDefault: config.segmentMs === undefined },
  ];
  for (const [name, value] of Object.entries(config.extra ?? {})) {
    if (name.startsWith('robustmq.') || (MAPPED as readonly string[]).includes(name)) continue;
    out.push({ name, value, isDefault: false });
  }
  return out;
}

export class TopicService {
  private readonly cache = new Map<string, KafkaTopic>();
  private loading = new Map<string, Promise<KafkaTopic | undefined>>();

  constructor(
    private readonly store: LogStore,
    private readonly defaults: { autoCreate: boolean; partitions: number },
  ) {}

  /** The topic, from cache or the store. */
  async get(name: string): Promise<KafkaTopic | undefined> {
    const hit = this.cache.get(name);
    if (hit) return hit;
    let p = this.loading.get(name);
    if (!p) {
      p = this.load(name).finally(() => this.loading.delete(name));
      this.loading.set(name, p);
    }
    return p;
  }

  /** Cached topic without touching the store (hot path). */
  cached(name: string): KafkaTopic | undefined {
    return this.cache.get(name);
  }

  private async load(name: string): Promise<KafkaTopic | undefined> {
    const config = await this.store.describeTopic(name);
    if (!config) return undefined;
    let idHex = config.extra?.[TOPIC_ID_KEY];
    if (!idHex) {
      idHex = randomBytes(16).toString('hex');
      await this.store
        .updateTopicConfig(name, { extra: { ...(config.extra ?? {}), [TOPIC_ID_KEY]: idHex } })
        .catch(() => undefined);
    }
    const topic: KafkaTopic = { name, partitions: config.partitions, id: Buffer.from(idHex, 'hex'), config };
    this.cache.set(name, topic);
    return topic;
  }

  /** Every topic with a legal Kafka name. */
  async list(): Promise<string[]> {
    return (await this.store.listTopics()).filter((t) => invalidTopicName(t) === undefined).sort();
  }

  /**
   * Creates a topic; throws TopicError with TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION,
   * INVALID_PARTITIONS or INVALID_CONFIG.
   */
  async create(name: string, partitions: number, configs: Partial<TopicConfig> = {}, validateOnly = false): Promise<KafkaTopic> {
    const bad = invalidTopicName(name);
    if (bad) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10000)
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be between 1 and 10000, got ${partitions}`);
    if (await this.get(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    const id = randomBytes(16);
    const config: Partial<TopicConfig> = {
      ...configs,
      partitions,
      extra: { ...(configs.extra ?? {}), [TOPIC_ID_KEY]: id.toString('hex') },
    };
    if (validateOnly) return { name, partitions, id, config: config as TopicConfig };
    const created = await this.store.createTopic(name, config);
    if (!created) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    this.cache.delete(name);
    return (await this.get(name))!;
  }

  /** Returns the topic, auto-creating it when allowed; undefined when unknown. */
  async getOrCreate(name: string, allowCreate: boolean): Promise<KafkaTopic | undefined> {
    const t = await this.get(name);
    if (t || !allowCreate || !this.defaults.autoCreate || invalidTopicName(name)) return t;
    try {
      return await this.create(name, this.defaults.partitions);
    } catch (err) {
      if (err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.get(name);
      throw err;
    }
  }

  async delete(name: string): Promise<boolean> {
    this.cache.delete(name);
    return this.store.deleteTopic(name);
  }

  async addPartitions(name: string, total: number): Promise<void> {
    await this.store.addPartitions(name, total);
    this.cache.delete(name);
  }

  async updateConfig(name: string, patch: Partial<Omit<TopicConfig, 'partitions'>>): Promise<void> {
    await this.store.updateTopicConfig(name, patch);
    this.cache.delete(name);
  }

  /** Forgets cached topics (another protocol may have changed the store). */
  invalidate(name?: string): void {
    if (name === undefined) this.cache.clear();
    else this.cache.delete(name);
  }
}
