import type { MaybePromise } from '@robustmq/sdk';
import type { Packet } from 'mqtt-packet';
import { type Connection, protocolError } from '../connection.js';
import { RC } from '../errors.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePublish } from './publish.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';

/** Routes one parsed packet to its handler according to the connection state. */
export function dispatchPacket(conn: Connection, p: Packet): MaybePromise<void> {
  if (conn.state === 'new') {
    // [MQTT-3.1.0-1] the first packet must be CONNECT.
    if (p.cmd !== 'connect') return protocolError(RC.protocolError, `${p.cmd} before CONNECT`);
    return handleConnect(conn, p);
  }
  if (conn.state === 'auth') {
    if (p.cmd === 'auth') return handleAuth(conn, p);
    if (p.cmd === 'disconnect') return conn.close('client-disconnect');
    return protocolError(RC.protocolError, `${p.cmd} during authentication`);
  }
  if (conn.state !== 'open') return;
  switch (p.cmd) {
    case 'publish':
      return handlePublish(conn, p);
    case 'puback':
      return handlePuback(conn, p);
    case 'pubrec':
      return handlePubrec(conn, p);
    case 'pubrel':
      return handlePubrel(conn, p);
    case 'pubcomp':
      return handlePubcomp(conn, p);
    case 'subscribe':
      return handleSubscribe(conn, p);
    case 'unsubscribe':
      return handleUnsubscribe(conn, p);
    case 'pingreq':
      conn.write({ cmd: 'pingresp' });
      return;
    case 'disconnect':
      return handleDisconnect(conn, p);
    case 'auth':
      return handleAuth(conn, p);
    case 'connect':
      // [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
      return protocolError(RC.protocolError, 'second CONNECT');
    default:
      return protocolError(RC.protocolError, `unexpected ${p.cmd} from a client`);
  }
}
