import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookMap, HookName, PluginContext, PluginInstance } from '@robustmq/sdk';
import { PluginStartError } from '@robustmq/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { authFileOptions } from '../src/options.js';
import { hashPassword } from '../src/password-hash.js';

const FAST = { N: 1024, r: 8, p: 1 };
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => silent, level: 'silent' };

/** Just enough of a PluginContext for this plugin: it only registers hooks and logs. */
function fakeContext(options: unknown) {
  const handlers = new Map<HookName, unknown[]>();
  const ctx = {
    name: 'auth-file',
    options: authFileOptions.parse(options),
    logger: silent,
    hooks: {
      register(name: HookName, handler: unknown) {
        handlers.set(name, [...(handlers.get(name) ?? []), handler]);
        return () =>
          handlers.set(
            name,
            (handlers.get(name) ?? []).filter((h) => h !== handler),
          );
      },
    },
  } as unknown as PluginContext<ReturnType<typeof authFileOptions.parse>>;
  const hook = <K extends HookName>(name: K) => {
    const list = handlers.get(name) ?? [];
    expect(list).toHaveLength(1);
    return list[0] as HookMap[K];
  };
  return { ctx, hook, handlers };
}

let dir: string;
let instance: PluginInstance | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auth-file-'));
});
afterEach(async () => {
  await instance?.stop?.(1000, new AbortController().signal);
  instance = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function writeUsers(entries: Record<string, string>): Promise<string> {
  const file = join(dir, 'passwd');
  const lines = await Promise.all(Object.entries(entries).map(async ([u, p]) => `${u}:${await hashPassword(p, FAST)}`));
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

const connect = (username?: string, password?: string) => ({
  protocol: 'mqtt',
  clientId: 'c1',
  username,
  password: password === undefined ? undefined : Buffer.from(password),
});

describe('auth-file plugin', () => {
  it('allows the right password, denies a wrong one and unknown users', async () => {
    const passwordFile = await writeUsers({ alice: 'wonderland' });
    const { ctx, hook } = fakeContext({ passwordFile });
    instance = (await plugin.setup(ctx))!;
    await instance.start?.();
    const authenticate = hook('authenticate');
    expect(await authenticate(connect('alice', 'wonderland'))).toEqual({ outcome: 'allow', principal: 'alice' });
    expect(await authenticate(connect('alice', 'wrong'))).toMatchObject({ outcome: 'deny', code: 'bad-credentials' });
    expect(await authenticate(connect('alice'))).toMatchObject({ outcome: 'deny', code: 'bad-credentials' });
    expect(await authenticate(connect('mallory', 'wonderland'))).toMatchObject({ outcome: 'deny', code: 'bad-credentials' });
    expect(await authenticate(connect())).toMatchObject({ outcome: 'deny', code: 'not-authorized' });
    expect(await authenticate({ ...connect(), method: 'GSSAPI' })).toMatchObject({ outcome: 'deny', code: 'bad-method' });
    // SCRAM is served (see scram.test.ts); a user with only a scrypt line gets a fake exchange.
    const first = await authenticate({ ...connect(), method: 'SCRAM-SHA-256', data: Buffer.from('n,,n=alice,r=abc') });
    expect(first).toMatchObject({ outcome: 'continue' });
    expect(first?.outcome === 'continue' && first.data?.toString()).toMatch(/^r=abc\S+,s=\S+,i=4096$/);
  });

  it('allows anonymous clients only when allowAnonymous is set', async () => {
    const { ctx, hook } = fakeContext({ allowAnonymous: 'true' });
    instance = (await plugin.setup(ctx))!;
    expect(await hook('authenticate')(connect())).toEqual({ outcome: 'allow' });
    // No ACL file: no opinion on authorization.
    expect(hook('authorize')({ protocol: 'mqtt', clientId: 'c1', action: 'publish', resource: 'a' })).toBeUndefined();
  });

  it('authorizes with the ACL file, default deny', async () => {
    const aclFile = join(dir, 'acl');
    await writeFile(aclFile, 'user alice\nallow readwrite alice/#\nall\nallow publish clients/%c\n');
    const { ctx, hook } = fakeContext({ aclFile, allowAnonymous: true });
    instance = (await plugin.setup(ctx))!;
    const authorize = hook('authorize');
    const req = { protocol: 'mqtt', clientId: 'c1', principal: 'alice', action: 'publish' as const };
    expect(authorize({ ...req, resource: 'alice/x' })).toBe('allow');
    expect(authorize({ ...req, resource: 'clients/c1' })).toBe('allow');
    expect(authorize({ ...req, resource: 'clients/c2' })).toBe('deny');
    expect(authorize({ ...req, principal: 'bob', resource: 'alice/x' })).toBe('deny');
  });

  it('refuses to start on a bad file with a PluginStartError naming the file and line', async () => {
    const aclFile = join(dir, 'acl');
    await writeFile(aclFile, 'user alice\nallow publish a/#/b\n');
    const { ctx } = fakeContext({ aclFile });
    const error = await Promise.resolve(plugin.setup(ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginStartError);
    expect((error as PluginStartError).field).toBe('aclFile');
    expect((error as Error).message).toContain(`${aclFile}:2: \`#\` must be a whole level`);

    const passwordFile = join(dir, 'passwd');
    await writeFile(passwordFile, 'alice:plaintext\n');
    const bad = await Promise.resolve(plugin.setup(fakeContext({ passwordFile }).ctx)).catch((e: unknown) => e);
    expect((bad as PluginStartError).field).toBe('passwordFile');
    expect((bad as Error).message).toContain(`${passwordFile}:1: user "alice": hash is not in the form`);

    const missing = await Promise.resolve(plugin.setup(fakeContext({ passwordFile: join(dir, 'nope') }).ctx)).catch(
      (e: unknown) => e,
    );
    expect((missing as Error).message).toContain('nope: file does not exist');
  });

  it('reloads changed files when reloadOnChange is set and keeps the old ones on a bad edit', async () => {
    const passwordFile = await writeUsers({ alice: 'one' });
    const aclFile = join(dir, 'acl');
    await writeFile(aclFile, 'all\nallow publish a\n');
    const { ctx, hook } = fakeContext({ passwordFile, aclFile, reloadOnChange: true });
    instance = (await plugin.setup(ctx))!;
    await instance.start?.();
    const authenticate = hook('authenticate');
    const authorize = hook('authorize');
    const pub = (resource: string) => authorize({ protocol: 'mqtt', clientId: 'c', action: 'publish', resource });
    expect(pub('b')).toBe('deny');

    await writeFile(aclFile, 'all\nallow publish b\n');
    await writeUsers({ alice: 'two' });
    await expect.poll(() => pub('b'), { timeout: 3000 }).toBe('allow');
    await expect.poll(async () => (await authenticate(connect('alice', 'two')))?.outcome, { timeout: 3000 }).toBe('allow');

    await writeFile(aclFile, 'all\nallow bogus c\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(pub('b')).toBe('allow');
  });

  it('unregisters its hooks on stop', async () => {
    const { ctx, handlers } = fakeContext({ allowAnonymous: true });
    const inst = (await plugin.setup(ctx))!;
    expect(handlers.get('authenticate')).toHaveLength(1);
    await inst.stop?.(1000, new AbortController().signal);
    expect(handlers.get('authenticate')).toHaveLength(0);
    expect(handlers.get('authorize')).toHaveLength(0);
  });
});

function runPasswd(args: string[], stdin?: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'plugins/auth-file/src/passwd.ts', ...args], {
      cwd: join(import.meta.dirname, '../../..'),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('passwd CLI', () => {
  it('adds and updates users (password from --password or stdin), deletes them, and the plugin accepts them', async () => {
    const file = join(dir, 'passwd');
    expect(await runPasswd([file, 'alice', '--password', 'first'])).toMatchObject({ code: 0 });
    expect(await runPasswd([file, 'bob'], 'from-stdin\n')).toMatchObject({ code: 0 });
    expect(await runPasswd([file, 'alice', '--password', 'second'])).toMatchObject({ code: 0 });
    const text = await readFile(file, 'utf8');
    // Each user: the scrypt hash, then the SCRAM-SHA-256 and SCRAM-SHA-512 credentials, in place.
    const user = (u: string) =>
      `${u}:\\$scrypt\\$N=16384,r=8,p=1\\$\\S+\\n${u}:\\$scram-sha-256\\$4096\\$\\S+\\n${u}:\\$scram-sha-512\\$4096\\$\\S+\\n`;
    expect(text).toMatch(new RegExp(`^${user('alice')}${user('bob')}$`));

    const { ctx, hook } = fakeContext({ passwordFile: file });
    instance = (await plugin.setup(ctx))!;
    const authenticate = hook('authenticate');
    expect(await authenticate(connect('alice', 'second'))).toMatchObject({ outcome: 'allow' });
    expect(await authenticate(connect('alice', 'first'))).toMatchObject({ outcome: 'deny' });
    expect(await authenticate(connect('bob', 'from-stdin'))).toMatchObject({ outcome: 'allow' });

    expect(await runPasswd([file, 'alice', '--delete'])).toMatchObject({ code: 0 });
    expect(await readFile(file, 'utf8')).toMatch(/^bob:[^\n]+\nbob:[^\n]+\nbob:[^\n]+\n$/);
    expect(await runPasswd([file, 'carol', '--password', 'x', '--iterations', '100'])).toMatchObject({ code: 2 });
    expect(await runPasswd([file, 'carol', '--password', 'x', '--iterations', '8192'])).toMatchObject({ code: 0 });
    expect(await readFile(file, 'utf8')).toMatch(/\ncarol:\$scram-sha-512\$8192\$/);
    const usage = await runPasswd([file]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage/);
  });
});
