import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AclRule } from './acl-file.js';
import { parseAclFile } from './acl-file.js';
import { AuthFileError } from './file-error.js';
import { parsePasswordFile, type UserCredentials } from './password-file.js';

/** The parsed contents of both files. */
export interface AuthData {
  /** Undefined when no password file is configured. */
  users?: Map<string, UserCredentials>;
  /** Undefined when no ACL file is configured. */
  rules?: AclRule[];
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuthFileError(file, 0, code === 'ENOENT' ? 'file does not exist' : `cannot read: ${(err as Error).message}`);
  }
}

/** Reads and parses the configured files (paths resolved against the working directory). */
export async function loadAuthFiles(paths: { passwordFile?: string; aclFile?: string }): Promise<AuthData> {
  const data: AuthData = {};
  if (paths.passwordFile) {
    const file = resolve(paths.passwordFile);
    data.users = parsePasswordFile(await readText(file), file);
  }
  if (paths.aclFile) {
    const file = resolve(paths.aclFile);
    data.rules = parseAclFile(await readText(file), file);
  }
  return data;
}
