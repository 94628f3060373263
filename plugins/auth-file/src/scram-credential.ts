import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

/** The SCRAM mechanisms auth-file serves (RFC 5802 with the hashes of RFC 7677 and RFC 5802 §4). */
export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Node digest name and output length of each mechanism's hash. */
export const SCRAM_HASH: Record<ScramMechanism, { digest: 'sha256' | 'sha512'; length: number; tag: string }> = {
  'SCRAM-SHA-256': { digest: 'sha256', length: 32, tag: 'scram-sha-256' },
  'SCRAM-SHA-512': { digest: 'sha512', length: 64, tag: 'scram-sha-512' },
};

/**
 * What the server keeps for one user and mechanism: never the password, only the salt, the
 * iteration count, StoredKey = H(ClientKey) (to check proofs) and ServerKey (to sign the answer).
 */
export interface ScramCredential {
  mechanism: ScramMechanism;
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Iterations written by `passwd.ts` (RFC 7677 asks for at least 4096). */
export const DEFAULT_SCRAM_ITERATIONS = 4096;
/** Bounds accepted in a file: the RFC minimum, and a cap that keeps a client's PBKDF2 sane. */
export const MIN_SCRAM_ITERATIONS = 4096;
export const MAX_SCRAM_ITERATIONS = 1_000_000;

const B64 = '([A-Za-z0-9+/]+={0,2})';
const CREDENTIAL_RE = new RegExp(`^\\$(scram-sha-256|scram-sha-512)\\$(\\d+)\\$${B64}\\$${B64}\\$${B64}$`);

/** True when a password-file value is a SCRAM credential rather than a scrypt hash. */
export function isScramCredential(encoded: string): boolean {
  return /^\$scram-sha-(256|512)\$/.test(encoded);
}

/** Parses `$scram-sha-256$<iterations>$<salt>$<StoredKey>$<ServerKey>` (base64 fields); throws on errors. */
export function parseScramCredential(encoded: string): ScramCredential {
  const m = CREDENTIAL_RE.exec(encoded);
  if (!m) {
    throw new Error(
      'SCRAM credential is not in the form $scram-sha-256$<iterations>$<salt base64>$<StoredKey base64>$<ServerKey base64>',
    );
  }
  const mechanism = m[1].toUpperCase() as ScramMechanism;
  const iterations = Number(m[2]);
  if (iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw new Error(`SCRAM iterations ${iterations} must be between ${MIN_SCRAM_ITERATIONS} and ${MAX_SCRAM_ITERATIONS}`);
  }
  const salt = Buffer.from(m[3], 'base64');
  const storedKey = Buffer.from(m[4], 'base64');
  const serverKey = Buffer.from(m[5], 'base64');
  const { length } = SCRAM_HASH[mechanism];
  if (salt.length < 8) throw new Error('SCRAM salt must be at least 8 bytes');
  if (storedKey.length !== length || serverKey.length !== length) {
    throw new Error(`${mechanism} StoredKey and ServerKey must be ${length} bytes`);
  }
  return { mechanism, iterations, salt, storedKey, serverKey };
}

/** Encodes a credential to its password-file form. */
export function formatScramCredential(c: ScramCredential): string {
  const b = (x: Buffer) => x.toString('base64');
  return `$${SCRAM_HASH[c.mechanism].tag}$${c.iterations}$${b(c.salt)}$${b(c.storedKey)}$${b(c.serverKey)}`;
}

/** HMAC with the mechanism's hash. */
export function scramHmac(mechanism: ScramMechanism, key: Buffer, text: string | Buffer): Buffer {
  return createHmac(SCRAM_HASH[mechanism].digest, key).update(text).digest();
}

/** The mechanism's plain hash H(). */
export function scramHash(mechanism: ScramMechanism, data: Buffer): Buffer {
  return createHash(SCRAM_HASH[mechanism].digest).update(data).digest();
}

/**
 * Derives a credential from a password (SaltedPassword = PBKDF2(password, salt, i), then the
 * client and server keys). The password is used as UTF-8 without SASLprep, as Kafka does.
 * Runs PBKDF2 on the libuv pool.
 */
export async function deriveScramCredential(
  password: string | Buffer,
  mechanism: ScramMechanism,
  iterations: number = DEFAULT_SCRAM_ITERATIONS,
  salt: Buffer = randomBytes(16),
): Promise<ScramCredential> {
  const { digest, length } = SCRAM_HASH[mechanism];
  const salted = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, salt, iterations, length, digest, (err, key) => (err ? reject(err) : resolve(key))),
  );
  const clientKey = scramHmac(mechanism, salted, 'Client Key');
  return {
    mechanism,
    iterations,
    salt,
    storedKey: scramHash(mechanism, clientKey),
    serverKey: scramHmac(mechanism, salted, 'Server Key'),
  };
}
