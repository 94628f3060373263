import type { Message } from '@robustmq/sdk';
import type { MqttServer } from './server.js';

/**
 * Publishes broker statistics as retained messages under `$SYS/broker/` every `interval` seconds.
 * `$SYS/...` topics are not matched by filters starting with a wildcard (§4.7.2).
 */
export class SysTopics {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly server: MqttServer,
    private readonly intervalSeconds: number,
  ) {}

  start(): void {
    if (this.intervalSeconds <= 0) return;
    this.publishAll();
    this.timer = setInterval(() => this.publishAll(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Current values by topic. */
  values(): Record<string, string> {
    const s = this.server;
    const st = s.stats;
    return {
      '$SYS/broker/version': `RobustMQ ${s.version}`,
      '$SYS/broker/uptime': `${Math.floor((s.clock.now() - st.startedAt) / 1000)} seconds`,
      '$SYS/broker/clients/connected': String(st.connected),
      '$SYS/broker/clients/total': String(s.sessions.size),
      '$SYS/broker/clients/disconnected': String(Math.max(0, s.sessions.size - st.connected)),
      '$SYS/broker/messages/received': String(st.received),
      '$SYS/broker/messages/sent': String(st.sent),
      '$SYS/broker/messages/dropped': String(st.dropped),
      '$SYS/broker/bytes/received': String(st.bytesIn),
      '$SYS/broker/bytes/sent': String(st.bytesOut),
      '$SYS/broker/subscriptions/count': String(s.router.size),
      '$SYS/broker/retained messages/count': String(s.retained.size),
    };
  }

  private publishAll(): void {
    const now = this.server.clock.now();
    for (const [topic, value] of Object.entries(this.values())) {
      const message: Message = {
        topic,
        payload: Buffer.from(value),
        headers: {},
        timestamp: now,
        durability: 'transient',
        origin: { protocol: 'internal', clientId: '$SYS' },
        retain: true,
        qos: 0,
      };
      try {
        const r = this.server.publish(message);
        if (r instanceof Promise) r.catch((err) => this.server.logger.debug({ err }, 'mqtt: $SYS publish failed'));
      } catch (err) {
        this.server.logger.debug({ err }, 'mqtt: $SYS publish failed');
      }
    }
  }
}
