import { describe, expect, it } from 'vitest';
import { AuthFileError } from '../src/file-error.js';
import { parsePasswordFile, setPasswordLine } from '../src/password-file.js';
import { formatScryptHash, hashPassword, parseScryptHash, verifyPassword } from '../src/password-hash.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('scrypt password hashes', () => {
  it('hashes in the $scrypt$ format and verifies only the right password', async () => {
    const encoded = await hashPassword('s3cret', FAST);
    expect(encoded).toMatch(/^\$scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const parsed = parseScryptHash(encoded);
    expect(formatScryptHash(parsed)).toBe(encoded);
    expect(await verifyPassword('s3cret', parsed)).toBe(true);
    expect(await verifyPassword(Buffer.from('s3cret'), parsed)).toBe(true);
    expect(await verifyPassword('s3cret!', parsed)).toBe(false);
    expect(await verifyPassword('', parsed)).toBe(false);
  });

  it('uses a fresh salt every time', async () => {
    expect(await hashPassword('x', FAST)).not.toBe(await hashPassword('x', FAST));
  });

  it('refuses malformed and absurd parameters', () => {
    expect(() => parseScryptHash('plain')).toThrow(/form/);
    expect(() => parseScryptHash('$scrypt$N=1000,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==')).toThrow(/power of two/);
    expect(() => parseScryptHash('$scrypt$N=1024,r=99,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==')).toThrow(/r=99/);
    expect(() => parseScryptHash('$scrypt$N=1024,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==')).toThrow(/salt/);
  });
});

describe('password file', () => {
  it('parses users, skipping comments and blank lines', async () => {
    const a = await hashPassword('pa', FAST);
    const b = await hashPassword('pb', FAST);
    const users = parsePasswordFile(`# users\n\nalice:${a}\n  bob:${b}  \r\n`, 'pw');
    expect([...users.keys()]).toEqual(['alice', 'bob']);
    expect(await verifyPassword('pb', users.get('bob')!.scrypt!)).toBe(true);
  });

  it('names the file and line of the first problem', async () => {
    const a = await hashPassword('pa', FAST);
    const cases: Array<[string, RegExp]> = [
      [`alice:${a}\nnocolon\n`, /^\/etc\/pw:2: expected `user:hash`/],
      [`alice:${a}\nalice:${a}\n`, /^\/etc\/pw:2: user "alice" is listed twice/],
      [`# c\nbob:md5hash\n`, /^\/etc\/pw:2: user "bob": hash is not in the form/],
      [`:${a}\n`, /^\/etc\/pw:1:/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parsePasswordFile(text, '/etc/pw');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AuthFileError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('updates, appends and removes a user line, keeping the rest', () => {
    const text = '# header\nalice:$old\nbob:$b\n';
    expect(setPasswordLine(text, 'alice', '$new')).toBe('# header\nalice:$new\nbob:$b\n');
    expect(setPasswordLine(text, 'carol', '$c')).toBe('# header\nalice:$old\nbob:$b\ncarol:$c\n');
    expect(setPasswordLine(text, 'alice', undefined)).toBe('# header\nbob:$b\n');
    expect(setPasswordLine('', 'x', '$x')).toBe('x:$x\n');
  });
});
