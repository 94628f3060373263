/**
 * Adds, updates or removes a user in a password file.
 *
 *   node --import tsx plugins/auth-file/src/passwd.ts <file> <user> [--password <pw>]   (else the first line of stdin)
 *   node --import tsx plugins/auth-file/src/passwd.ts <file> <user> --delete
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePasswordFile, setPasswordLine } from './password-file.js';
import { hashPassword } from './password-hash.js';

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

async function readExisting(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Runs the command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { password: { type: 'string' }, delete: { type: 'boolean' } },
  });
  const [file, user] = positionals;
  if (!file || !user || positionals.length > 2) {
    process.stderr.write(
      'usage: passwd.ts <file> <user> [--password <pw> | --delete]  (password read from stdin if not given)\n',
    );
    return 2;
  }
  if (user.includes(':') || /\s/.test(user)) {
    process.stderr.write(`passwd: user name "${user}" must not contain ":" or spaces\n`);
    return 2;
  }
  const text = await readExisting(file);
  parsePasswordFile(text, file); // refuse to rewrite a file that is already broken
  let hash: string | undefined;
  if (!values.delete) {
    const password = values.password ?? (await readStdinLine());
    if (password === '') {
      process.stderr.write('passwd: empty password\n');
      return 2;
    }
    hash = await hashPassword(password);
  }
  // Write beside the file and rename, so a watching broker never reads half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, setPasswordLine(text, user, hash), { mode: 0o600 });
  await rename(tmp, file);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('passwd.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`passwd: ${err.message}\n`);
      process.exit(1);
    },
  );
}
