import { type AuthenticateRequest, type AuthenticateResult, isPromise, type MaybePromise } from '@robustmq/sdk';
import type { IAuthPacket } from 'mqtt-packet';
import { type Connection, protocolError } from '../connection.js';
import { RC } from '../errors.js';
import { continueConnectAuth, denyCode } from './connect.js';

/** Connections in the middle of a re-authentication (5.0 AUTH 0x19 … 0x18). */
const reauthenticating = new WeakSet<Connection>();

/** AUTH (§3.15): a step of the CONNECT exchange, or re-authentication of an open connection. */
export function handleAuth(conn: Connection, p: IAuthPacket): MaybePromise<void> {
  if (conn.version !== 5) return protocolError(RC.protocolError, 'AUTH before MQTT 5');
  const method = p.properties?.authenticationMethod;
  // [MQTT-4.12.0-5] the method must stay the one given in CONNECT.
  if (!conn.authMethod || method !== conn.authMethod) return protocolError(RC.protocolError, 'authentication method mismatch');
  const data = p.properties?.authenticationData;
  if (conn.state === 'auth') {
    if (p.reasonCode !== RC.continueAuthentication) return protocolError(RC.protocolError, 'unexpected AUTH reason');
    return continueConnectAuth(conn, data);
  }
  const ok = p.reasonCode === RC.reAuthenticate || (p.reasonCode === RC.continueAuthentication && reauthenticating.has(conn));
  if (!ok) return protocolError(RC.protocolError, 'unexpected AUTH reason');
  reauthenticating.add(conn);
  const req: AuthenticateRequest = { protocol: 'mqtt', clientId: conn.clientId, method };
  if (conn.username !== undefined) req.username = conn.username;
  if (data) req.data = data;
  if (conn.info.remoteAddress) req.remoteAddress = conn.info.remoteAddress;
  const hooks = conn.server.hooks;
  if (!hooks.has('authenticate')) return reauthResult(conn, undefined);
  const r = hooks.authenticate(req);
  return isPromise(r) ? r.then((x) => reauthResult(conn, x)) : reauthResult(conn, r);
}

function reauthResult(conn: Connection, r: AuthenticateResult): void {
  if (conn.state !== 'open') return;
  const method = conn.authMethod as string;
  if (r?.outcome === 'continue') {
    const properties: IAuthPacket['properties'] = { authenticationMethod: method };
    if (r.data) properties.authenticationData = r.data;
    conn.write({ cmd: 'auth', reasonCode: RC.continueAuthentication, properties });
    return;
  }
  reauthenticating.delete(conn);
  if (r?.outcome === 'allow') {
    if (r.principal) conn.principal = r.principal;
    const properties: IAuthPacket['properties'] = { authenticationMethod: method };
    if (r.data) properties.authenticationData = r.data;
    conn.write({ cmd: 'auth', reasonCode: RC.success, properties });
    return;
  }
  const code = r?.outcome === 'deny' ? denyCode(r.code) : RC.badAuthenticationMethod;
  conn.close('reauthentication-failed', code, 're-authentication failed');
}
