/**
 * A thin HTTP front over s3rver that adds what s3rver 3.7.1 lacks and the S3 store relies on:
 * - conditional writes: `If-None-Match: *` and `If-Match: <etag>` on PUT are checked under a
 *   per-key lock and answered with 412 PreconditionFailed, as AWS S3 does;
 * - suffix ranges (`bytes=-N`), which s3rver answers with one byte too many, are rewritten to
 *   an explicit range;
 * - (at start-up, in s3-server-main.ts) objects left incomplete by a kill are removed, since S3
 *   PUTs are atomic (see repair.ts);
 * - fault injection for tests: `POST /__faults {"slowDown": n}` answers the next n S3 requests
 *   with 503 SlowDown.
 * Every other request goes to s3rver's own handler unchanged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3Front {
  port: number;
  close(): Promise<void>;
}

/** Serializes async work per key. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

interface StoredObject {
  etag?: string;
  size?: number;
}

/** Reads an object's metadata straight from s3rver's store (undefined when absent). */
async function lookup(s3rver: S3rver, pathname: string): Promise<StoredObject | undefined> {
  const [bucket, ...rest] = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const store = (s3rver as unknown as { store: { getMetadata(b: string, k: string): Promise<Record<string, unknown>> } }).store;
  try {
    const meta = await store.getMetadata(bucket, rest.join('/'));
    return { etag: meta.etag as string, size: Number(meta['content-length']) };
  } catch {
    return undefined;
  }
}

/** Starts s3rver (files under `directory`) behind the front on 127.0.0.1:`port` (0 = free port). */
export async function startS3Front(options: { directory: string; port?: number }): Promise<S3Front> {
  const s3rver = new S3rver({ directory: options.directory, silent: true });
  const handle = s3rver.callback();
  const locks = new KeyedLock();
  let slowDown = 0;

  const server = http.createServer((req, res) => {
    void route(req, res).catch((err: Error) => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', err.message);
      else res.destroy();
    });
  });

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front');
    if (url.pathname === '/__faults' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      slowDown = Number((JSON.parse(body || '{}') as { slowDown?: number }).slowDown ?? 0);
      res.writeHead(204).end();
      return;
    }
    if (slowDown > 0) {
      slowDown--;
      req.resume();
      s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
      return;
    }
    // Object paths are /bucket/key (path-style); the lock and conditions apply per object.
    const isObject = url.pathname.split('/').filter(Boolean).length >= 2;
    const mutating = req.method === 'PUT' || req.method === 'DELETE' || req.method === 'POST';
    if (!isObject || !mutating) {
      await fixSuffixRange(req, url);
      handle(req, res);
      return;
    }
    const release = await locks.acquire(url.pathname);
    res.once('close', release);
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (req.method === 'PUT' && (ifNoneMatch !== undefined || ifMatch !== undefined)) {
      const head = await lookup(s3rver, url.pathname);
      const failed = (ifNoneMatch === '*' && head) || (ifMatch !== undefined && !etagMatches(ifMatch, head?.etag));
      if (failed) {
        req.resume();
        s3Error(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        return;
      }
    }
    handle(req, res);
  }

  async function fixSuffixRange(req: http.IncomingMessage, url: URL): Promise<void> {
    const range = req.headers.range;
    const match = req.method === 'GET' && range ? /^bytes=-(\d+)$/.exec(range) : null;
    if (!match) return;
    const head = await lookup(s3rver, url.pathname);
    if (head?.size === undefined) return;
    const start = Math.max(0, head.size - Number(match[1]));
    req.headers.range = `bytes=${start}-${head.size - 1}`;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function etagMatches(condition: string, etag: string | undefined): boolean {
  if (condition.trim() === '*') return etag !== undefined;
  const strip = (s: string) => s.trim().replace(/^W\//, '').replace(/"/g, '');
  return etag !== undefined && condition.split(',').some((c) => strip(c) === strip(etag));
}
