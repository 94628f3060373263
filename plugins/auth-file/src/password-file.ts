import { AuthFileError } from './file-error.js';
import { parseScryptHash, type ScryptHash } from './password-hash.js';

/**
 * Parses a password file: one `user:hash` a line; blank lines and lines starting with `#` are
 * ignored. Throws {@link AuthFileError} naming the line of the first problem.
 */
export function parsePasswordFile(text: string, file: string): Map<string, ScryptHash> {
  const users = new Map<string, ScryptHash>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new AuthFileError(file, i + 1, 'expected `user:hash`');
    const user = line.slice(0, colon);
    if (users.has(user)) throw new AuthFileError(file, i + 1, `user "${user}" is listed twice`);
    try {
      users.set(user, parseScryptHash(line.slice(colon + 1)));
    } catch (err) {
      throw new AuthFileError(file, i + 1, `user "${user}": ${(err as Error).message}`);
    }
  }
  return users;
}

/**
 * Returns the file text with `user` set to `hash` (replacing its line in place, or appended),
 * keeping every other line and comment as it was. `hash` undefined removes the user.
 */
export function setPasswordLine(text: string, user: string, hash: string | undefined): string {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const index = lines.findIndex((l) => l.trim().startsWith(`${user}:`));
  if (hash === undefined) {
    if (index >= 0) lines.splice(index, 1);
  } else if (index >= 0) {
    lines[index] = `${user}:${hash}`;
  } else {
    lines.push(`${user}:${hash}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
