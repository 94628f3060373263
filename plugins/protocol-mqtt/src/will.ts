import type { Clock, Message } from '@robustmq/sdk';

/** A Will Message waiting for its delay (§3.1.3.2) after an abnormal disconnect. */
export interface Will {
  message: Message;
  /** Will Delay Interval in seconds (5.0; 0 for older versions). */
  delay: number;
  /** Message Expiry Interval in seconds, counted from when the Will is published. */
  expiry?: number;
  principal?: string;
}

/**
 * Keeps delayed Wills by client id: published when the delay passes or the session ends, cancelled
 * when the client reconnects to the session first.
 */
export class WillScheduler {
  private readonly pending = new Map<string, { will: Will; timer: NodeJS.Timeout }>();

  constructor(
    private readonly clock: Clock,
    private readonly publish: (will: Will) => void,
  ) {}

  /** Publishes now (delay 0) or after the delay. */
  schedule(clientId: string, will: Will): void {
    this.cancel(clientId);
    if (will.delay <= 0) {
      this.publish(will);
      return;
    }
    const timer = this.clock.setTimeout(() => this.fire(clientId), Math.min(will.delay * 1000, 2 ** 31 - 1));
    timer.unref?.();
    this.pending.set(clientId, { will, timer });
  }

  /** The client came back: its Will is not sent. */
  cancel(clientId: string): void {
    const p = this.pending.get(clientId);
    if (!p) return;
    this.clock.clearTimeout(p.timer);
    this.pending.delete(clientId);
  }

  /** The session ended before the delay passed: send it now. */
  fire(clientId: string): void {
    const p = this.pending.get(clientId);
    if (!p) return;
    this.clock.clearTimeout(p.timer);
    this.pending.delete(clientId);
    this.publish(p.will);
  }

  /** Drops every pending Will timer (broker shutdown: delayed Wills of persistent sessions are stored with the session). */
  clear(): void {
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer);
    this.pending.clear();
  }
}
