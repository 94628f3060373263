import type { IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { RC } from '../errors.js';
import type { Session } from '../session/session.js';

/** PUBACK for an outgoing QoS 1 message: frees its packet id and the window slot. */
export function handlePuback(conn: Connection, p: IPubackPacket): void {
  const s = conn.session as Session;
  if (s.complete(p.messageId as number)) s.pump();
}

/** PUBREC for an outgoing QoS 2 message: answer PUBREL (or end the flow on an error code, 5.0). */
export function handlePubrec(conn: Connection, p: IPubrecPacket): void {
  const s = conn.session as Session;
  const id = p.messageId as number;
  if ((p.reasonCode ?? 0) >= 0x80) {
    if (s.complete(id)) s.pump();
    return;
  }
  if (s.received(id)) conn.sendPubrel(id);
  else
    conn.write(
      conn.version === 5
        ? { cmd: 'pubrel', messageId: id, reasonCode: RC.packetIdentifierNotFound }
        : { cmd: 'pubrel', messageId: id },
    );
}

/** PUBCOMP: the outgoing QoS 2 flow is complete. */
export function handlePubcomp(conn: Connection, p: IPubcompPacket): void {
  const s = conn.session as Session;
  if (s.complete(p.messageId as number)) s.pump();
}

/** PUBREL for an incoming QoS 2 message: forget its id and answer PUBCOMP. */
export function handlePubrel(conn: Connection, p: IPubrelPacket): void {
  const s = conn.session as Session;
  const id = p.messageId as number;
  const known = s.incomingQos2.delete(id);
  if (known) s.save();
  if (conn.version === 5)
    conn.write({ cmd: 'pubcomp', messageId: id, reasonCode: known ? RC.success : RC.packetIdentifierNotFound });
  else conn.write({ cmd: 'pubcomp', messageId: id });
}
