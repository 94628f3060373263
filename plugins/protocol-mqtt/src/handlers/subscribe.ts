import { isPromise, type MaybePromise, parseSharedFilter } from '@robustmq/sdk';
import type { ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import { type Connection, protocolError } from '../connection.js';
import { repeatedProperty } from '../properties.js';
import { RC } from '../errors.js';
import { outbound, type SubRecord } from '../session/outbound.js';
import type { Session } from '../session/session.js';
import { hasWildcard, topicFilterProblem, utf8Problem } from '../topic.js';

/** SUBSCRIBE (§3.8): per-filter checks and authorization, SUBACK, then retained messages. */
export function handleSubscribe(conn: Connection, p: ISubscribePacket): MaybePromise<void> {
  const opts = conn.server.options;
  const v5 = conn.version === 5;
  if (!p.messageId) return protocolError(RC.malformedPacket, 'packet identifier 0');
  if (v5 && repeatedProperty(p.properties)) return protocolError(RC.protocolError, 'property repeated');
  const subId = p.properties?.subscriptionIdentifier;
  if (v5 && subId !== undefined) {
    if (subId === 0) return protocolError(RC.protocolError, 'subscription identifier 0');
    if (!opts.subscriptionIdentifiersAvailable)
      return protocolError(RC.subscriptionIdentifiersNotSupported, 'subscription identifiers not supported');
  }
  if (p.subscriptions.length === 0) return protocolError(RC.protocolError, 'SUBSCRIBE without filters');
  // Each entry is a reason code, or a pending SubRecord awaiting authorization.
  const checks: Array<number | { sub: SubRecord; allowed: MaybePromise<boolean> }> = [];
  let async = false;
  for (const s of p.subscriptions) {
    if (utf8Problem(s.topic)) return protocolError(RC.malformedPacket, 'topic filter is not valid UTF-8');
    const shared = s.topic.startsWith('$share/') ? parseSharedFilter(s.topic) : undefined;
    const filter = shared ? shared.filter : s.topic;
    if ((s.topic.startsWith('$share/') && !shared) || topicFilterProblem(filter, opts) || (shared && /[+#]/.test(shared.group))) {
      checks.push(RC.topicFilterInvalid);
      continue;
    }
    if (shared && s.nl) return protocolError(RC.protocolError, 'No Local on a shared subscription');
    if (shared && !opts.sharedSubscriptionAvailable) {
      checks.push(RC.sharedSubscriptionsNotSupported);
      continue;
    }
    if (!opts.wildcardSubscriptionAvailable && hasWildcard(filter)) {
      checks.push(RC.wildcardSubscriptionsNotSupported);
      continue;
    }
    const sub: SubRecord = {
      filter: s.topic,
      qos: Math.min(s.qos, opts.maximumQoS) as 0 | 1 | 2,
      nl: v5 && s.nl === true,
      rap: v5 ? s.rap === true : false,
      rh: (v5 ? (s.rh ?? 0) : 0) as 0 | 1 | 2,
    };
    if (v5 && subId !== undefined) sub.subId = subId;
    const allowed = conn.server.authorize(conn, 'subscribe', s.topic);
    if (isPromise(allowed)) async = true;
    checks.push({ sub, allowed });
  }
  if (!async)
    return complete(
      conn,
      p,
      checks.map((c) => (typeof c === 'number' ? c : { sub: c.sub, ok: c.allowed as boolean })),
    );
  return Promise.all(checks.map(async (c) => (typeof c === 'number' ? c : { sub: c.sub, ok: await c.allowed }))).then((r) =>
    complete(conn, p, r),
  );
}

function complete(conn: Connection, p: ISubscribePacket, results: Array<number | { sub: SubRecord; ok: boolean }>): void {
  if (conn.state !== 'open') return;
  const server = conn.server;
  const s = conn.session as Session;
  const v5 = conn.version === 5;
  const granted: number[] = [];
  const added: Array<{ sub: SubRecord; existed: boolean }> = [];
  for (const r of results) {
    if (typeof r === 'number') {
      granted.push(v5 ? r : 0x80);
      continue;
    }
    if (!r.ok) {
      granted.push(v5 ? RC.notAuthorized : 0x80);
      continue;
    }
    const existed = s.subscriptions.has(r.sub.filter);
    s.subscriptions.set(r.sub.filter, r.sub);
    server.routerSubscribe(s, r.sub);
    granted.push(r.sub.qos);
    added.push({ sub: r.sub, existed });
  }
  s.save();
  conn.write({ cmd: 'suback', messageId: p.messageId as number, granted });
  for (const { sub, existed } of added) sendRetained(conn, s, sub, existed);
}

/** Retained messages for a new subscription, per Retain Handling (§3.3.1.3); none for shared ones. */
function sendRetained(conn: Connection, s: Session, sub: SubRecord, existed: boolean): void {
  const server = conn.server;
  if (!server.options.retainAvailable || sub.filter.startsWith('$share/')) return;
  if (sub.rh === 2 || (sub.rh === 1 && existed)) return;
  for (const m of server.retained.match(sub.filter)) {
    const published = m.qos ?? 0;
    s.offer(outbound(m, Math.min(published, sub.qos) as 0 | 1 | 2, true, sub.subId ? [sub.subId] : undefined));
  }
}

/** UNSUBSCRIBE (§3.10): removes filters, UNSUBACK with a code per filter (5.0). */
export function handleUnsubscribe(conn: Connection, p: IUnsubscribePacket): void {
  const s = conn.session as Session;
  const codes: number[] = [];
  if (!p.messageId) {
    protocolError(RC.malformedPacket, 'packet identifier 0');
    return;
  }
  if (p.unsubscriptions.length === 0) {
    protocolError(RC.protocolError, 'UNSUBSCRIBE without filters');
    return;
  }
  for (const filter of p.unsubscriptions) {
    if (utf8Problem(filter)) {
      protocolError(RC.malformedPacket, 'topic filter is not valid UTF-8');
      return;
    }
    const had = s.subscriptions.delete(filter);
    if (had) conn.server.router.unsubscribe(s.id, filter);
    codes.push(had ? RC.success : RC.noSubscriptionExisted);
  }
  s.save();
  if (conn.version === 5) conn.write({ cmd: 'unsuback', messageId: p.messageId as number, granted: codes });
  else conn.write({ cmd: 'unsuback', messageId: p.messageId as number, granted: [] });
}
