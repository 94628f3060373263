/**
 * Adds, updates or removes a user in a password file. A user gets three lines: the scrypt hash
 * and the SCRAM-SHA-256 and SCRAM-SHA-512 credentials (4096 iterations unless --iterations).
 *
 *   node --import tsx plugins/auth-file/src/passwd.ts <file> <user> [--password <pw>] [--iterations <n>]   (else the first line of stdin)
 *   node --import tsx plugins/auth-file/src/passwd.ts <file> <user> --delete
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePasswordFile, setUserLines } from './password-file.js';
import { hashPassword } from './password-hash.js';
import {
  DEFAULT_SCRAM_ITERATIONS,
  deriveScramCredential,
  formatScramCredential,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  SCRAM_MECHANISMS,
} from './scram-credential.js';

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
    options: { password: { type: 'string' }, delete: { type: 'boolean' }, iterations: { type: 'string' } },
  });
  const [file, user] = positionals;
  if (!file || !user || positionals.length > 2) {
    process.stderr.write(
      'usage: passwd.ts <file> <user> [--password <pw>] [--iterations <n>] | --delete  (password read from stdin if not given)\n',
    );
    return 2;
  }
  if (user.includes(':') || /\s/.test(user)) {
    process.stderr.write(`passwd: user name "${user}" must not contain ":" or spaces\n`);
    return 2;
  }
  const iterations = values.iterations === undefined ? DEFAULT_SCRAM_ITERATIONS : Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    process.stderr.write(`passwd: --iterations must be an integer between ${MIN_SCRAM_ITERATIONS} and ${MAX_SCRAM_ITERATIONS}\n`);
    return 2;
  }
  const text = await readExisting(file);
  parsePasswordFile(text, file); // refuse to rewrite a file that is already broken
  let lines: string[] | undefined;
  if (!values.delete) {
    const password = values.password ?? (await readStdinLine());
    if (password === '') {
      process.stderr.write('passwd: empty password\n');
      return 2;
    }
    const scram = await Promise.all(SCRAM_MECHANISMS.map((m) => deriveScramCredential(password, m, iterations)));
    lines = [await hashPassword(password), ...scram.map(formatScramCredential)];
  }
  // Write beside the file and rename, so a watching broker never reads half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, setUserLines(text, user, lines), { mode: 0o600 });
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
