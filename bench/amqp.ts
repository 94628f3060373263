/**
 * AMQP benchmark: publish and consume throughput with amqplib, 1 KiB messages, against RobustMQ
 * (its CLI in its own process, storage-file with fsync per group commit) and, in the same run,
 * RabbitMQ (Debian `rabbitmq-server`, started here on free ports) when it is installed.
 *
 * Rows: transient (non-durable queue, delivery-mode 1) and persistent (durable queue,
 * delivery-mode 2, publisher confirms), each with an auto-ack consumer and a manual-ack consumer
 * with prefetch 100. Publisher and consumer run at the same time on separate connections; the
 * publish rate is measured until the last confirm (persistent) or the last send, the consume
 * rate until the last message arrives.
 *
 *   node --import tsx bench/amqp.ts   (prints the markdown section and writes bench/results/amqp.md)
 *
 * Environment: BENCH_AMQP_MESSAGES (default 30000) messages per row, BENCH_AMQP_REPEATS (default 2) runs
 * per row and broker (best reported).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { freePort, ROBUSTMQ_CLI, waitForPort, writeRobustMQConfig } from './peers/launch.js';

const MESSAGES = Number(process.env.BENCH_AMQP_MESSAGES ?? 30000);
const SIZE = 1024;
const PREFETCH = 100;
/** Unconfirmed persistent publishes kept in flight. */
const CONFIRM_WINDOW = 1000;
const RABBITMQ = '/usr/lib/rabbitmq/bin/rabbitmq-server';

const log = (msg: string) => process.stderr.write(`[bench amqp] ${msg}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Broker {
  name: string;
  port: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

async function startRobustMQ(dir: string): Promise<Broker> {
  const port = await freePort();
  const config = path.join(dir, 'robustmq.yaml');
  await writeRobustMQConfig(config, {
    dataDir: path.join(dir, 'data'),
    storage: 'storage-file',
    protocol: 'protocol-amqp',
    port,
  });
  const child = spawn(process.execPath, [ROBUSTMQ_CLI, 'start', '--config', config], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child, 'robustmq', 60_000);
  return { name: 'RobustMQ', port, stop: () => stopChild(child) };
}

/** RabbitMQ on free ports with its own node name, epmd port and data dir. */
async function startRabbitMQ(dir: string): Promise<Broker | undefined> {
  if (!existsSync(RABBITMQ)) return undefined;
  const port = await freePort();
  const dist = await freePort();
  const epmd = await freePort();
  const base = path.join(dir, 'rabbitmq');
  await mkdir(base, { recursive: true });
  await writeFile(path.join(base, 'enabled_plugins'), '[].\n');
  await writeFile(path.join(base, 'rabbitmq.conf'), `listeners.tcp.default = ${port}\nloopback_users = none\n`);
  const env = {
    ...process.env,
    HOME: base,
    RABBITMQ_NODENAME: `bench${process.pid}@localhost`,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    ERL_EPMD_PORT: String(epmd),
    RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(base, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(base, 'advanced.config'),
    RABBITMQ_PID_FILE: path.join(base, 'pid'),
  };
  const child = spawn(RABBITMQ, [], { env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const t0 = Date.now();
  await waitForPort(port, child, 'rabbitmq-server', 90000);
  log(`rabbitmq-server up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return {
    name: 'RabbitMQ 3.10 (Debian)',
    port,
    stop: async () => {
      // The script, beam.smp and epmd share the process group we created.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise((r) => setTimeout(r, 1500));
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      // epmd daemonizes out of the process group: ask the one on our port to exit.
      spawnSync('epmd', ['-port', String(epmd), '-kill'], { stdio: 'ignore', env });
    },
  };
}

interface Row {
  publish: number;
  consume: number;
}

async function runRow(port: number, persistent: boolean, manualAck: boolean): Promise<Row> {
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const pubConn = await amqp.connect(url);
  const subConn = await amqp.connect(url);
  const queue = `bench-${persistent ? 'p' : 't'}-${manualAck ? 'm' : 'a'}-${process.pid}`;
  const sub = await subConn.createChannel();
  await sub.assertQueue(queue, { durable: persistent, autoDelete: false });
  await sub.purgeQueue(queue);
  if (manualAck) await sub.prefetch(PREFETCH);
  const body = Buffer.alloc(SIZE, 120);

  let received = 0;
  let consumeEnd = 0;
  const consumeDone = new Promise<void>((resolve) => {
    sub.consume(
      queue,
      (m) => {
        if (!m) return;
        received++;
        if (manualAck) sub.ack(m);
        if (received === MESSAGES) {
          consumeEnd = performance.now();
          resolve();
        }
      },
      { noAck: !manualAck },
    );
  });

  const t0 = performance.now();
  let publishEnd: number;
  if (persistent) {
    const ch = await pubConn.createConfirmChannel();
    let inflight = 0;
    let confirmed = 0;
    let wake: (() => void) | undefined;
    const allConfirmed = new Promise<void>((resolve) => {
      const onConfirm = () => {
        inflight--;
        confirmed++;
        if (confirmed === MESSAGES) resolve();
        if (wake && inflight < CONFIRM_WINDOW / 2) {
          const w = wake;
          wake = undefined;
          w();
        }
      };
      (async () => {
        for (let i = 0; i < MESSAGES; i++) {
          while (inflight >= CONFIRM_WINDOW) await new Promise<void>((r) => (wake = r));
          inflight++;
          const ok = ch.sendToQueue(queue, body, { persistent: true }, onConfirm);
          if (!ok) await new Promise((r) => ch.once('drain', r));
        }
      })();
    });
    await allConfirmed;
    publishEnd = performance.now();
  } else {
    const ch = await pubConn.createChannel();
    for (let i = 0; i < MESSAGES; i++) {
      if (!ch.sendToQueue(queue, body, { persistent: false })) await new Promise((r) => ch.once('drain', r));
    }
    // A round trip after the last publish: everything before it was read by the broker.
    await ch.checkQueue(queue);
    publishEnd = performance.now();
  }
  await Promise.race([consumeDone, new Promise((r) => setTimeout(r, 120000))]);
  if (received < MESSAGES) log(`consumer got ${received}/${MESSAGES}`);
  const row = {
    publish: MESSAGES / ((publishEnd - t0) / 1000),
    consume: received / (((consumeEnd || performance.now()) - t0) / 1000),
  };
  await sub.deleteQueue(queue).catch(() => undefined);
  await pubConn.close().catch(() => undefined);
  await subConn.close().catch(() => undefined);
  return row;
}

const ROWS: Array<{ label: string; persistent: boolean; manualAck: boolean }> = [
  { label: 'transient, auto-ack', persistent: false, manualAck: false },
  { label: 'transient, manual ack, prefetch 100', persistent: false, manualAck: true },
  { label: 'persistent + confirms, auto-ack', persistent: true, manualAck: false },
  { label: 'persistent + confirms, manual ack, prefetch 100', persistent: true, manualAck: true },
];

/** Runs of each row per broker; the best is reported (the machine is shared, load varies). */
const REPEATS = Number(process.env.BENCH_AMQP_REPEATS ?? 2);

export async function main(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'robustmq-bench-amqp-'));
  const results = new Map<string, Row[]>();
  let rabbitNote = '';
  const brokers: Broker[] = [];
  try {
    await mkdir(path.join(dir, 'r'), { recursive: true });
    brokers.push(await startRobustMQ(path.join(dir, 'r')));
    try {
      const rabbit = await startRabbitMQ(dir);
      if (rabbit) brokers.push(rabbit);
      else rabbitNote = 'RabbitMQ is not installed (`apt-get install rabbitmq-server`): no comparison columns.';
    } catch (err) {
      rabbitNote = `RabbitMQ did not start: ${(err as Error).message}.`;
    }
    // Warm-up: JIT, queue creation paths, first segment files.
    for (const b of brokers) {
      await runRow(b.port, false, false);
      await runRow(b.port, true, true);
      results.set(b.name, []);
    }
    // Rows interleaved between brokers so that load changes on the shared machine hit both alike.
    for (const r of ROWS) {
      const best = new Map<string, Row>();
      for (let rep = 0; rep < REPEATS; rep++) {
        for (const b of brokers) {
          const row = await runRow(b.port, r.persistent, r.manualAck);
          log(`${b.name} ${r.label}: publish ${fmt(row.publish)}/s, consume ${fmt(row.consume)}/s`);
          const prev = best.get(b.name);
          best.set(b.name, {
            publish: Math.max(prev?.publish ?? 0, row.publish),
            consume: Math.max(prev?.consume ?? 0, row.consume),
          });
        }
      }
      for (const b of brokers) results.get(b.name)!.push(best.get(b.name)!);
    }
  } finally {
    for (const b of brokers) await b.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const names = [...results.keys()];
  const lines = [
    '## AMQP (amqplib)',
    '',
    `${fmt(MESSAGES)} messages of 1 KiB per row, publisher and consumer at the same time on separate connections (one amqplib`,
    'client process, each broker in its own process). Persistent rows: durable queue, delivery-mode 2, publisher confirms with',
    `${CONFIRM_WINDOW} in flight; RobustMQ on storage-file (fsync before acknowledging, group commit). Messages per second,`,
    `best of ${REPEATS} runs per row, the two brokers' runs interleaved (both up for the whole run; the machine is shared).`,
    '',
    `| row | ${names.map((n) => `${n} publish | ${n} consume`).join(' | ')} |${names.length > 1 ? ' consume ratio |' : ''}`,
    `|---|${names.map(() => '---:|---:').join('|')}|${names.length > 1 ? '---:|' : ''}`,
  ];
  ROWS.forEach((r, i) => {
    const cells = names.map((n) => {
      const row = results.get(n)![i];
      return `${fmt(row.publish)} | ${fmt(row.consume)}`;
    });
    const ratio =
      names.length > 1 ? ` ${(results.get(names[0])![i].consume / results.get(names[1])![i].consume).toFixed(2)}× |` : '';
    lines.push(`| ${r.label} | ${cells.join(' | ')} |${ratio}`);
  });
  if (rabbitNote) lines.push('', rabbitNote);
  lines.push('');
  const section = lines.join('\n');
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'amqp.md');
  await writeFile(out, `${section}\n`);
  return section;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await main()}\n`);
}
