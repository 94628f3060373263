import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger, Metrics } from '@robustmq/sdk';
import { StartupError } from '../loader/errors.js';

/** A plugin as the admin API lists it. */
export interface PluginStatus {
  name: string;
  kind: string;
  version: string;
  state: string;
  ready: boolean;
  endpoints: Record<string, number>;
}

/** What the admin endpoints read from the broker. */
export interface AdminSource {
  /** Plugins not ready yet; empty when the broker is ready. `undefined` means still starting or stopping. */
  notReady(): string[] | undefined;
  plugins(): PluginStatus[];
  metrics: Metrics;
  /** Content-Type of the Prometheus exposition (from prom-client's registry). */
  metricsContentType: string;
  logger: Logger;
}

/** The admin HTTP server: /health, /ready, /metrics and /api/plugins. */
export class AdminServer {
  private readonly server: Server;

  private constructor(private readonly source: AdminSource) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        source.logger.error({ err }, 'admin request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
  }

  /**
   * Starts listening. A port in use or not permitted is a {@link StartupError} that names
   * `admin.port` and ROBUSTMQ_ADMIN_PORT.
   */
  static async start(source: AdminSource, host: string, port: number): Promise<AdminServer> {
    const admin = new AdminServer(source);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const problem =
          err.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is in use`
            : err.code === 'EACCES'
              ? `no permission to listen on port ${port}`
              : `cannot listen on ${host}:${port}: ${err.message}`;
        reject(
          new StartupError(
            `admin: admin.port: ${problem}; fix: set admin.port (or ROBUSTMQ_ADMIN_PORT) to a free port (0 picks one), or set admin.enabled: false (or ROBUSTMQ_ADMIN_ENABLED=false)`,
          ),
        );
      };
      admin.server.once('error', onError);
      admin.server.listen(port, host, () => {
        admin.server.off('error', onError);
        resolve();
      });
    });
    return admin;
  }

  /** The bound port (the actual one when configured as 0). */
  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Stops accepting and closes open connections. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, { error: `method ${req.method} not allowed` });
    }
    switch (path) {
      case '/health':
        return send(res, 200, { status: 'ok' });
      case '/ready': {
        const notReady = this.source.notReady();
        if (notReady === undefined) return send(res, 503, { status: 'not ready', reason: 'starting or stopping' });
        if (notReady.length) return send(res, 503, { status: 'not ready', notReady });
        return send(res, 200, { status: 'ready' });
      }
      case '/metrics': {
        const text = await this.source.metrics.render();
        res.writeHead(200, { 'content-type': this.source.metricsContentType });
        res.end(text);
        return;
      }
      case '/api/plugins':
        return send(res, 200, this.source.plugins());
      default:
        return send(res, 404, {
          error: `no such endpoint ${path}`,
          endpoints: ['/health', '/ready', '/metrics', '/api/plugins'],
        });
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
