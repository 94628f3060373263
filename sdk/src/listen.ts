import type { Server } from 'node:net';
import { PluginStartError } from './plugin.js';

/**
 * Starts a server listening and turns "port in use" and "permission denied" into a
 * {@link PluginStartError} naming the option field, so the kernel can refuse with a fix.
 * Returns the bound port (useful with port 0).
 */
export function listen(server: Server, port: number, host: string, field: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new PluginStartError(
            field,
            `port ${port} on ${host} is in use`,
            `set ${field} to a free port or stop the process using it`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new PluginStartError(
            field,
            `no permission to listen on port ${port}`,
            `use a port above 1023 or run with the needed privilege`,
          ),
        );
      } else {
        reject(
          new PluginStartError(field, `cannot listen on ${host}:${port}: ${err.message}`, `check ${field} and the host address`),
        );
      }
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
