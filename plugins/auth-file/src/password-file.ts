import { AuthFileError } from './file-error.js';
import { parseScryptHash, type ScryptHash } from './password-hash.js';
import { isScramCredential, parseScramCredential, type ScramCredential, type ScramMechanism } from './scram-credential.js';

/** Everything the password file holds for one user. */
export interface UserCredentials {
  /** The scrypt hash (username/password checks: MQTT CONNECT, Kafka PLAIN, …). */
  scrypt?: ScryptHash;
  /** SCRAM credentials by mechanism (Kafka SCRAM-SHA-256/512). */
  scram: Partial<Record<ScramMechanism, ScramCredential>>;
}

/**
 * Parses a password file: `user:value` lines, where the value is a scrypt hash or a SCRAM
 * credential; a user may have one line of each kind. Blank lines and lines starting with `#`
 * are ignored. Throws {@link AuthFileError} naming the line of the first problem.
 */
export function parsePasswordFile(text: string, file: string): Map<string, UserCredentials> {
  const users = new Map<string, UserCredentials>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new AuthFileError(file, i + 1, 'expected `user:hash`');
    const user = line.slice(0, colon);
    const value = line.slice(colon + 1);
    const entry = users.get(user) ?? { scram: {} };
    try {
      if (isScramCredential(value)) {
        const credential = parseScramCredential(value);
        if (entry.scram[credential.mechanism]) throw new Error(`has two ${credential.mechanism} lines`);
        entry.scram[credential.mechanism] = credential;
      } else {
        if (entry.scrypt) throw new Error('is listed twice');
        entry.scrypt = parseScryptHash(value);
      }
    } catch (err) {
      const message = (err as Error).message;
      const sep = /^(is|has) /.test(message) ? ' ' : ': ';
      throw new AuthFileError(file, i + 1, `user "${user}"${sep}${message}`);
    }
    users.set(user, entry);
  }
  return users;
}

/**
 * Returns the file text with every line of `user` replaced by `values` (one `user:value` line
 * each, where the user's first line was, or appended), keeping every other line and comment as it
 * was. `values` undefined removes the user.
 */
export function setUserLines(text: string, user: string, values: string[] | undefined): string {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const mine = (l: string) => l.trim().startsWith(`${user}:`);
  const first = lines.findIndex(mine);
  const kept = lines.filter((l) => !mine(l));
  const added = (values ?? []).map((v) => `${user}:${v}`);
  if (first >= 0) kept.splice(first, 0, ...added);
  else kept.push(...added);
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/** {@link setUserLines} with a single value (kept for callers that write only a scrypt hash). */
export function setPasswordLine(text: string, user: string, hash: string | undefined): string {
  return setUserLines(text, user, hash === undefined ? undefined : [hash]);
}
