/**
 * SASL over SaslHandshake v1 + SaslAuthenticate: PLAIN is parsed here and checked by the
 * kernel's authenticate hook; SCRAM steps are passed to the hook as they come (method
 * `SCRAM-SHA-256`/`-512`, `data` = the client message, `continue` answers with the next server message).
 */
import { type AuthenticateResult, isPromise } from '@robustmq/sdk';
import type { Connection } from '../connection.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaServer } from '../server.js';

export function handleSaslHandshake(server: KafkaServer, conn: Connection, req: { mechanism: string }) {
  const mechanisms = server.options.sasl.mechanisms;
  if (conn.principal !== undefined) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
  if (!(mechanisms as string[]).includes(req.mechanism)) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
  conn.saslMechanism = req.mechanism;
  conn.saslState = undefined;
  return { errorCode: 0, mechanisms };
}

const EMPTY = Buffer.alloc(0);

export async function handleSaslAuthenticate(server: KafkaServer, conn: Connection, req: { authBytes: Buffer }) {
  const fail = (errorCode: number, errorMessage: string) => {
    server.logger.info(
      { conn: conn.id, remote: conn.remoteAddress, mechanism: conn.saslMechanism },
      `kafka: SASL failed: ${errorMessage}`,
    );
    conn.saslMechanism = undefined;
    // Kafka closes the connection after a failed authentication; the client reads the error first.
    setTimeout(() => conn.close(), 50).unref?.();
    return { errorCode, errorMessage, authBytes: EMPTY, sessionLifetimeMs: 0 };
  };
  const mechanism = conn.saslMechanism;
  if (!mechanism) return fail(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before SaslHandshake');
  let username: string | undefined;
  let password: Buffer | undefined;
  if (mechanism === 'PLAIN') {
    const parts = req.authBytes.toString('utf8').split('\u0000');
    if (parts.length !== 3) return fail(ErrorCode.SASL_AUTHENTICATION_FAILED, 'malformed PLAIN message');
    username = parts[1];
    password = Buffer.from(parts[2], 'utf8');
  } else if (conn.saslState === undefined) {
    // SCRAM client-first message: gs2 header, then n=<user>,r=<nonce>
    const m = /(?:^|,)n=([^,]*)/.exec(req.authBytes.toString('utf8').replace(/^[^,]*,[^,]*,/, ''));
    username = m ? m[1].replace(/=2C/g, ',').replace(/=3D/g, '=') : undefined;
    conn.saslState = { username };
  } else {
    username = (conn.saslState as { username?: string }).username;
  }
  if (!server.hooks.has('authenticate')) return fail(ErrorCode.SASL_AUTHENTICATION_FAILED, 'no authenticator is configured');
  const pending = server.hooks.authenticate({
    protocol: 'kafka',
    clientId: conn.clientId,
    username,
    password,
    // PLAIN is a plain username/password check (what auth-file and MQTT CONNECT use): no method.
    method: mechanism === 'PLAIN' ? undefined : mechanism,
    data: mechanism === 'PLAIN' ? undefined : req.authBytes,
    remoteAddress: conn.socket.remoteAddress,
  });
  const result: AuthenticateResult = isPromise(pending) ? await pending : pending;
  if (!result) return fail(ErrorCode.SASL_AUTHENTICATION_FAILED, 'authentication failed: unknown user');
  if (result.outcome === 'deny') return fail(ErrorCode.SASL_AUTHENTICATION_FAILED, `authentication failed: ${result.reason}`);
  if (result.outcome === 'continue')
    return { errorCode: 0, errorMessage: null, authBytes: result.data ?? EMPTY, sessionLifetimeMs: 0 };
  conn.principal = result.principal ?? username;
  conn.authenticated = true;
  conn.saslMechanism = undefined;
  conn.saslState = undefined;
  server.announce(conn);
  return { errorCode: 0, errorMessage: null, authBytes: result.data ?? EMPTY, sessionLifetimeMs: 0 };
}
