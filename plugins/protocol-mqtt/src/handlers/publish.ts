import { isPromise, type MaybePromise, type Message, type PublishOutcome } from '@robustmq/sdk';
import type { IPublishPacket } from 'mqtt-packet';
import { type Connection, protocolError, userPropertyPairs } from '../connection.js';
import { RC } from '../errors.js';
import { isUtf8, propsToHeaders, repeatedProperty } from '../properties.js';
import type { Session } from '../session/session.js';
import { topicNameProblem } from '../topic.js';

/** Incoming PUBLISH (§3.3): alias, validation, flow control, authorization, route, acknowledge. */
export function handlePublish(conn: Connection, p: IPublishPacket): MaybePromise<void> {
  const server = conn.server;
  const opts = server.options;
  const v5 = conn.version === 5;
  const props = p.properties;
  server.countIn();
  // [MQTT-3.3.1-2] no DUP on QoS 0; [MQTT-2.2.1-3] QoS > 0 needs a non-zero packet id.
  if (p.qos === 0 && p.dup) return protocolError(RC.malformedPacket, 'DUP set on a QoS 0 PUBLISH');
  if (p.qos > 0 && !p.messageId) return protocolError(RC.malformedPacket, 'packet identifier 0');
  let topic = p.topic;
  if (v5 && props) {
    const repeated = repeatedProperty(props);
    if (repeated) return protocolError(RC.protocolError, `${repeated} repeated`);
    // [MQTT-3.3.4-6] a client never sends a Subscription Identifier; [MQTT-3.3.2-14] no wildcards in a Response Topic.
    if (props.subscriptionIdentifier !== undefined)
      return protocolError(RC.protocolError, 'subscription identifier from a client');
    if (props.responseTopic !== undefined && /[+#]/.test(props.responseTopic))
      return protocolError(RC.protocolError, 'wildcard in response topic');
  }
  if (v5 && props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    // [MQTT-3.3.2-9/10] 0 and values above our Topic Alias Maximum are errors.
    if (alias === 0 || alias > opts.topicAliasMaximum) return protocolError(RC.topicAliasInvalid, 'topic alias out of range');
    if (topic.length > 0) conn.aliasesIn.set(alias, topic);
    else {
      const known = conn.aliasesIn.get(alias);
      if (known === undefined) return protocolError(RC.protocolError, 'unknown topic alias');
      topic = known;
    }
  }
  const problem = topicNameProblem(topic, opts);
  if (problem) {
    return protocolError(
      problem === 'invalid UTF-8' || problem === 'contains U+0000' ? RC.malformedPacket : RC.topicNameInvalid,
      problem,
    );
  }
  if (p.qos > opts.maximumQoS) return protocolError(RC.qosNotSupported, 'QoS not supported');
  if (p.retain && !opts.retainAvailable) return protocolError(RC.retainNotSupported, 'retain not supported');
  const s = conn.session as Session;
  const id = p.messageId as number;
  if (p.qos === 2 && s.incomingQos2.has(id)) {
    // A resent QoS 2 PUBLISH we already took: acknowledge again, do not route twice (§4.3.3).
    conn.sendAck('pubrec', id);
    return;
  }
  if (v5 && p.qos > 0 && s.incomingQos2.size + conn.incomingQos1 >= opts.receiveMaximum) {
    return protocolError(RC.receiveMaximumExceeded, 'receive maximum exceeded');
  }
  conn.throttle();
  const payload = p.payload as Buffer;
  if (v5 && props?.payloadFormatIndicator && !isUtf8(payload)) {
    acknowledge(conn, p, RC.payloadFormatInvalid);
    return;
  }
  const message = toMessage(conn, p, topic, payload);
  const allowed = server.authorize(conn, 'publish', topic);
  if (isPromise(allowed)) {
    if (p.qos === 1) conn.incomingQos1++;
    return allowed.then((ok) => {
      if (p.qos === 1) conn.incomingQos1--;
      return route(conn, p, message, ok);
    });
  }
  return route(conn, p, message, allowed);
}

function route(conn: Connection, p: IPublishPacket, message: Message, allowed: boolean): MaybePromise<void> {
  if (conn.state !== 'open') return;
  if (!allowed) {
    conn.server.logger.debug({ clientId: conn.clientId, topic: message.topic }, 'mqtt: publish not authorized, dropped');
    // 5.0 answers 0x87; 3.1.1 has no way to say no, so the publish is acknowledged and dropped.
    acknowledge(conn, p, conn.version === 5 ? RC.notAuthorized : RC.success);
    return;
  }
  const server = conn.server;
  if (p.qos === 0) {
    const outcome = server.publish(message);
    if (isPromise(outcome)) return outcome.then(() => undefined);
    return;
  }
  if (p.qos === 2) {
    // Recorded before routing, so a resent copy is recognised even before PUBREC goes out.
    const s = conn.session as Session;
    s.incomingQos2.add(p.messageId as number);
    s.save();
  }
  // QoS 1/2: acknowledge once the copies for persistent sessions (and a retained copy) are stored,
  // without holding up the packets that follow (acks still leave in order).
  const { result: outcome, written } = server.persistence.collect(() => server.publish(message));
  if (isPromise(outcome)) {
    // Routed after an async rule filter: the copies were written outside `collect`, so they are
    // found by the (possibly transformed) message the router delivered.
    return outcome.then((o) => {
      const copies = o.verdict === 'routed' ? server.persistence.writesFor(o.message) : undefined;
      const retained = o.verdict === 'routed' && o.message.retain && server.options.retainAvailable;
      const durable = retained ? Promise.all([copies, server.retained.flush()]) : copies;
      conn.acknowledgeAfter(durable, p.qos === 1, () => acknowledge(conn, p, reasonFor(conn, o)));
    });
  }
  const durable = message.retain && server.options.retainAvailable ? Promise.all([written, server.retained.flush()]) : written;
  conn.acknowledgeAfter(durable, p.qos === 1, () => acknowledge(conn, p, reasonFor(conn, outcome)));
}

function reasonFor(conn: Connection, o: PublishOutcome): number {
  return conn.version === 5 && o.verdict === 'routed' && o.matched === 0 ? RC.noMatchingSubscribers : RC.success;
}

/** PUBACK (QoS 1) or PUBREC (QoS 2) with a reason code; QoS 0 has no answer. */
function acknowledge(conn: Connection, p: IPublishPacket, code: number): void {
  if (p.qos === 0 || conn.state !== 'open') return;
  const id = p.messageId as number;
  if (p.qos === 1) {
    conn.sendAck('puback', id, code);
    return;
  }
  if (code < 0x80) {
    const s = conn.session as Session;
    if (!s.incomingQos2.has(id)) {
      s.incomingQos2.add(id);
      s.save();
    }
  }
  conn.sendAck('pubrec', id, code);
}

function toMessage(conn: Connection, p: IPublishPacket, topic: string, payload: Buffer): Message {
  const now = conn.server.clock.now();
  const m: Message = {
    topic,
    payload,
    headers: conn.version === 5 ? propsToHeaders(p.properties, userPropertyPairs(p)) : {},
    timestamp: now,
    durability: p.qos > 0 ? 'durable' : 'transient',
    origin: { protocol: 'mqtt', clientId: conn.clientId, principal: conn.principal },
    retain: p.retain,
    qos: p.qos,
  };
  const expiry = p.properties?.messageExpiryInterval;
  if (expiry !== undefined) m.expiresAt = now + expiry * 1000;
  return m;
}
