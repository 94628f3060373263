/**
 * Shared helpers for the interoperability tests: a real broker on a free port, and the external
 * clients (Paho Python, mosquitto_pub / mosquitto_sub) run as child processes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Broker } from '@robustmq/kernel';
import pino from 'pino';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Debian's python3-paho-mqtt imports only under the system interpreter. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const PAHO_SCRIPT = path.join(here, 'paho_client.py');

/** A broker the suite talks to. */
export interface InteropBroker {
  port: number;
  /** Undefined when the suite targets an external broker (INTEROP_EXTERNAL_PORT). */
  broker?: Broker;
  stop(): Promise<void>;
}

/**
 * Starts RobustMQ with memory storage, no admin, MQTT on a free port of 127.0.0.1.
 * With INTEROP_EXTERNAL_PORT set, uses the broker already listening there instead (for checking the
 * tests themselves against a reference broker such as Mosquitto).
 */
export async function startInteropBroker(plugins: Record<string, unknown> = {}): Promise<InteropBroker> {
  const external = process.env.INTEROP_EXTERNAL_PORT;
  if (external) return { port: Number(external), stop: async () => {} };
  const { startTestBroker } = await import('@robustmq/kernel');
  const broker = await startTestBroker({
    env: {},
    logger: pino({ level: 'silent' }),
    config: {
      storage: 'memory',
      host: '127.0.0.1',
      admin: { enabled: false },
      plugins: { 'protocol-mqtt': { options: { port: 0 } }, ...plugins },
    },
  });
  return { broker, port: broker.endpoints('protocol-mqtt').tcp, stop: () => broker.stop() };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`). */
export function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/**
 * Fails (never skips) when an external client is missing, naming the Debian package to install.
 * .ci/run installs them.
 */
export async function requireTools(which: Array<'paho' | 'mosquitto-clients'>): Promise<void> {
  if (which.includes('paho')) {
    const r = existsSync(SYSTEM_PYTHON)
      ? await run(SYSTEM_PYTHON, ['-c', 'import paho.mqtt; print(paho.mqtt.__version__)'])
      : { code: 1, stdout: '', stderr: `${SYSTEM_PYTHON} not found` };
    if (r.code !== 0) {
      throw new Error(`Paho Python is missing (${r.stderr.trim().split('\n').pop()}): apt-get install python3-paho-mqtt`);
    }
  }
  if (which.includes('mosquitto-clients')) {
    for (const tool of ['mosquitto_pub', 'mosquitto_sub']) {
      const r = await run('sh', ['-c', `command -v ${tool}`]);
      if (r.code !== 0) throw new Error(`${tool} is missing: apt-get install mosquitto-clients`);
    }
  }
}

/** Runs one scenario of paho_client.py and returns its JSON result. */
export async function paho<T = Record<string, unknown>>(
  scenario: string,
  port: number,
  proto: '311' | '5',
  ...args: string[]
): Promise<T> {
  const r = await run(SYSTEM_PYTHON, [PAHO_SCRIPT, scenario, '127.0.0.1', String(port), proto, ...args], 20_000);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) {
    throw new Error(`paho ${scenario} (MQTT ${proto}) failed with code ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return JSON.parse(last) as T;
}

/** A running mosquitto_sub whose output lines are collected. */
export interface MosquittoSub {
  /** Message lines printed with the `-F` format (debug lines removed). */
  lines: string[];
  /** Resolves once the broker acknowledged the subscription. */
  subscribed: Promise<void>;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  child: ChildProcess;
}

/**
 * Starts mosquitto_sub with `-d` (so SUBACK is visible) and a format that marks message lines with
 * `MSG|`. Pass `-C n` / `-W s` in `args` so it ends by itself.
 */
export function mosquittoSub(port: number, args: string[], format = '%t|%r|%q|%p'): MosquittoSub {
  // stdbuf: piped stdout is block-buffered, and the SUBACK line must be seen when it happens.
  const child = spawn(
    'stdbuf',
    ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(port), '-d', '-F', `MSG|${format}`, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let buffered = '';
  let onSubscribed: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => {
    onSubscribed = resolve;
  });
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      if (/received SUBACK/.test(line)) onSubscribed();
      if (line.startsWith('MSG|')) lines.push(line.slice(4));
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { lines, subscribed, exited, child };
}

/** Runs mosquitto_pub against the broker. */
export function mosquittoPub(port: number, args: string[]): Promise<RunResult> {
  return run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args]);
}

let counter = 0;
/** A topic no other test uses. */
export function uniqueTopic(prefix: string): string {
  counter++;
  return `${prefix}/${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Waits for `p` or fails after `ms` with `what` in the message. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
