/**
 * Direct reply-to (RabbitMQ's `amq.rabbitmq.reply-to`): an RPC client consumes (no-ack) from the
 * pseudo-queue and publishes requests with that `reply-to`; the broker rewrites it to a name that
 * identifies the client's channel, and replies published to the default exchange with that name
 * go straight to the channel, without a queue.
 */
import { randomBytes } from 'node:crypto';
import type { BasicProperties } from './codec/frames.js';

export const REPLY_TO = 'amq.rabbitmq.reply-to';
export const REPLY_TO_PREFIX = `${REPLY_TO}.`;

/** What a reply target must do with a reply. */
export interface ReplyTarget {
  deliverReply(routingKey: string, props: BasicProperties, body: Buffer): void;
}

/** Reply names → channels, for one broker. */
export class ReplyRegistry {
  private readonly targets = new Map<string, ReplyTarget>();

  /** Registers a channel's reply consumer; returns the reply-to name its requests carry. */
  add(target: ReplyTarget): string {
    const name = REPLY_TO_PREFIX + randomBytes(18).toString('base64url');
    this.targets.set(name, target);
    return name;
  }

  remove(name: string): void {
    this.targets.delete(name);
  }

  get(name: string): ReplyTarget | undefined {
    return this.targets.get(name);
  }
}
