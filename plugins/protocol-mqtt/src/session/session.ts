import type { Clock, Delivery, Message, Subscriber, SubscriberHandle } from '@robustmq/sdk';
import type { MqttOptions } from '../options.js';
import { type Outbound, outbound, type SubRecord } from './outbound.js';
import type { SessionPersistence, SessionRecord, StoredWill } from './persistence.js';

/** What a session needs from the broker around it. */
export interface SessionEnv {
  readonly options: MqttOptions;
  readonly persistence: SessionPersistence;
  readonly clock: Clock;
  /** Counts and reports a message the session had to drop. */
  dropped(session: Session, o: Outbound, reason: string): void;
  /** An online session queued `message` past its high watermark (its publisher should stop reading). */
  congested(session: Session, message: Message): void;
  /** An online session sent queued messages (it is slow, not stuck). */
  progressed(session: Session): void;
  /** An online session drained to its low watermark or went away (publishers held for it go on). */
  relieved(session: Session): void;
}

/** The live connection currently bound to a session. */
export interface SessionLink {
  /** False while the socket is congested: deliveries wait in the queue. */
  readonly writable: boolean;
  /** QoS 1/2 messages allowed in flight (client Receive Maximum capped by maxInflight). */
  readonly window: number;
  /** Writes a PUBLISH; false when it could not be sent (larger than the client's maximum). */
  sendPublish(o: Outbound, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
}

/** Client id → router subscriber id. */
export function subscriberId(clientId: string): string {
  return `mqtt:${clientId}`;
}

/**
 * The server side of one MQTT session (§4.1): subscriptions, the outgoing in-flight window with
 * packet identifiers, incoming QoS 2 ids and the bounded queue of messages waiting for the client.
 * It is the router Subscriber for the client, attached while the session exists (also offline).
 */
export class Session implements Subscriber {
  readonly id: string;
  readonly subscriptions = new Map<string, SubRecord>();
  /** Outgoing QoS 1/2 messages by packet id, in send order. */
  readonly inflight = new Map<number, Outbound>();
  /** Incoming QoS 2 packet ids: PUBREC sent, PUBREL not yet received. */
  readonly incomingQos2 = new Set<number>();
  queue: Outbound[] = [];
  link?: SessionLink;
  /** Seconds the session outlives its connection (0 = ends with it). */
  expiryInterval = 0;
  disconnectedAt?: number;
  handle?: SubscriberHandle;
  /** Set once the session ended (expired, clean start, takeover with clean start). */
  ended = false;
  /** Something was written to the MetaStore for this session (it must be deleted when it ends). */
  stored = false;
  /** A Will waiting for its delay, kept in the record so a restart still sends it. */
  pendingWill?: StoredWill;
  private nextPacketId = 1;
  private nextSeq = 1;

  constructor(
    readonly clientId: string,
    private readonly env: SessionEnv,
  ) {
    this.id = subscriberId(clientId);
  }

  /** Persistent sessions write their state to the MetaStore. */
  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  /** Router callback: turns a match into an outbound message. Always accepts (the session queues). */
  deliver(d: Delivery): boolean {
    const m = d.message;
    const published = m.qos ?? (m.durability === 'durable' ? 1 : 0);
    let granted = (d.options.qos ?? 0) as 0 | 1 | 2;
    let rap = d.options.rap === true;
    const subIds: number[] = [];
    if (typeof d.options.subId === 'number') subIds.push(d.options.subId);
    if (d.overlapping) {
      for (const o of d.overlapping) {
        if (typeof o.options.subId === 'number' && !subIds.includes(o.options.subId)) subIds.push(o.options.subId);
        if ((o.options.qos ?? 0) > granted) granted = o.options.qos as 0 | 1 | 2;
        if (o.options.rap === true) rap = true;
      }
    }
    const qos = Math.min(published, granted) as 0 | 1 | 2;
    this.offer(
      outbound(
        m,
        qos,
        rap && m.retain === true,
        subIds.length ? subIds : undefined,
        d.group ? `$share/${d.group}/${d.filter}` : undefined,
      ),
    );
    return true;
  }

  /** Sends now when the window allows, else queues (bounded). */
  offer(o: Outbound): void {
    if (this.ended) return;
    if (!this.link) {
      if (o.qos === 0 && !this.env.options.queueQos0) return;
      this.enqueue(o);
      return;
    }
    // A queue left behind while the link became writable again moves first (order is kept).
    if (this.queue.length > 0 && this.link.writable) this.pump();
    if (this.queue.length === 0 && this.link.writable && (o.qos === 0 || this.inflight.size < this.link.window)) {
      this.send(o);
      return;
    }
    // Behind (socket congested or in-flight window full): queue, and past the high watermark ask
    // the publisher to stop reading, so the bounded queue is a safety net, not the normal path.
    this.enqueue(o);
    if (this.queue.length >= highWater(this.env.options.maxQueuedMessages)) this.env.congested(this, o.message);
  }

  /** Moves queued messages into the window while the connection takes them. */
  pump(): void {
    const link = this.link;
    const had = this.queue.length;
    while (link && this.link === link && link.writable && this.queue.length > 0) {
      const o = this.queue[0];
      if (o.qos > 0 && this.inflight.size >= link.window) break;
      this.queue.shift();
      if (o.seq !== undefined && this.persistent) this.env.persistence.deleteQueued(this.clientId, o.seq);
      o.seq = undefined;
      this.send(o);
    }
    if (had === 0 || !link) return;
    if (this.queue.length < had) this.env.progressed(this);
    if (this.queue.length <= lowWater(this.env.options.maxQueuedMessages)) this.env.relieved(this);
  }

  /** On reconnect: resend unacknowledged PUBLISH with DUP and PUBREL (§4.4), then the queue. */
  resend(): void {
    const link = this.link;
    if (!link) return;
    for (const o of [...this.inflight.values()]) {
      if (o.state === 'pubrel') link.sendPubrel(o.packetId as number);
      else if (!link.sendPublish(o, true)) this.complete(o.packetId as number);
    }
    this.pump();
  }

  /** PUBACK / PUBCOMP: the message is done. Returns false for an unknown id. */
  complete(packetId: number): boolean {
    const o = this.inflight.get(packetId);
    if (!o) return false;
    this.inflight.delete(packetId);
    if (this.persistent) this.env.persistence.deleteInflight(this.clientId, packetId);
    return true;
  }

  /** PUBREC: the QoS 2 message moves to PUBREL state. Returns false for an unknown id. */
  received(packetId: number): boolean {
    const o = this.inflight.get(packetId);
    if (o?.qos !== 2) return false;
    o.state = 'pubrel';
    if (this.persistent) this.env.persistence.putInflight(this.clientId, o);
    return true;
  }

  /** Current persistent record. */
  record(): SessionRecord {
    const r: SessionRecord = {
      clientId: this.clientId,
      expiryInterval: this.expiryInterval,
      subscriptions: [...this.subscriptions.values()],
      incomingQos2: [...this.incomingQos2],
    };
    if (this.disconnectedAt !== undefined) r.disconnectedAt = this.disconnectedAt;
    if (this.pendingWill) r.will = this.pendingWill;
    return r;
  }

  /** Writes the session record when persistent. */
  save(): void {
    if (!this.persistent || this.ended) return;
    if (!this.stored) {
      // First write of a session that just became persistent: everything it holds.
      this.stored = true;
      this.env.persistence.saveAll(this.record(), this.inflight.values(), this.queue);
    } else this.env.persistence.saveSession(this.record());
  }

  /** Restores in-flight and queued entries read from the MetaStore. */
  restore(inflight: Outbound[], queue: Outbound[]): void {
    for (const o of inflight) {
      if (o.packetId === undefined) continue;
      this.inflight.set(o.packetId, o);
      this.nextPacketId = (o.packetId % 65535) + 1;
    }
    this.queue = queue;
    for (const o of queue) if (o.seq !== undefined && o.seq >= this.nextSeq) this.nextSeq = o.seq + 1;
  }

  /** Removes and returns what was waiting for a shared-subscription member that left. */
  takeShared(): Outbound[] {
    const out: Outbound[] = [];
    for (const [id, o] of this.inflight) {
      if (o.shared && o.state !== 'pubrel') {
        out.push(o);
        this.complete(id);
      }
    }
    const keep: Outbound[] = [];
    for (const o of this.queue) {
      if (o.shared) {
        out.push(o);
        if (o.seq !== undefined && this.persistent) this.env.persistence.deleteQueued(this.clientId, o.seq);
      } else keep.push(o);
    }
    this.queue = keep;
    return out;
  }

  private send(o: Outbound): void {
    const link = this.link as SessionLink;
    const now = this.env.clock.now();
    if (o.message.expiresAt !== undefined && o.message.expiresAt <= now) {
      this.env.dropped(this, o, 'expired');
      return;
    }
    if (o.qos === 0) {
      if (!link.sendPublish(o, false)) this.env.dropped(this, o, 'too-large');
      return;
    }
    const packetId = this.allocatePacketId();
    // The Outbound belongs to this session alone: it becomes the in-flight entry.
    o.packetId = packetId;
    o.state = 'publish';
    o.seq = undefined;
    this.inflight.set(packetId, o);
    if (this.persistent) this.env.persistence.putInflight(this.clientId, o);
    if (!link.sendPublish(o, false)) {
      // Too large for the client: discard as if delivered (§3.1.2.11.4 / MQTT-3.1.2-25).
      this.complete(packetId);
      this.env.dropped(this, o, 'too-large');
    }
  }

  private enqueue(o: Outbound): void {
    const limit = this.env.options.maxQueuedMessages;
    if (this.queue.length >= limit) {
      if (this.env.options.queueDropPolicy === 'drop-newest') {
        this.env.dropped(this, o, 'queue-full');
        return;
      }
      const old = this.queue.shift() as Outbound;
      if (old.seq !== undefined && this.persistent) this.env.persistence.deleteQueued(this.clientId, old.seq);
      this.env.dropped(this, old, 'queue-full');
    }
    o.seq = this.nextSeq++;
    this.queue.push(o);
    if (this.persistent) this.env.persistence.putQueued(this.clientId, o);
  }

  private allocatePacketId(): number {
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = (id % 65535) + 1;
      if (!this.inflight.has(id)) return id;
    }
    throw new Error('no free packet identifier');
  }
}

/** Queue length at which an online session holds the publishers sending to it. */
export function highWater(maxQueued: number): number {
  return Math.max(1, Math.floor(maxQueued / 4));
}

/** Queue length at which the publishers it holds read again. */
export function lowWater(maxQueued: number): number {
  return Math.floor(highWater(maxQueued) / 2);
}
