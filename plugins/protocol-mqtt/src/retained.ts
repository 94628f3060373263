import type { Clock, Logger, Message, MetaStore } from '@robustmq/sdk';
import { decodeMessage, encodeMessage, type StoredMessage } from './session/codec.js';
import { topicMatches } from './topic.js';

const PREFIX = 'mqtt/retained/';

/**
 * Retained messages (§3.3.1.3): one per topic, kept in memory for matching and written to the
 * MetaStore under `mqtt/retained/<topic>` so they survive a restart.
 */
export class RetainedStore {
  private readonly messages = new Map<string, Message>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: () => MetaStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.messages.size;
  }

  /** Loads stored retained messages, dropping expired ones. */
  async load(): Promise<void> {
    const now = this.clock.now();
    for (const e of await this.store().scan(PREFIX)) {
      try {
        const m = decodeMessage(JSON.parse(e.value.toString('utf8')) as StoredMessage);
        if (m.expiresAt !== undefined && m.expiresAt <= now) this.write(m.topic, undefined);
        else this.messages.set(m.topic, m);
      } catch (err) {
        this.logger.warn({ err, key: e.key }, 'mqtt: unreadable retained message skipped');
      }
    }
  }

  /** Sets, replaces or (empty payload) clears the retained message of a topic. */
  set(message: Message): void {
    if (message.payload.length === 0) {
      if (this.messages.delete(message.topic)) this.write(message.topic, undefined);
      return;
    }
    // Copy the payload: the parser's buffer may be a slice of a large socket chunk.
    const kept = { ...message, payload: Buffer.from(message.payload) };
    this.messages.set(message.topic, kept);
    this.write(message.topic, kept);
  }

  /** Retained messages matching a filter, skipping (and removing) expired ones. */
  match(filter: string): Message[] {
    const now = this.clock.now();
    const out: Message[] = [];
    const exact = !filter.includes('+') && !filter.includes('#');
    if (exact) {
      const m = this.messages.get(filter);
      if (m) this.keepIfLive(m, now, out);
      return out;
    }
    for (const m of this.messages.values()) if (topicMatches(filter, m.topic)) this.keepIfLive(m, now, out);
    return out;
  }

  /** Waits for pending writes. */
  flush(): Promise<void> {
    return this.chain;
  }

  private keepIfLive(m: Message, now: number, out: Message[]): void {
    if (m.expiresAt !== undefined && m.expiresAt <= now) {
      this.messages.delete(m.topic);
      this.write(m.topic, undefined);
    } else out.push(m);
  }

  private write(topic: string, m: Message | undefined): void {
    // $SYS values are regenerated every interval: not worth a disk write each time.
    if (topic.startsWith('$SYS/')) return;
    const key = PREFIX + topic;
    const value = m ? Buffer.from(JSON.stringify(encodeMessage({ ...m, retain: true }))) : undefined;
    this.chain = this.chain
      .then(async () => {
        if (value) await this.store().put(key, value);
        else await this.store().delete(key);
      })
      .catch((err) => this.logger.warn({ err, topic }, 'mqtt: retained message write failed'));
  }
}
