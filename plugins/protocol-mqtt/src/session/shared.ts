import type { Router } from '@robustmq/sdk';
import { type Outbound, outbound } from './outbound.js';
import type { Session } from './session.js';

/** What redelivery needs from the server. */
export interface SharedHost {
  readonly router: Router;
  readonly sessions: Map<string, Session>;
}

/**
 * Shared subscriptions when a member leaves (§4.8.2): its `$share` subscriptions leave the router
 * (so the group's load goes to the others while it is away) and the QoS 1/2 messages it had not
 * acknowledged, or had queued, go to another member of the same group. With no other member they
 * stay with the session for its return.
 */
export class SharedRedelivery {
  constructor(private readonly host: SharedHost) {}

  memberLeft(s: Session): void {
    let hasShared = false;
    for (const sub of s.subscriptions.values()) {
      if (sub.filter.startsWith('$share/')) {
        hasShared = true;
        this.host.router.unsubscribe(s.id, sub.filter);
      }
    }
    if (!hasShared) return;
    for (const o of s.takeShared()) {
      const target = this.pick(s, o);
      if (target) {
        target.session.offer(outbound(o.message, Math.min(o.qos, target.qos) as 0 | 1 | 2, o.retain, undefined, o.shared));
      } else if (!s.ended) {
        s.offer(outbound(o.message, o.qos, o.retain, undefined, o.shared));
      }
    }
  }

  private pick(leaving: Session, o: Outbound): { session: Session; qos: number } | undefined {
    for (const d of this.host.router.match(o.message.topic)) {
      if (!d.group || `$share/${d.group}/${d.filter}` !== o.shared) continue;
      const cid = d.options.cid;
      if (typeof cid !== 'string' || cid === leaving.clientId) continue;
      const session = this.host.sessions.get(cid);
      if (session && !session.ended) return { session, qos: d.options.qos ?? 0 };
    }
    return undefined;
  }
}
