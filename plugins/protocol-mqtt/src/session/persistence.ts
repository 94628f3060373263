import type { Logger, Message, MetaStore } from '@robustmq/sdk';
import { decodeMessage, encodeMessage, type StoredMessage } from './codec.js';
import { type Outbound, outbound, type SubRecord } from './outbound.js';

/** The session record kept under `mqtt/session/<clientId>`. */
export interface SessionRecord {
  clientId: string;
  expiryInterval: number;
  /** Epoch ms of the last disconnect; absent while connected. */
  disconnectedAt?: number;
  subscriptions: SubRecord[];
  /** Incoming QoS 2 packet ids awaiting PUBREL. */
  incomingQos2: number[];
  /** A Will waiting for its delay, published at `due` (epoch ms) unless the client returns. */
  will?: StoredWill;
}

/** A delayed Will as stored with its session. */
export interface StoredWill {
  m: StoredMessage;
  due: number;
  expiry?: number;
  principal?: string;
}

interface StoredOutbound {
  m: StoredMessage;
  q: 0 | 1 | 2;
  r: boolean;
  s?: number[];
  g?: string;
  id?: number;
  st?: 'publish' | 'pubrel';
  seq?: number;
}

/** A session read back from the MetaStore at start-up. */
export interface LoadedSession {
  record: SessionRecord;
  inflight: Outbound[];
  queue: Outbound[];
}

const SESSION = 'mqtt/session/';
const INFLIGHT = 'mqtt/inflight/';
const QUEUE = 'mqtt/queue/';

/**
 * Writes persistent-session state to the MetaStore. Writes for one client are chained so they land
 * in the order they were made; callers do not wait for them (the hot path stays synchronous).
 */
export class SessionPersistence {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly store: () => MetaStore,
    private readonly logger: Logger,
  ) {}

  saveSession(record: SessionRecord): void {
    this.enqueue(record.clientId, (s) => s.put(SESSION + enc(record.clientId), Buffer.from(JSON.stringify(record))));
  }

  putInflight(clientId: string, o: Outbound): void {
    const value = Buffer.from(JSON.stringify(toStored(o)));
    this.track(
      o.message,
      this.enqueue(clientId, (s) => s.put(`${INFLIGHT}${enc(clientId)}/${pad(o.packetId ?? 0, 5)}`, value)),
    );
  }

  deleteInflight(clientId: string, packetId: number): void {
    this.enqueue(clientId, (s) => s.delete(`${INFLIGHT}${enc(clientId)}/${pad(packetId, 5)}`).then(() => undefined));
  }

  putQueued(clientId: string, o: Outbound): void {
    const value = Buffer.from(JSON.stringify(toStored(o)));
    this.track(
      o.message,
      this.enqueue(clientId, (s) => s.put(`${QUEUE}${enc(clientId)}/${pad(o.seq ?? 0, 15)}`, value)),
    );
  }

  /**
   * The pending writes of the copies of `message` stored for sessions (undefined when none is
   * pending). For a publish whose routing finished later than the call (an async rule filter),
   * where {@link collect} cannot see the writes.
   */
  writesFor(message: Message): Promise<unknown> | undefined {
    const pending = this.byMessage.get(message);
    if (!pending) return undefined;
    this.byMessage.delete(message);
    return Promise.all(pending);
  }

  /** Pending copy writes by message (weak: a message nobody waits for does not stay). */
  private readonly byMessage = new WeakMap<Message, Promise<void>[]>();

  private track(message: Message, write: Promise<void>): void {
    const pending = this.byMessage.get(message);
    if (pending) pending.push(write);
    else this.byMessage.set(message, [write]);
    // Settled writes are not waited for again.
    void write.then(() => {
      const now = this.byMessage.get(message);
      if (!now) return;
      const i = now.indexOf(write);
      if (i >= 0) now.splice(i, 1);
      if (now.length === 0) this.byMessage.delete(message);
    });
  }

  deleteQueued(clientId: string, seq: number): void {
    this.enqueue(clientId, (s) => s.delete(`${QUEUE}${enc(clientId)}/${pad(seq, 15)}`).then(() => undefined));
  }

  /** Writes the whole state of a session that just became persistent. */
  saveAll(record: SessionRecord, inflight: Iterable<Outbound>, queue: Iterable<Outbound>): void {
    this.saveSession(record);
    for (const o of inflight) this.putInflight(record.clientId, o);
    for (const o of queue) this.putQueued(record.clientId, o);
  }

  /** Removes everything stored for a client. */
  deleteSession(clientId: string): void {
    this.enqueue(clientId, async (s) => {
      const ops: Array<{ key: string; value: Buffer | undefined }> = [{ key: SESSION + enc(clientId), value: undefined }];
      for (const prefix of [INFLIGHT, QUEUE]) {
        for (const e of await s.scan(`${prefix}${enc(clientId)}/`)) ops.push({ key: e.key, value: undefined });
      }
      await s.batch(ops);
    });
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** Reads every stored session. */
  async loadAll(): Promise<LoadedSession[]> {
    const s = this.store();
    const out: LoadedSession[] = [];
    for (const e of await s.scan(SESSION)) {
      try {
        const record = JSON.parse(e.value.toString('utf8')) as SessionRecord;
        const id = enc(record.clientId);
        const inflight = (await s.scan(`${INFLIGHT}${id}/`)).map((x) => fromStored(JSON.parse(x.value.toString('utf8'))));
        const queue = (await s.scan(`${QUEUE}${id}/`)).map((x) => fromStored(JSON.parse(x.value.toString('utf8'))));
        out.push({ record, inflight, queue });
      } catch (err) {
        this.logger.warn({ err, key: e.key }, 'mqtt: unreadable stored session skipped');
      }
    }
    return out;
  }

  /**
   * Runs `fn` and returns, next to its result, a promise of the writes it caused (undefined when it
   * caused none), so a QoS 1/2 PUBLISH can be acknowledged once the copies queued for persistent
   * sessions are stored.
   */
  collect<T>(fn: () => T): { result: T; written?: Promise<unknown> } {
    const outer = this.collected;
    const mine: Promise<void>[] = [];
    this.collected = mine;
    try {
      const result = fn();
      return mine.length > 0 ? { result, written: Promise.all(mine) } : { result };
    } finally {
      this.collected = outer;
      if (outer) outer.push(...mine);
    }
  }

  private collected?: Promise<void>[];

  private enqueue(clientId: string, op: (s: MetaStore) => Promise<void>): Promise<void> {
    const prev = this.chains.get(clientId) ?? Promise.resolve();
    const next = prev
      .then(() => op(this.store()))
      .catch((err) => this.logger.warn({ err, clientId }, 'mqtt: session persistence write failed'))
      .finally(() => {
        if (this.chains.get(clientId) === next) this.chains.delete(clientId);
      });
    this.chains.set(clientId, next);
    this.collected?.push(next);
    return next;
  }
}

/** Client ids may contain `/`; keep one key level per id. */
function enc(clientId: string): string {
  return encodeURIComponent(clientId);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function toStored(o: Outbound): StoredOutbound {
  const s: StoredOutbound = { m: encodeMessage(o.message), q: o.qos, r: o.retain };
  if (o.subIds?.length) s.s = o.subIds;
  if (o.shared) s.g = o.shared;
  if (o.packetId !== undefined) s.id = o.packetId;
  if (o.state) s.st = o.state;
  if (o.seq !== undefined) s.seq = o.seq;
  return s;
}

function fromStored(s: StoredOutbound): Outbound {
  const o = outbound(decodeMessage(s.m), s.q, s.r, s.s, s.g);
  if (s.id !== undefined) o.packetId = s.id;
  if (s.st) o.state = s.st;
  if (s.seq !== undefined) o.seq = s.seq;
  return o;
}
