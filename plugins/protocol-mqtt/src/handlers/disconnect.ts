import type { IDisconnectPacket } from 'mqtt-packet';
import { type Connection, protocolError } from '../connection.js';
import { RC } from '../errors.js';

/** Client DISCONNECT: a normal close; 5.0 may ask for the Will (0x04) or change Session Expiry. */
export function handleDisconnect(conn: Connection, p: IDisconnectPacket): void {
  const s = conn.session;
  if (conn.version === 5) {
    const expiry = p.properties?.sessionExpiryInterval;
    if (expiry !== undefined && s) {
      // [MQTT-3.14.2-2] zero at CONNECT cannot become non-zero at DISCONNECT.
      if (s.expiryInterval === 0 && expiry !== 0) {
        protocolError(RC.protocolError, 'session expiry set on DISCONNECT after 0 at CONNECT');
      }
      s.expiryInterval = Math.min(expiry, conn.server.options.sessionExpiryMax);
    }
    conn.willOnDisconnect = p.reasonCode === RC.disconnectWithWill;
  }
  conn.gracefulClose = true;
  conn.close('client-disconnect');
}
