import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthenticateResult } from '@robustmq/sdk';
import {
  DEFAULT_SCRAM_ITERATIONS,
  SCRAM_HASH,
  type ScramCredential,
  type ScramMechanism,
  scramHash,
  scramHmac,
} from './scram-credential.js';

/** One SCRAM step as the authenticate hook receives it. */
export interface ScramStep {
  mechanism: ScramMechanism;
  /** Identifies the connection (protocol, address, client id): a conversation may only be finished by it. */
  connection: string;
  /** The client message of this step. */
  data: Buffer;
}

/** Options of {@link ScramServer}. */
export interface ScramServerOptions {
  /** Looks up a user's credential; undefined for an unknown user (or one without SCRAM lines). */
  lookup: (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;
  /** How long a conversation may wait for the client-final message (default 30 s). */
  ttlMs?: number;
  /** Open conversations kept at most; the oldest is dropped beyond it (default 10000). */
  maxConversations?: number;
  /** Open conversations per connection (default 8). */
  maxPerConnection?: number;
  /** The server's part of the nonce (default 18 random bytes, base64). Tests inject a fixed one. */
  serverNonce?: () => string;
  /** Clock (tests). */
  now?: () => number;
}

interface Conversation {
  connection: string;
  mechanism: ScramMechanism;
  user: string;
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  /** Undefined for an unknown user: the exchange runs on a fake salt and always fails. */
  credential?: ScramCredential;
  expires: number;
}

const deny = (reason: string): AuthenticateResult => ({ outcome: 'deny', reason, code: 'bad-credentials' });
/** A printable nonce without ',' (RFC 5802 §7). */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Decodes a SCRAM saslname (`=2C` → `,`, `=3D` → `=`); undefined when malformed. */
function decodeSaslName(s: string): string | undefined {
  if (/=(?!2C|3D)/.test(s) || s === '') return undefined;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/**
 * The server side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as a step machine for the kernel's
 * `authenticate` hook: client-first → `continue` with server-first; client-final → `allow` with
 * server-final, or `deny`.
 *
 * Conversations are keyed by the combined nonce (unique, unguessable, and echoed in the
 * client-final message), so several connections sharing an address and client id cannot mix up
 * their exchanges; the connection key is still checked. They expire after `ttlMs`, and their
 * number is bounded in total and per connection.
 */
export class ScramServer {
  private readonly conversations = new Map<string, Conversation>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly maxPerConnection: number;
  private readonly now: () => number;
  private readonly serverNonce: () => string;
  /** Keys the fake salts of unknown users: stable per user while the broker runs, unpredictable. */
  private readonly fakeSaltKey = randomBytes(32);

  constructor(private readonly options: ScramServerOptions) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.max = options.maxConversations ?? 10_000;
    this.maxPerConnection = options.maxPerConnection ?? 8;
    this.now = options.now ?? Date.now;
    this.serverNonce = options.serverNonce ?? (() => randomBytes(18).toString('base64'));
  }

  /** Open conversations (for tests and metrics). */
  get size(): number {
    return this.conversations.size;
  }

  /** Answers one step: a client-final message starts with `c=`, anything else is a client-first. */
  step(req: ScramStep): AuthenticateResult {
    this.expire();
    const text = req.data.toString('utf8');
    return text.startsWith('c=') ? this.clientFinal(req, text) : this.clientFirst(req, text);
  }

  private clientFirst(req: ScramStep, text: string): AuthenticateResult {
    // gs2-header = cbind-flag "," [authzid] ","
    const m = /^([^,]*),([^,]*),(.*)$/s.exec(text);
    if (!m) return deny('malformed SCRAM client-first message');
    const [, cbind, authzid, bare] = m;
    if (cbind.startsWith('p=')) return deny('SCRAM channel binding is not supported');
    if (cbind !== 'n' && cbind !== 'y') return deny('malformed SCRAM channel-binding flag');
    const attrs = bare.split(',');
    if (attrs[0]?.startsWith('m=')) return deny('SCRAM mandatory extensions are not supported');
    const user = attrs[0]?.startsWith('n=') ? decodeSaslName(attrs[0].slice(2)) : undefined;
    const clientNonce = attrs[1]?.startsWith('r=') ? attrs[1].slice(2) : undefined;
    if (user === undefined || !clientNonce || !NONCE_RE.test(clientNonce)) return deny('malformed SCRAM client-first message');
    if (authzid !== '') {
      const as = authzid.startsWith('a=') ? decodeSaslName(authzid.slice(2)) : undefined;
      if (as !== user) return deny('SCRAM authorization identity must be the user itself');
    }

    const credential = this.options.lookup(user, req.mechanism);
    // An unknown user gets a salt derived from its name, so it looks like every real user.
    const salt =
      credential?.salt ?? createHmac('sha256', this.fakeSaltKey).update(`${req.mechanism}\0${user}`).digest().subarray(0, 16);
    const iterations = credential?.iterations ?? DEFAULT_SCRAM_ITERATIONS;
    const nonce = clientNonce + this.serverNonce();
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;

    this.evictFor(req.connection);
    this.conversations.set(nonce, {
      connection: req.connection,
      mechanism: req.mechanism,
      user,
      gs2Header: `${cbind},${authzid},`,
      clientFirstBare: bare,
      serverFirst,
      credential,
      expires: this.now() + this.ttlMs,
    });
    return { outcome: 'continue', data: Buffer.from(serverFirst) };
  }

  private clientFinal(req: ScramStep, text: string): AuthenticateResult {
    // client-final = c=<b64>,r=<nonce>[,extensions],p=<proof>
    const m = /^c=([^,]*),r=([^,]*)(,.*)?,p=([A-Za-z0-9+/]+={0,2})$/s.exec(text);
    if (!m) return deny('malformed SCRAM client-final message');
    const [, channel, nonce, , proofB64] = m;
    const conv = this.conversations.get(nonce);
    // A nonce that does not extend a conversation started by this connection is refused.
    if (!conv || conv.connection !== req.connection || conv.mechanism !== req.mechanism) {
      return deny('SCRAM nonce does not match a conversation of this connection');
    }
    this.conversations.delete(nonce);
    // With 'n' or 'y' there is no channel-binding data: c= is the gs2 header itself.
    if (Buffer.from(channel, 'base64').toString('utf8') !== conv.gs2Header) return deny('SCRAM channel binding mismatch');

    const { length } = SCRAM_HASH[conv.mechanism];
    const withoutProof = text.slice(0, text.length - proofB64.length - 3);
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const proof = Buffer.from(proofB64, 'base64');
    // An unknown user is checked against random keys, costing the same as a wrong proof.
    const storedKey = conv.credential?.storedKey ?? randomBytes(length);
    const clientSignature = scramHmac(conv.mechanism, storedKey, authMessage);
    const clientKey = Buffer.alloc(length);
    for (let i = 0; i < length; i++) clientKey[i] = (proof[i] ?? 0) ^ clientSignature[i];
    const matches = timingSafeEqual(scramHash(conv.mechanism, clientKey), storedKey);
    if (!conv.credential || proof.length !== length || !matches) return deny('bad username or password');
    const serverSignature = scramHmac(conv.mechanism, conv.credential.serverKey, authMessage);
    return { outcome: 'allow', principal: conv.user, data: Buffer.from(`v=${serverSignature.toString('base64')}`) };
  }

  /** Drops expired conversations (the map is in insertion order, so they are at the front). */
  private expire(): void {
    const now = this.now();
    for (const [nonce, conv] of this.conversations) {
      if (conv.expires > now) break;
      this.conversations.delete(nonce);
    }
  }

  /** Makes room for one more conversation of `connection`, dropping the oldest ones first. */
  private evictFor(connection: string): void {
    const mine = [...this.conversations].filter(([, c]) => c.connection === connection);
    for (let i = 0; i <= mine.length - this.maxPerConnection; i++) this.conversations.delete(mine[i][0]);
    while (this.conversations.size >= this.max) {
      const oldest = this.conversations.keys().next().value as string;
      this.conversations.delete(oldest);
    }
  }
}
