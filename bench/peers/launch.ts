/**
 * Starting and measuring the benchmark peers (RobustMQ through its CLI, Aedes, Mosquitto), each in
 * its own process on a free port, and the load-generator worker processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Report } from './mqtt-load-worker.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

/** A running broker under test. */
export interface Peer {
  name: string;
  pid: number;
  port: number;
  /** False once the process has exited (crashed). */
  alive(): boolean;
  /** The last lines the process printed (for crash reports). */
  output(): string;
  stop(): Promise<void>;
}

function peerOf(name: string, child: ChildProcess, port: number, tail: () => string, cleanup?: () => Promise<void>): Peer {
  return {
    name,
    pid: child.pid!,
    port,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => tail().trim().split('\n').slice(-4).join(' | '),
    stop: stopper(child, cleanup),
  };
}

/** A port that was free a moment ago (the brokers are started on it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a connection; fails if `child` exits first or after `timeoutMs`. */
export async function waitForPort(port: number, child: ChildProcess, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `argv` through a shell that first raises the open-file limit to the hard limit. */
function spawnWithFdLimit(argv: string[], stdio: Parameters<typeof spawn>[2]['stdio']): ChildProcess {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawn('sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`], { cwd: ROOT, stdio });
}

function stopper(child: ChildProcess, cleanup?: () => Promise<void>): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await cleanup?.();
  };
}

function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

export const ROBUSTMQ_CLI = path.join(ROOT, 'kernel/bin/robustmq.mjs');

const PROTOCOLS = ['protocol-mqtt', 'protocol-kafka', 'protocol-amqp'] as const;

/**
 * Writes a broker config for a benchmark: one protocol on `port` (the others off, so no suite
 * collides with their well-known ports), the given storage, admin off, quiet logs.
 */
export async function writeRobustMQConfig(
  file: string,
  opts: { dataDir: string; storage: string; protocol: (typeof PROTOCOLS)[number]; port: number; extra?: string[] },
): Promise<void> {
  const plugins = PROTOCOLS.map((p) =>
    p === opts.protocol ? `  ${p}: { enabled: true, options: { port: ${opts.port} } }` : `  ${p}: { enabled: false }`,
  );
  const lines = [
    `dataDir: ${opts.dataDir}`,
    `storage: ${opts.storage}`,
    'log: { level: warn }',
    'host: 127.0.0.1',
    'admin: { enabled: false }',
    'plugins:',
    ...plugins,
    ...(opts.extra ?? []),
  ];
  await writeFile(file, `${lines.join('\n')}\n`);
}

/** RobustMQ through its CLI with memory storage, MQTT only, admin off. */
export async function startRobustMQ(): Promise<Peer> {
  if (!existsSync(ROBUSTMQ_CLI)) throw new Error('kernel/bin/robustmq.mjs does not exist yet');
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-robustmq-'));
  const port = await freePort();
  const config = path.join(dir, 'robustmq.yaml');
  await writeRobustMQConfig(config, { dataDir: dir, storage: 'memory', protocol: 'protocol-mqtt', port });
  const child = spawnWithFdLimit([process.execPath, ROBUSTMQ_CLI, 'start', '--config', config], ['ignore', 'pipe', 'pipe']);
  const tail = captureTail(child);
  try {
    await waitForPort(port, child, 'robustmq');
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}: ${tail().trim().split('\n').slice(-3).join(' | ')}`);
  }
  return peerOf('RobustMQ', child, port, tail, () => rm(dir, { recursive: true, force: true }));
}

/** V8 stack for Aedes: its parser recurses once per packet of a read, and a read full of small PUBACKs overflows the default. */
export const AEDES_STACK_KB = 6000;

/** Aedes 1.x (bench/peers/aedes-server.ts). */
export async function startAedes(): Promise<Peer> {
  const port = await freePort();
  const child = spawnWithFdLimit(
    [process.execPath, `--stack-size=${AEDES_STACK_KB}`, '--import', 'tsx', 'bench/peers/aedes-server.ts', String(port)],
    ['ignore', 'pipe', 'pipe'],
  );
  const tail = captureTail(child);
  await waitForPort(port, child, 'aedes');
  return peerOf('Aedes', child, port, tail);
}

/** The Mosquitto binary, or undefined when it is not installed. */
export function mosquittoBinary(): string | undefined {
  return MOSQUITTO.find((p) => existsSync(p));
}

/** Mosquitto with a generated config: one listener on 127.0.0.1, anonymous, no persistence, Nagle off like the others. */
export async function startMosquitto(): Promise<Peer> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('mosquitto is not installed (Debian package mosquitto)');
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const child = spawnWithFdLimit([bin, '-c', conf], ['ignore', 'pipe', 'pipe']);
  const tail = captureTail(child);
  await waitForPort(port, child, 'mosquitto');
  return peerOf('Mosquitto', child, port, tail, () => rm(dir, { recursive: true, force: true }));
}

/** Resident set size of a process in bytes (Linux /proc). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** User + system CPU time of a process in milliseconds (Linux /proc). */
export async function cpuMillis(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** A load-generator process and a typed request/response channel to it. */
export class LoadWorker {
  private readonly child: ChildProcess;
  private readonly waiting: Array<{ ev: Report['ev']; resolve: (r: Report) => void; reject: (e: Error) => void }> = [];

  constructor(readonly name: string) {
    this.child = spawnWithFdLimit(
      [process.execPath, '--import', 'tsx', 'bench/peers/mqtt-load-worker.ts'],
      ['ignore', 'inherit', 'inherit', 'ipc'],
    );
    this.child.on('message', (r: Report) => {
      if (r.ev === 'error') {
        const w = this.waiting.shift();
        w?.reject(new Error(`${name}: ${r.message}`));
        return;
      }
      const i = this.waiting.findIndex((w) => w.ev === r.ev);
      if (i >= 0) this.waiting.splice(i, 1)[0].resolve(r);
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`${name} exited (${code})`));
    });
  }

  /** Sends a command and waits for the report of kind `ev`. */
  request<E extends Report['ev']>(cmd: Command, ev: E, timeoutMs = 60_000): Promise<Extract<Report, { ev: E }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${ev} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        ev,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Extract<Report, { ev: E }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send(cmd);
    });
  }

  send(cmd: Command): void {
    this.child.send(cmd);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
