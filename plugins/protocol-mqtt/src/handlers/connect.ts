import { randomUUID } from 'node:crypto';
import { type AuthenticateRequest, type AuthenticateResult, isPromise, type MaybePromise, type Message } from '@robustmq/sdk';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { type Connection, protocolError, userPropertyPairs } from '../connection.js';
import { connackCodeV3, RC } from '../errors.js';
import { propsToHeaders, repeatedProperty } from '../properties.js';
import { NEVER_EXPIRES } from '../server.js';
import { topicNameProblem, utf8Problem } from '../topic.js';

/** The CONNECT being authenticated, kept until CONNACK. */
const pending = new WeakMap<Connection, { packet: IConnectPacket; assignedId?: string }>();

/** CONNECT (§3.1): validates, authenticates (possibly over several AUTH steps), then CONNACK. */
export function handleConnect(conn: Connection, p: IConnectPacket): MaybePromise<void> {
  const opts = conn.server.options;
  conn.version = (p.protocolVersion ?? 4) as 3 | 4 | 5;
  conn.clientIdKnown = true;
  const v5 = conn.version === 5;
  const props = p.properties ?? {};
  // MQTT 3.1 is "MQIsdp" level 3; 3.1.1 and 5.0 are "MQTT" level 4/5 (§3.1.2.1-2).
  if ((p.protocolId === 'MQIsdp') !== (conn.version === 3)) {
    return refuse(conn, RC.unsupportedProtocolVersion, 'protocol name and level disagree');
  }
  // [MQTT-3.1.2-22] before 5.0 a password needs a user name.
  if (!v5 && p.password !== undefined && p.username === undefined) {
    return protocolError(RC.protocolError, 'password without user name');
  }
  let clientId = p.clientId;
  let assignedId: string | undefined;
  if (utf8Problem(clientId)) return refuse(conn, RC.clientIdentifierNotValid, 'client id is not valid UTF-8');
  if (clientId === '') {
    // 3.1 needs an id; 3.1.1 assigns one only with Clean Session (§3.1.3-7/8); 5.0 always may.
    if (conn.version === 3 || (conn.version === 4 && !p.clean)) {
      return refuse(conn, RC.clientIdentifierNotValid, 'empty client id');
    }
    clientId = `auto-${randomUUID()}`;
    assignedId = clientId;
  }
  conn.clientId = clientId;
  if (v5) {
    const repeated = repeatedProperty(props) ?? repeatedProperty(p.will?.properties);
    if (repeated) return refuse(conn, RC.protocolError, `${repeated} repeated`);
    if (props.receiveMaximum === 0) return refuse(conn, RC.protocolError, 'receive maximum 0');
    if (props.maximumPacketSize === 0) return refuse(conn, RC.protocolError, 'maximum packet size 0');
    conn.clientReceiveMax = props.receiveMaximum ?? 65535;
    conn.clientMaxPacket = props.maximumPacketSize ?? 0;
    conn.clientAliasMax = props.topicAliasMaximum ?? 0;
    conn.problemInfo = props.requestProblemInformation !== false;
    if (props.authenticationData && !props.authenticationMethod) {
      return refuse(conn, RC.protocolError, 'authentication data without method');
    }
  }
  if (p.will) {
    const problem = topicNameProblem(p.will.topic, opts);
    if (problem) return refuse(conn, RC.topicNameInvalid, `will topic: ${problem}`);
    if ((p.will.qos ?? 0) > opts.maximumQoS) return refuse(conn, RC.qosNotSupported, 'will QoS not supported');
    if (p.will.retain && !opts.retainAvailable) return refuse(conn, RC.retainNotSupported, 'retain not available');
  }
  conn.username = p.username;
  conn.authMethod = v5 ? props.authenticationMethod : undefined;
  pending.set(conn, { packet: p, assignedId });
  return authenticate(conn, props.authenticationData);
}

/** AUTH during CONNECT: next step of the enhanced authentication exchange (§4.12). */
export function continueConnectAuth(conn: Connection, data: Buffer | undefined): MaybePromise<void> {
  return authenticate(conn, data);
}

/** Runs the authenticate hooks for the pending CONNECT. */
function authenticate(conn: Connection, data: Buffer | undefined): MaybePromise<void> {
  const hooks = conn.server.hooks;
  const p = (pending.get(conn) as { packet: IConnectPacket }).packet;
  if (!hooks.has('authenticate')) {
    if (conn.authMethod) return refuse(conn, RC.badAuthenticationMethod, 'no authenticator for this method');
    return accept(conn, conn.username);
  }
  const req: AuthenticateRequest = { protocol: 'mqtt', clientId: conn.clientId };
  if (p.username !== undefined) req.username = p.username;
  if (p.password !== undefined) req.password = p.password;
  if (conn.authMethod) req.method = conn.authMethod;
  if (data) req.data = data;
  if (conn.info.remoteAddress) req.remoteAddress = conn.info.remoteAddress;
  if (conn.info.certificateSubject) req.certificateSubject = conn.info.certificateSubject;
  const r = hooks.authenticate(req);
  return isPromise(r) ? r.then((x) => onResult(conn, x)) : onResult(conn, r);
}

function onResult(conn: Connection, r: AuthenticateResult): void {
  if (conn.state === 'closed') return;
  if (r === undefined) {
    if (conn.authMethod) {
      refuse(conn, RC.badAuthenticationMethod, 'authentication method not supported');
      return;
    }
    if (!conn.server.options.allowAnonymous) {
      refuse(conn, conn.username === undefined ? RC.notAuthorized : RC.badUsernameOrPassword, 'not authenticated');
      return;
    }
    accept(conn, conn.username);
    return;
  }
  if (r.outcome === 'allow') {
    accept(conn, r.principal ?? conn.username, r.data);
    return;
  }
  if (r.outcome === 'deny') {
    refuse(conn, denyCode(r.code), r.reason);
    return;
  }
  // 'continue': another AUTH round trip (5.0 with an authentication method only).
  if (conn.version !== 5 || !conn.authMethod) {
    refuse(conn, RC.badAuthenticationMethod, 'no enhanced authentication');
    return;
  }
  conn.state = 'auth';
  const properties: { authenticationMethod: string; authenticationData?: Buffer } = { authenticationMethod: conn.authMethod };
  if (r.data) properties.authenticationData = r.data;
  conn.write({ cmd: 'auth', reasonCode: RC.continueAuthentication, properties });
}

/** Maps an authenticator's deny code to a CONNACK reason code. */
export function denyCode(code: string | undefined): number {
  switch (code) {
    case 'bad-credentials':
      return RC.badUsernameOrPassword;
    case 'banned':
      return RC.banned;
    case 'bad-method':
      return RC.badAuthenticationMethod;
    default:
      return RC.notAuthorized;
  }
}

/** Refuses the CONNECT with a CONNACK carrying the reason, then closes (§3.2.2.2). */
export function refuse(conn: Connection, code: number, reason: string): void {
  conn.server.logger.debug({ clientId: conn.clientId, code, reason }, 'mqtt: connection refused');
  if (conn.version === 5) {
    const ack: IConnackPacket = { cmd: 'connack', reasonCode: code, sessionPresent: false };
    if (conn.problemInfo) ack.properties = { reasonString: reason };
    conn.write(ack);
  } else {
    conn.write({ cmd: 'connack', returnCode: connackCodeV3(code), sessionPresent: false });
  }
  pending.delete(conn);
  conn.close('refused');
}

/** Authenticated: bind the session and answer CONNACK with the broker's limits (§3.2.2.3). */
function accept(conn: Connection, principal: string | undefined, authData?: Buffer): void {
  const server = conn.server;
  const opts = server.options;
  const { packet: p, assignedId } = pending.get(conn) as { packet: IConnectPacket; assignedId?: string };
  pending.delete(conn);
  const v5 = conn.version === 5;
  const props = p.properties ?? {};
  conn.principal = principal;
  let keepAlive = p.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (v5 && opts.keepAliveMax > 0 && (keepAlive === 0 || keepAlive > opts.keepAliveMax)) {
    keepAlive = opts.keepAliveMax;
    serverKeepAlive = keepAlive;
  }
  conn.keepAlive = keepAlive;
  const requested = v5 ? (props.sessionExpiryInterval ?? 0) : p.clean ? 0 : NEVER_EXPIRES;
  const expiry = Math.min(requested, opts.sessionExpiryMax);
  if (p.will) conn.will = buildWill(conn, p);
  const present = server.openSession(conn, p.clean !== false, expiry);
  conn.state = 'open';
  const ack: IConnackPacket = { cmd: 'connack', sessionPresent: present };
  if (v5) {
    ack.reasonCode = RC.success;
    const ap: NonNullable<IConnackPacket['properties']> = {
      receiveMaximum: opts.receiveMaximum,
      maximumPacketSize: opts.maxPacketSize,
      topicAliasMaximum: opts.topicAliasMaximum,
      retainAvailable: opts.retainAvailable,
      wildcardSubscriptionAvailable: opts.wildcardSubscriptionAvailable,
      sharedSubscriptionAvailable: opts.sharedSubscriptionAvailable,
      subscriptionIdentifiersAvailable: opts.subscriptionIdentifiersAvailable,
    };
    if (opts.maximumQoS < 2) ap.maximumQoS = opts.maximumQoS;
    if (assignedId) ap.assignedClientIdentifier = assignedId;
    if (expiry !== requested) ap.sessionExpiryInterval = expiry;
    if (serverKeepAlive !== undefined) ap.serverKeepAlive = serverKeepAlive;
    if (props.requestResponseInformation && opts.responseInformation)
      ap.responseInformation = opts.responseInformation + conn.clientId;
    if (conn.authMethod) {
      ap.authenticationMethod = conn.authMethod;
      if (authData) ap.authenticationData = authData;
    }
    ack.properties = ap;
  } else {
    ack.returnCode = 0;
  }
  conn.write(ack);
  conn.startKeepAlive();
  server.connectionOpened(conn);
  conn.session?.resend();
}

function buildWill(conn: Connection, p: IConnectPacket): NonNullable<Connection['will']> {
  const w = p.will as NonNullable<IConnectPacket['will']>;
  const wp = conn.version === 5 ? (w.properties ?? {}) : {};
  const qos = (w.qos ?? 0) as 0 | 1 | 2;
  const message: Message = {
    topic: w.topic,
    payload: typeof w.payload === 'string' ? Buffer.from(w.payload) : w.payload,
    headers: propsToHeaders(wp, willPairs(p)),
    timestamp: conn.server.clock.now(),
    durability: qos > 0 ? 'durable' : 'transient',
    origin: { protocol: 'mqtt', clientId: conn.clientId, principal: conn.principal },
    retain: w.retain === true,
    qos,
  };
  const will: NonNullable<Connection['will']> = { message, delay: wp.willDelayInterval ?? 0, principal: conn.principal };
  if (wp.messageExpiryInterval !== undefined) will.expiry = wp.messageExpiryInterval;
  return will;
}

/** The Will's user properties in wire order: CONNECT's own user properties come first on the wire. */
function willPairs(p: IConnectPacket): Array<[string, string]> | undefined {
  const all = userPropertyPairs(p);
  if (!all) return undefined;
  let own = 0;
  for (const v of Object.values(p.properties?.userProperties ?? {})) own += Array.isArray(v) ? v.length : 1;
  return all.slice(own);
}
