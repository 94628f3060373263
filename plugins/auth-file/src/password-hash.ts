import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes in the form `$scrypt$N=16384,r=8,p=1$<salt base64>$<hash base64>`:
 * self-describing, so the cost can be raised later without invalidating old entries.
 */
export interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Cost used for new hashes (~16 MiB and a few tens of ms per check). */
export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 } as const;

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Upper bounds that keep a hostile or mistyped file from exhausting memory or CPU. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

const HASH_RE = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Parses an encoded hash; throws an Error describing what is wrong. */
export function parseScryptHash(encoded: string): ScryptHash {
  const m = HASH_RE.exec(encoded);
  if (!m) throw new Error('hash is not in the form $scrypt$N=<n>,r=<r>,p=<p>$<salt base64>$<hash base64>');
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0) throw new Error(`scrypt N=${N} must be a power of two between 2 and ${MAX_N}`);
  if (r < 1 || r > MAX_R) throw new Error(`scrypt r=${r} must be between 1 and ${MAX_R}`);
  if (p < 1 || p > MAX_P) throw new Error(`scrypt p=${p} must be between 1 and ${MAX_P}`);
  const salt = Buffer.from(m[4], 'base64');
  const hash = Buffer.from(m[5], 'base64');
  if (salt.length < 8) throw new Error('salt must be at least 8 bytes');
  if (hash.length < 16) throw new Error('hash must be at least 16 bytes');
  return { N, r, p, salt, hash };
}

/** Encodes a parsed hash back to its text form. */
export function formatScryptHash(h: ScryptHash): string {
  return `$scrypt$N=${h.N},r=${h.r},p=${h.p}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
}

function derive(password: string | Buffer, salt: Buffer, keyLength: number, params: { N: number; r: number; p: number }) {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password with a fresh random salt. Runs on the libuv pool, not the event loop. */
export async function hashPassword(
  password: string,
  params: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const hash = await derive(password, salt, KEY_LENGTH, params);
  return formatScryptHash({ ...params, salt, hash });
}

/** Checks a password against a parsed hash in constant time (for equal-length hashes). */
export async function verifyPassword(password: string | Buffer, expected: ScryptHash): Promise<boolean> {
  const actual = await derive(password, expected.salt, expected.hash.length, expected);
  return timingSafeEqual(actual, expected.hash);
}
