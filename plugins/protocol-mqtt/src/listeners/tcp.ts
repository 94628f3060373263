import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { listen } from '@robustmq/sdk';
import type { MqttServer } from '../server.js';
import type { Listener } from './listener.js';
import { loadTlsFiles, type TlsFiles } from './tls-files.js';

/** Plain TCP listener (default port 1883). */
export function tcpListener(mqtt: MqttServer, host: string, port: number): Listener {
  const server: Server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    mqtt.accept(socket, { transport: 'tcp', remoteAddress: socket.remoteAddress });
  });
  return serverListener('tcp', server, host, port, 'port');
}

/** TLS listener (default port 8883), optionally asking for client certificates. */
export function tlsListener(mqtt: MqttServer, host: string, port: number, files: TlsFiles): Listener {
  const options = loadTlsFiles(files, 'tls');
  const server = createTlsServer(options, (socket: TLSSocket) => {
    socket.setNoDelay(true);
    mqtt.accept(socket, {
      transport: 'tls',
      remoteAddress: socket.remoteAddress,
      certificateSubject: certificateSubject(socket),
    });
  });
  server.on('tlsClientError', (err) => mqtt.logger.debug({ err }, 'mqtt: TLS handshake failed'));
  return serverListener('tls', server, host, port, 'tls.port');
}

/** Subject of a verified client certificate, as `CN=…,O=…`. */
export function certificateSubject(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject as unknown as Record<string, string> | undefined;
  if (!subject) return undefined;
  return Object.entries(subject)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Wraps a net.Server as a Listener. */
export function serverListener(name: string, server: Server, host: string, port: number, field: string): Listener {
  return {
    name,
    start: () => listen(server, port, host, field),
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
