import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_REGISTRY } from './fixtures/helpers.js';

const BIN = fileURLToPath(new URL('../bin/robustmq.mjs', import.meta.url));
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'robustmq-cli-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Env for the child without any ROBUSTMQ_* of the test runner's. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROBUSTMQ_')) env[k] = v;
  return { ...env, ...extra };
}

function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return Object.assign(child, { out: () => out, err: () => err });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawnCli(args, env);
  const code = await exited(child);
  return { code, out: child.out(), err: child.err() };
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe.concurrent('robustmq CLI', () => {
  it('config check prints the effective config with plugin defaults (good file)', async () => {
    const path = await configFile('good.yaml', 'storage: memory\nadmin: { port: 0 }\nplugins:\n  hello: { enabled: true }\n');
    const { code, out, err } = await run(['config', 'check', '--config', path, '--registry', FIXTURE_REGISTRY]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`# effective configuration: ${path}, registry ${FIXTURE_REGISTRY}`);
    expect(out).toContain('storage: memory\n');
    expect(out).toContain('  port: 0\n');
    expect(out).toContain('  hello:\n    enabled: true\n    options:\n      denyFilter: forbidden/#\n      greeting: hello\n');
    expect(out).toContain('  listener:\n    enabled: false\n');
  });

  it('config check prints one line per error and exits 1 (bad file)', async () => {
    const path = await configFile(
      'bad.yaml',
      'storage: memory\nadmin: { port: 99999 }\nplugins:\n  hello: { enabled: true, options: { maxCalls: 0 } }\n',
    );
    const { code, out, err } = await run(['config', 'check', '--config', path, '--registry', FIXTURE_REGISTRY]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `config: admin.port: expected a number between 0 and 65535, got 99999 (from ${path}); fix: set admin.port (or ROBUSTMQ_ADMIN_PORT) to a number between 0 and 65535\n`,
    );
    const plugin = await configFile(
      'bad-plugin.yaml',
      'storage: memory\nplugins:\n  hello: { enabled: true, options: { maxCalls: 0 } }\n',
    );
    const second = await run(['config', 'check', '--config', plugin, '--registry', FIXTURE_REGISTRY]);
    expect(second.code).toBe(1);
    expect(second.err).toBe(
      `plugin hello: options.maxCalls: too small: expected number to be >0, got 0 (from ${plugin}); fix: set plugins.hello.options.maxCalls (or ROBUSTMQ_HELLO_MAX_CALLS) to a valid value\n`,
    );
    expect(second.err).not.toContain('    at ');
  });

  it('plugins list shows every registry plugin with enabled-by-config and built', async () => {
    const path = await configFile('list.yaml', 'storage: store-a\nplugins:\n  hello: { enabled: true }\n');
    const { code, out } = await run(['plugins', 'list', '--config', path, '--registry', FIXTURE_REGISTRY]);
    expect(code).toBe(0);
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    expect(rows[0]).toEqual(['NAME', 'KIND', 'VERSION', 'KERNEL-API', 'ENABLED', 'BUILT']);
    expect(rows).toContainEqual(['store-a', 'storage', '0.1.0', '^1', 'yes', 'yes']);
    expect(rows).toContainEqual(['store-b', 'storage', '0.1.0', '^1', 'no', 'yes']);
    expect(rows).toContainEqual(['hello', 'extension', '0.1.0', '^1', 'yes', 'yes']);
    expect(rows).toContainEqual(['listener', 'protocol', '0.1.0', '^1', 'no', 'yes']);
    expect(rows).toContainEqual(['ghost', 'protocol', '0.1.0', '^1', 'no', 'no']);
  });

  it('start runs until SIGTERM, then shuts down gracefully: exit 0 and a "stopped" line', async () => {
    const path = await configFile(
      'start.yaml',
      'storage: memory\nadmin: { host: 127.0.0.1, port: 0 }\nplugins:\n  hello: { enabled: true }\n  listener: { enabled: true, options: { port: 0 } }\n',
    );
    const child = spawnCli(['start', '--config', path, '--registry', FIXTURE_REGISTRY]);
    await waitFor(() => child.out().includes('started with 2 plugin(s)'), 20_000);
    const lines = child
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; port?: number });
    expect(lines.map((l) => l.msg)).toContain('hello 0.1.0 up');
    expect(lines.map((l) => l.msg).some((m) => /^listener 0\.1\.0 up: tcp :\d+$/.test(m))).toBe(true);
    const adminPort = lines.find((l) => l.msg.startsWith('admin up: http :'))?.port;
    expect((await fetch(`http://127.0.0.1:${adminPort}/health`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    const msgs = child
      .out()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('SIGTERM received: shutting down');
    expect(msgs).toContain('hello stopped');
    expect(msgs.at(-1)).toBe('robustmq stopped');
    expect(child.err()).toBe('');
  });

  it('start: a second signal forces exit while a plugin is still stopping', async () => {
    const path = await configFile(
      'hang.yaml',
      'storage: memory\nadmin: { enabled: false }\nshutdown: { deadlineMs: 60000 }\nplugins:\n  slow-stop: { enabled: true }\n',
    );
    const child = spawnCli(['start', '--config', path, '--registry', FIXTURE_REGISTRY]);
    await waitFor(() => child.out().includes('started with 1 plugin(s)'), 20_000);
    child.kill('SIGINT');
    await waitFor(() => child.out().includes('SIGINT received: shutting down'), 10_000);
    const started = Date.now();
    child.kill('SIGINT');
    expect(await exited(child)).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(child.out()).toContain('second SIGINT: forcing exit');
  });

  it('start refused: the one line on stderr, exit 1, no stack trace', async () => {
    const { code, err } = await run(['start', '--registry', FIXTURE_REGISTRY], {
      ROBUSTMQ_STORAGE: 'memory',
      ROBUSTMQ_ADMIN_ENABLED: 'false',
      ROBUSTMQ_GHOST_ENABLED: 'true',
    });
    expect(code).toBe(1);
    expect(err).toMatch(
      /^plugin ghost: entry: not built yet \(.+\); fix: disable it with plugins\.ghost\.enabled: false \(or ROBUSTMQ_GHOST_ENABLED=false\)\n$/,
    );
  });
});
