import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthFileError } from '../src/file-error.js';
import { parsePasswordFile, setUserLines } from '../src/password-file.js';
import {
  deriveScramCredential,
  formatScramCredential,
  parseScramCredential,
  SCRAM_HASH,
  type ScramCredential,
  type ScramMechanism,
  scramHash,
  scramHmac,
} from '../src/scram-credential.js';
import { ScramServer, type ScramServerOptions } from '../src/scram-server.js';

const CONN = 'kafka|127.0.0.1|client-1';
const b64 = (s: string) => Buffer.from(s, 'base64');

function server(users: Record<string, ScramCredential>, extra: Partial<ScramServerOptions> = {}) {
  return new ScramServer({ lookup: (u, m) => (users[u]?.mechanism === m ? users[u] : undefined), ...extra });
}
const step = (s: ScramServer, mechanism: ScramMechanism, msg: string, connection = CONN) =>
  s.step({ mechanism, connection, data: Buffer.from(msg) });

/** A client for the other direction of the tests, written from RFC 5802 §3 formulas. */
function clientProof(mechanism: ScramMechanism, password: string, serverFirst: string, bare: string, final: string) {
  const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
  const { digest, length } = SCRAM_HASH[mechanism];
  const salted = pbkdf2Sync(password, b64(attrs.s), Number(attrs.i), length, digest);
  const clientKey = scramHmac(mechanism, salted, 'Client Key');
  const authMessage = `${bare},${serverFirst},${final}`;
  const sig = scramHmac(mechanism, scramHash(mechanism, clientKey), authMessage);
  return Buffer.from(clientKey.map((b, i) => b ^ sig[i])).toString('base64');
}

describe('SCRAM credentials', () => {
  it('derives RFC 7677 keys and round-trips the file form', async () => {
    const c = await deriveScramCredential('pencil', 'SCRAM-SHA-256', 4096, b64('W22ZaJ0SNY7soEsUEjb6gQ=='));
    const text = formatScramCredential(c);
    expect(text).toMatch(/^\$scram-sha-256\$4096\$W22ZaJ0SNY7soEsUEjb6gQ==\$\S+\$\S+$/);
    expect(parseScramCredential(text)).toEqual(c);
  });

  it('refuses malformed credentials, weak iteration counts and wrong key lengths', async () => {
    const c = await deriveScramCredential('x', 'SCRAM-SHA-512');
    expect(() => parseScramCredential('$scram-sha-256$4096$abc')).toThrow(/form/);
    expect(() => parseScramCredential(formatScramCredential({ ...c, iterations: 100 }))).toThrow(/iterations 100/);
    expect(() => parseScramCredential(formatScramCredential({ ...c, mechanism: 'SCRAM-SHA-256' }))).toThrow(/32 bytes/);
  });

  it('reads scrypt and SCRAM lines of the same user, old files unchanged, and names bad lines', async () => {
    const s256 = formatScramCredential(await deriveScramCredential('p', 'SCRAM-SHA-256'));
    const s512 = formatScramCredential(await deriveScramCredential('p', 'SCRAM-SHA-512'));
    const users = parsePasswordFile(`alice:${s256}\nalice:${s512}\nbob:${s512}\n`, 'pw');
    expect(Object.keys(users.get('alice')!.scram).sort()).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    expect(users.get('alice')!.scrypt).toBeUndefined();
    expect(() => parsePasswordFile(`alice:${s256}\nalice:${s256}\n`, '/pw')).toThrow(
      /^\/pw:2: user "alice" has two SCRAM-SHA-256 lines/,
    );
    expect(() => parsePasswordFile('a:$scram-sha-512$1$x', '/pw')).toThrow(AuthFileError);
  });

  it('replaces every line of a user in place', () => {
    const text = '# h\nalice:$1\nbob:$b\nalice:$2\n';
    expect(setUserLines(text, 'alice', ['$x', '$y'])).toBe('# h\nalice:$x\nalice:$y\nbob:$b\n');
    expect(setUserLines(text, 'alice', undefined)).toBe('# h\nbob:$b\n');
    expect(setUserLines('', 'c', ['$c'])).toBe('c:$c\n');
  });
});

describe('SCRAM server', () => {
  it('answers the RFC 7677 SCRAM-SHA-256 test vector', async () => {
    const user = await deriveScramCredential('pencil', 'SCRAM-SHA-256', 4096, b64('W22ZaJ0SNY7soEsUEjb6gQ=='));
    const s = server({ user }, { serverNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const first = step(s, 'SCRAM-SHA-256', 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(first).toEqual({
      outcome: 'continue',
      data: Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
    });
    const final = step(
      s,
      'SCRAM-SHA-256',
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(final).toEqual({
      outcome: 'allow',
      principal: 'user',
      data: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
    });
    expect(s.size).toBe(0);
  });

  // Values computed independently (Python hashlib) for user "user", password "pencil".
  it('answers a SCRAM-SHA-512 vector', async () => {
    const user = await deriveScramCredential('pencil', 'SCRAM-SHA-512', 4096, b64('QSXCR+Q6sek8bf92'));
    expect(user.storedKey.toString('base64')).toBe(
      'Lm7w6zPGAx+UoahlEm1whIN7PS1KGU+9+V5PyudK6c/mWVVtkXSCpVPmUKQLYDKR7v0uSkxrBzPm7HuSwZ/ytw==',
    );
    expect(user.serverKey.toString('base64')).toBe(
      'b/Ph5kGCpfdw2MyLh0C8l10iiFENloZLKPiJIHv57J3BRD9++4RvoYjTKhOehyHgJS/nsxnNB17UKgNU7nRy6g==',
    );
    const s = server({ user }, { serverNonce: () => '3rfcNHYJY1ZVvWVs7j' });
    expect(step(s, 'SCRAM-SHA-512', 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL')?.outcome).toBe('continue');
    const final = step(
      s,
      'SCRAM-SHA-512',
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=VdS8LkrURiej1tG6iX+fqCXQfUnBb//d9llXYaH+ylUbDwBUz9geyR9fC4TewskRUM2tlYSalhAT4Aay1Q5dTA==',
    );
    expect(final).toEqual({
      outcome: 'allow',
      principal: 'user',
      data: Buffer.from('v=14PAAuavk9hxBEkgB0brDxUhvWu+N16meYk+qxVNFqchR8QPohM09Y4Z6WaTCuX4C6nqMB9KIJTDm6RpSM990g=='),
    });
  });

  async function runExchange(s: ScramServer, mechanism: ScramMechanism, name: string, password: string, gs2 = 'n,,') {
    const bare = `n=${name},r=${randomBytes(12).toString('base64')}`;
    const first = step(s, mechanism, `${gs2}${bare}`);
    if (first?.outcome !== 'continue') return { first };
    const serverFirst = first.data!.toString();
    const nonce = serverFirst.split(',')[0].slice(2);
    const final = `c=${Buffer.from(gs2).toString('base64')},r=${nonce}`;
    const proof = await clientProof(mechanism, password, serverFirst, bare, final);
    return { first, serverFirst, nonce, final, proof, result: step(s, mechanism, `${final},p=${proof}`) };
  }

  it('refuses a wrong password, and gives an unknown user a stable fake salt', async () => {
    const alice = await deriveScramCredential('right', 'SCRAM-SHA-512');
    const s = server({ alice });
    expect((await runExchange(s, 'SCRAM-SHA-512', 'alice', 'right')).result).toMatchObject({
      outcome: 'allow',
      principal: 'alice',
    });
    expect((await runExchange(s, 'SCRAM-SHA-512', 'alice', 'wrong')).result).toMatchObject({
      outcome: 'deny',
      code: 'bad-credentials',
    });
    const ghost1 = await runExchange(s, 'SCRAM-SHA-512', 'ghost', 'x');
    const ghost2 = await runExchange(s, 'SCRAM-SHA-512', 'ghost', 'y');
    const salt = (sf: string) => sf.split(',')[1];
    expect(salt(ghost1.serverFirst!)).toBe(salt(ghost2.serverFirst!));
    expect(b64(salt(ghost1.serverFirst!).slice(2))).toHaveLength(16);
    expect(ghost1.serverFirst).toMatch(/,i=4096$/);
    expect(ghost1.result).toMatchObject({ outcome: 'deny', reason: 'bad username or password' });
    // Alice has no SHA-256 credential: same fake path.
    expect((await runExchange(s, 'SCRAM-SHA-256', 'alice', 'right')).result).toMatchObject({ outcome: 'deny' });
    expect(s.size).toBe(0);
  });

  it('accepts y,, and a matching authzid, decodes =2C/=3D names, refuses channel binding and extensions', async () => {
    const weird = await deriveScramCredential('pw', 'SCRAM-SHA-256');
    const s = server({ 'a,b=c': weird, bob: weird });
    expect((await runExchange(s, 'SCRAM-SHA-256', 'a=2Cb=3Dc', 'pw', 'y,,')).result).toMatchObject({
      outcome: 'allow',
      principal: 'a,b=c',
    });
    expect((await runExchange(s, 'SCRAM-SHA-256', 'bob', 'pw', 'n,a=bob,')).result).toMatchObject({ outcome: 'allow' });
    expect((await runExchange(s, 'SCRAM-SHA-256', 'bob', 'pw', 'n,a=alice,')).first).toMatchObject({ outcome: 'deny' });
    expect(step(s, 'SCRAM-SHA-256', 'p=tls-unique,,n=bob,r=abc')).toMatchObject({ outcome: 'deny', reason: /channel binding/ });
    expect(step(s, 'SCRAM-SHA-256', 'x,,n=bob,r=abc')).toMatchObject({ outcome: 'deny' });
    expect(step(s, 'SCRAM-SHA-256', 'n,,m=ext,n=bob,r=abc')).toMatchObject({ outcome: 'deny', reason: /mandatory/ });
    expect(step(s, 'SCRAM-SHA-256', 'n,,n=b=99,r=abc')).toMatchObject({ outcome: 'deny' });
    expect(step(s, 'SCRAM-SHA-256', 'n,,n=bob')).toMatchObject({ outcome: 'deny' });
    expect(s.size).toBe(0);
  });

  it('refuses a final message whose nonce, connection, mechanism or channel header does not match', async () => {
    const bob = await deriveScramCredential('pw', 'SCRAM-SHA-256');
    const s = server({ bob });
    const bare = 'n=bob,r=clientnonce';
    const start = () => {
      const first = step(s, 'SCRAM-SHA-256', `n,,${bare}`);
      if (first?.outcome !== 'continue') throw new Error('expected a server-first message');
      return first.data!.toString();
    };
    const proofFor = (sf: string, final: string) => clientProof('SCRAM-SHA-256', 'pw', sf, bare, final);

    let sf = start();
    let nonce = sf.split(',')[0].slice(2);
    expect(nonce.startsWith('clientnonce') && nonce.length > 'clientnonce'.length).toBe(true);
    // A nonce that is only the client's part (not extended by the server) is unknown.
    let final = 'c=biws,r=clientnonce';
    expect(step(s, 'SCRAM-SHA-256', `${final},p=${await proofFor(sf, final)}`)).toMatchObject({ outcome: 'deny' });
    // Another connection cannot finish it.
    final = `c=biws,r=${nonce}`;
    const proof = await proofFor(sf, final);
    expect(step(s, 'SCRAM-SHA-256', `${final},p=${proof}`, 'kafka|10.0.0.9|other')).toMatchObject({ outcome: 'deny' });
    expect(step(s, 'SCRAM-SHA-512', `${final},p=${proof}`)).toMatchObject({ outcome: 'deny' });
    expect(step(s, 'SCRAM-SHA-256', `${final},p=${proof}`)).toMatchObject({ outcome: 'allow' });
    // One-shot: replaying the final message fails.
    expect(step(s, 'SCRAM-SHA-256', `${final},p=${proof}`)).toMatchObject({ outcome: 'deny' });

    sf = start();
    nonce = sf.split(',')[0].slice(2);
    final = `c=${Buffer.from('y,,').toString('base64')},r=${nonce}`;
    expect(step(s, 'SCRAM-SHA-256', `${final},p=${await proofFor(sf, final)}`)).toMatchObject({
      outcome: 'deny',
      reason: /channel binding/,
    });
  });

  it('expires conversations and bounds them per connection and in total', async () => {
    let now = 0;
    const s = server({}, { ttlMs: 1000, maxConversations: 5, maxPerConnection: 2, now: () => now });
    for (let i = 0; i < 3; i++) step(s, 'SCRAM-SHA-256', `n,,n=u,r=n${i}`);
    expect(s.size).toBe(2);
    for (let i = 0; i < 6; i++) step(s, 'SCRAM-SHA-256', `n,,n=u,r=m${i}`, `conn-${i}`);
    expect(s.size).toBe(5);
    now = 1001;
    step(s, 'SCRAM-SHA-256', 'n,,n=u,r=late');
    expect(s.size).toBe(1);
  });
});
