/**
 * Starts a real S3-compatible server (s3rver behind the conditional-write front) in a child
 * process on a free port, so tests can stop it abruptly and restart it on the same port and data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS } from './s3-front.js';

const MAIN = fileURLToPath(new URL('./s3-server-main.ts', import.meta.url));

export { S3RVER_CREDENTIALS };

export interface S3TestServer {
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** Kills the server process (SIGKILL): in-flight requests fail, data on disk stays. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Answers the next `n` requests with 503 SlowDown. */
  slowDown(n: number): Promise<void>;
  /** An SDK client for the server (path-style, s3rver credentials). */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Kills the server and removes its data. */
  dispose(): Promise<void>;
}

function launch(directory: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', MAIN, directory, String(port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr = (stderr + d).slice(-8192);
    });
    const lines = createInterface({ input: child.stdout! });
    let started = false;
    lines.once('line', (line) => {
      started = true;
      resolve({ child, port: (JSON.parse(line) as { port: number }).port });
    });
    child.once('exit', (code, signal) => {
      if (!started) reject(new Error(`s3 test server exited with ${code}: ${stderr}`));
      // A crash (not our SIGKILL) would otherwise surface only as connection errors.
      else if (signal !== 'SIGKILL') process.stderr.write(`s3 test server exited (${code ?? signal}):\n${stderr}\n`);
    });
  });
}

async function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/** Starts the server with data in a fresh temp directory. */
export async function startS3TestServer(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  let { child, port } = await launch(directory, 0);
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  const server: S3TestServer = {
    endpoint,
    port,
    directory,
    async kill() {
      child.kill('SIGKILL');
      await waitExit(child);
    },
    async restart() {
      for (let attempt = 0; ; attempt++) {
        try {
          ({ child } = await launch(directory, port));
          return;
        } catch (err) {
          if (attempt >= 20) throw err; // the port may linger briefly after the kill
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    slowDown(n) {
      return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/__faults' }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end(JSON.stringify({ slowDown: n }));
      });
    },
    client() {
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
      clients.push(client);
      return client;
    },
    async createBucket(name) {
      await server.client().send(new CreateBucketCommand({ Bucket: name }));
    },
    async dispose() {
      for (const c of clients) c.destroy();
      child.kill('SIGKILL');
      await waitExit(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
  return server;
}
