import type { Clock } from '@robustmq/sdk';

/**
 * A subscriber that sends nothing for this long while it holds publishers is stuck rather than
 * slow: it stops holding them (its bounded queue then drops) until it makes progress again.
 */
export const STALL_MS = 1000;

/** A publishing connection whose socket reads can be held. */
export interface HoldablePublisher {
  /** Stops reading (counted: one call per hold). */
  holdReading(): void;
  /** Ends one hold; reads resume when none is left. */
  releaseReading(): void;
}

interface Hold<P> {
  readonly publishers: Set<P>;
  progressAt: number;
  stalled: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Publisher backpressure: when a delivery finds an online subscriber queued past its high
 * watermark, the publisher the message came from stops reading its socket, so TCP pushes back on
 * it instead of the broker reading messages only to drop them. The subscriber releases every
 * publisher it holds once its queue drains to the low watermark (or it goes away, or it stalls).
 *
 * @typeParam S the subscriber (session) type; @typeParam P the publisher (connection) type.
 */
export class PublisherFlow<S, P extends HoldablePublisher> {
  private readonly holds = new Map<S, Hold<P>>();

  constructor(private readonly clock: Clock) {}

  /** Subscribers currently holding at least one publisher. */
  get holding(): number {
    let n = 0;
    for (const h of this.holds.values()) if (h.publishers.size > 0) n++;
    return n;
  }

  /** `publisher`'s message was queued by `subscriber` past its high watermark. True when this started a hold. */
  hold(publisher: P, subscriber: S): boolean {
    let h = this.holds.get(subscriber);
    if (!h) {
      h = { publishers: new Set(), progressAt: this.clock.now(), stalled: false };
      this.holds.set(subscriber, h);
    }
    if (h.stalled || h.publishers.has(publisher)) return false;
    h.publishers.add(publisher);
    publisher.holdReading();
    if (!h.timer) this.armStallCheck(subscriber, h, STALL_MS);
    return true;
  }

  /** The subscriber sent something: it is slow, not stuck. */
  progress(subscriber: S): void {
    const h = this.holds.get(subscriber);
    if (!h) return;
    h.progressAt = this.clock.now();
    h.stalled = false;
  }

  /** The subscriber drained to its low watermark, went offline or ended: its publishers go on. */
  release(subscriber: S): void {
    const h = this.holds.get(subscriber);
    if (!h) return;
    this.holds.delete(subscriber);
    if (h.timer) this.clock.clearTimeout(h.timer);
    for (const p of h.publishers) p.releaseReading();
  }

  /** A publisher closed: no subscriber holds it any more (its reads are over anyway). */
  forgetPublisher(publisher: P): void {
    for (const h of this.holds.values()) h.publishers.delete(publisher);
  }

  /** Releases everything (shutdown). */
  releaseAll(): void {
    for (const s of [...this.holds.keys()]) this.release(s);
  }

  private armStallCheck(subscriber: S, h: Hold<P>, ms: number): void {
    h.timer = this.clock.setTimeout(() => {
      h.timer = undefined;
      if (this.holds.get(subscriber) !== h || h.publishers.size === 0) return;
      const idle = this.clock.now() - h.progressAt;
      if (idle < STALL_MS) {
        this.armStallCheck(subscriber, h, STALL_MS - idle);
        return;
      }
      h.stalled = true;
      const held = [...h.publishers];
      h.publishers.clear();
      for (const p of held) p.releaseReading();
    }, ms);
    h.timer.unref?.();
  }
}
