import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { MqttServer } from '../server.js';
import type { Listener } from './listener.js';
import { certificateSubject, serverListener } from './tcp.js';
import { loadTlsFiles, type TlsFiles } from './tls-files.js';

/** MQTT over WebSocket (§6): binary frames on `path`, subprotocol `mqtt`, its own HTTP(S) server. */
export function wsListener(mqtt: MqttServer, host: string, port: number, path: string, secure?: TlsFiles): Listener {
  const name = secure ? 'wss' : 'ws';
  const http = secure ? createHttpsServer(loadTlsFiles(secure, 'wss')) : createHttpServer();
  http.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
  });
  const wss = new WebSocketServer({
    server: http,
    path,
    maxPayload: mqtt.options.maxPacketSize + 8,
    // Answer with "mqtt" (or the old "mqttv3.1") when the client offers it [MQTT-6.0.0-3].
    handleProtocols: (protocols) => {
      for (const p of ['mqtt', 'mqttv3.1']) if (protocols.has(p)) return p;
      return false;
    },
  });
  wss.on('connection', (ws, req: IncomingMessage) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', (err) => mqtt.logger.debug({ err }, 'mqtt: websocket stream error'));
    const socket = req.socket as TLSSocket;
    mqtt.accept(stream, {
      transport: name,
      remoteAddress: socket.remoteAddress,
      certificateSubject: secure ? certificateSubject(socket) : undefined,
    });
  });
  wss.on('error', (err) => mqtt.logger.debug({ err }, 'mqtt: websocket server error'));
  const inner = serverListener(name, http, host, port, `${name}.port`);
  return {
    name,
    start: inner.start,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await inner.stop();
    },
  };
}
