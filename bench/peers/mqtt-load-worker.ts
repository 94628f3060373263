/**
 * One load-generator process, driven over IPC by bench/mqtt.ts. It runs one job at a time
 * (subscribers, publishers, a latency probe or idle connections) and reports counters and its
 * own CPU time, so the coordinator can tell whether the generator was the bottleneck.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  CONNACK,
  connectPacket,
  FrameScanner,
  PUBACK,
  PUBLISH,
  publishTemplate,
  pubackPacket,
  SUBACK,
  subscribePacket,
} from './mqtt-wire.js';

export type Job =
  | { kind: 'subscribe'; port: number; count: number; filter: string; qos: 0 | 1; idPrefix: string }
  | {
      kind: 'publish';
      port: number;
      count: number;
      /** `%i` is replaced by the connection index. */
      topic: string;
      qos: 0 | 1;
      payloadSize: number;
      /** QoS 1 only: unacknowledged PUBLISHes per connection. */
      inflight: number;
      idPrefix: string;
    }
  | { kind: 'latency'; port: number; qos: 0 | 1; rate: number; warmupMs: number; durationMs: number; idPrefix: string }
  | { kind: 'idle'; port: number; count: number; concurrency: number; idPrefix: string };

export type Command = { cmd: 'job'; job: Job } | { cmd: 'go' } | { cmd: 'mark' } | { cmd: 'stop' } | { cmd: 'exit' };

export type Report =
  | { ev: 'ready'; connected: number; firstError?: string }
  | { ev: 'mark'; received: number; sent: number; cpuMicros: number; errors: number; firstError?: string }
  | { ev: 'latency'; p50: number; p99: number; samples: number; errors: number }
  | { ev: 'stopped' }
  | { ev: 'error'; message: string };

type Handler = (type: number, flags: number, buf: Buffer, start: number, end: number) => void;

interface Conn {
  sock: net.Socket;
  setHandler(h: Handler): void;
}

const send = (r: Report) => process.send?.(r);

let sockets: net.Socket[] = [];
/** Bumped per job, so late events of the previous job's sockets are not counted against this one. */
let generation = 0;
let firstError: string | undefined;
let received = 0;
let sent = 0;
let errors = 0;
let running = false;
let latencies: number[] = [];

function open(port: number, clientId: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setNoDelay(true);
    let handler: Handler = (type, _flags, buf, start) => {
      if (type !== CONNACK) return;
      const rc = buf[start + 1];
      if (rc !== 0) reject(new Error(`CONNACK ${rc} for ${clientId}`));
      else resolve(conn);
    };
    const conn: Conn = { sock, setHandler: (h) => (handler = h) };
    const scanner = new FrameScanner((t, f, b, s, e) => handler(t, f, b, s, e));
    sock.on('data', (chunk) => scanner.push(chunk));
    const gen = generation;
    sock.on('error', (err) => {
      if (gen === generation) {
        errors++;
        firstError ??= err.message;
      }
      reject(err);
    });
    sock.on('close', () => {
      if (gen === generation) {
        errors++;
        firstError ??= `${clientId}: connection closed by the broker`;
      }
      reject(new Error(`${clientId}: connection closed before CONNACK`));
    });
    sockets.push(sock);
    sock.write(connectPacket(clientId));
  });
}

function subscribe(conn: Conn, filter: string, qos: 0 | 1): Promise<void> {
  return new Promise((resolve) => {
    conn.setHandler((type) => {
      if (type === SUBACK) resolve();
    });
    conn.sock.write(subscribePacket(1, filter, qos));
  });
}

/** Counts PUBLISHes (acknowledging QoS 1) and hands each payload's start to `onPayload`. */
function receiving(conn: Conn, onPayload?: (buf: Buffer, at: number) => void): Handler {
  let acks: Buffer[] = [];
  const flush = () => {
    // One write for all the PUBACKs of one read.
    if (acks.length > 0 && !conn.sock.destroyed) conn.sock.write(acks.length === 1 ? acks[0] : Buffer.concat(acks));
    acks = [];
  };
  return (type, flags, buf, start) => {
    if (type !== PUBLISH) return;
    received++;
    const topicLen = buf.readUInt16BE(start);
    let pos = start + 2 + topicLen;
    if ((flags & 0x06) !== 0) {
      if (acks.length === 0) queueMicrotask(flush);
      acks.push(pubackPacket(buf.readUInt16BE(pos)));
      pos += 2;
    }
    onPayload?.(buf, pos);
  };
}

/** Floods QoS 0 PUBLISHes as fast as the socket drains. */
function pumpQos0(conn: Conn, batch: Buffer, perBatch: number) {
  const pump = () => {
    for (let i = 0; running && i < 8; i++) {
      sent += perBatch;
      if (!conn.sock.write(batch)) {
        conn.sock.once('drain', pump);
        return;
      }
    }
    if (running) setImmediate(pump);
  };
  pump();
}

/** Keeps `inflight` QoS 1 PUBLISHes outstanding, sending a new one for each PUBACK. */
function pumpQos1(conn: Conn, template: { bytes: Buffer; idOffset: number }, inflight: number) {
  let nextId = 1;
  const stamp = (n: number): Buffer => {
    const len = template.bytes.length;
    const out = Buffer.allocUnsafe(len * n);
    for (let i = 0; i < n; i++) {
      template.bytes.copy(out, i * len);
      out.writeUInt16BE(nextId, i * len + template.idOffset);
      nextId = nextId === 65535 ? 1 : nextId + 1;
    }
    sent += n;
    return out;
  };
  let owed = 0;
  let scheduled = false;
  conn.setHandler((type) => {
    if (type !== PUBACK || !running) return;
    owed++;
    if (!scheduled) {
      scheduled = true;
      // Answer every PUBACK of one read with a single write.
      queueMicrotask(() => {
        scheduled = false;
        if (running && owed > 0) conn.sock.write(stamp(owed));
        owed = 0;
      });
    }
  });
  conn.sock.write(stamp(inflight));
}

async function connectMany(count: number, concurrency: number, make: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  let ok = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      try {
        await make(i);
        ok++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  });
  await Promise.all(lanes);
  return ok;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

let current: Job | undefined;
let publishers: Conn[] = [];
let latencyPub: Conn | undefined;

async function startJob(job: Job): Promise<void> {
  current = job;
  generation++;
  firstError = undefined;
  running = false;
  received = 0;
  sent = 0;
  errors = 0;
  latencies = [];
  publishers = [];
  if (job.kind === 'subscribe') {
    const n = await connectMany(job.count, 50, async (i) => {
      const conn = await open(job.port, `${job.idPrefix}-${i}`);
      await subscribe(conn, job.filter, job.qos);
      conn.setHandler(receiving(conn));
    });
    send({ ev: 'ready', connected: n, firstError });
  } else if (job.kind === 'publish') {
    const n = await connectMany(job.count, 50, async (i) => {
      publishers[i] = await open(job.port, `${job.idPrefix}-${i}`);
    });
    send({ ev: 'ready', connected: n, firstError });
  } else if (job.kind === 'idle') {
    const n = await connectMany(job.count, job.concurrency, (i) => open(job.port, `${job.idPrefix}-${i}`));
    send({ ev: 'ready', connected: n, firstError });
  } else {
    const sub = await open(job.port, `${job.idPrefix}-sub`);
    await subscribe(sub, 'bench/latency', job.qos);
    const measureFrom = { t: Number.POSITIVE_INFINITY };
    sub.setHandler(
      receiving(sub, (buf, at) => {
        const sentAt = buf.readDoubleBE(at);
        if (sentAt >= measureFrom.t) latencies.push(performance.now() - sentAt);
      }),
    );
    latencyPub = await open(job.port, `${job.idPrefix}-pub`);
    latencyPub.setHandler(() => {});
    send({ ev: 'ready', connected: 2 });
    Object.assign(latencyPub, { measureFrom });
  }
}

function go(): void {
  const job = current;
  if (!job) return;
  running = true;
  if (job.kind === 'publish') {
    const payload = Buffer.alloc(job.payloadSize, 0x61);
    publishers.forEach((conn, i) => {
      if (!conn) return;
      const template = publishTemplate(job.topic.replace('%i', String(i)), payload, job.qos);
      if (job.qos === 0) {
        // Batches of about 64 KiB per write keep the generator's per-message cost tiny.
        const perBatch = Math.max(1, Math.min(64, Math.floor(65536 / template.bytes.length)));
        pumpQos0(conn, Buffer.concat(Array.from({ length: perBatch }, () => template.bytes)), perBatch);
      } else {
        pumpQos1(conn, template, job.inflight);
      }
    });
  } else if (job.kind === 'latency' && latencyPub) {
    runLatency(job, latencyPub);
  }
}

/** Publishes at a fixed rate (a tick every 2 ms), each payload carrying its send time. */
function runLatency(job: Extract<Job, { kind: 'latency' }>, pub: Conn): void {
  const { measureFrom } = pub as Conn & { measureFrom: { t: number } };
  const template = publishTemplate('bench/latency', Buffer.alloc(64), job.qos);
  const start = performance.now();
  measureFrom.t = start + job.warmupMs;
  const end = measureFrom.t + job.durationMs;
  let id = 1;
  let due = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const target = Math.floor(((now - start) * job.rate) / 1000);
    while (due < target) {
      const out = Buffer.from(template.bytes);
      if (job.qos > 0) {
        out.writeUInt16BE(id, template.idOffset);
        id = id === 65535 ? 1 : id + 1;
      }
      out.writeDoubleBE(performance.now(), template.payloadOffset);
      pub.sock.write(out);
      sent++;
      due++;
    }
    if (now >= end) {
      clearInterval(timer);
      // Let the last messages arrive.
      setTimeout(() => {
        const sorted = latencies.slice().sort((a, b) => a - b);
        send({ ev: 'latency', p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length, errors });
      }, 300);
    }
  }, 2);
}

function stop(): void {
  running = false;
  generation++;
  // Reset rather than close: a flooding publisher has megabytes queued in the kernel, and a FIN would
  // only reach the broker after all of it, keeping the broker busy into the next row.
  for (const s of sockets) if (!s.destroyed) s.resetAndDestroy();
  sockets = [];
  publishers = [];
  latencyPub = undefined;
  current = undefined;
  setTimeout(() => send({ ev: 'stopped' }), 100);
}

process.on('message', (msg: Command) => {
  try {
    if (msg.cmd === 'job') startJob(msg.job).catch((err: Error) => send({ ev: 'error', message: err.message }));
    else if (msg.cmd === 'go') go();
    else if (msg.cmd === 'mark') {
      const cpu = process.cpuUsage();
      send({ ev: 'mark', received, sent, cpuMicros: cpu.user + cpu.system, errors, firstError });
    } else if (msg.cmd === 'stop') stop();
    else if (msg.cmd === 'exit') process.exit(0);
  } catch (err) {
    send({ ev: 'error', message: (err as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
