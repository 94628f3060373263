import type { Message } from '@robustmq/sdk';

/** A message on its way to one client: queued, or in flight with a packet identifier. */
export interface Outbound {
  message: Message;
  /** QoS it is delivered with (min of published and granted). */
  qos: 0 | 1 | 2;
  /** Retain flag on the outgoing PUBLISH. */
  retain: boolean;
  /** Subscription identifiers of the matching subscriptions (5.0). */
  subIds?: number[];
  /** Full `$share/group/filter` when it came through a shared subscription (for redelivery). */
  shared?: string;
  /** Assigned once in flight. */
  packetId?: number;
  /** QoS 2 progress: PUBLISH sent, or PUBREC received and PUBREL sent. */
  state?: 'publish' | 'pubrel';
  /** Persistence key of a queued entry. */
  seq?: number;
}

/** Creates an Outbound with every field present, so all of them share one object shape. */
export function outbound(message: Message, qos: 0 | 1 | 2, retain: boolean, subIds?: number[], shared?: string): Outbound {
  return { message, qos, retain, subIds, shared, packetId: undefined, state: undefined, seq: undefined };
}

/** One subscription held by a session. */
export interface SubRecord {
  /** As the client sent it, including any `$share/group/` prefix. */
  filter: string;
  qos: 0 | 1 | 2;
  nl: boolean;
  rap: boolean;
  rh: 0 | 1 | 2;
  subId?: number;
}
