import { definePlugin } from '@robustmq/sdk';
import type { Listener } from './listeners/listener.js';
import { tcpListener, tlsListener } from './listeners/tcp.js';
import { wsListener } from './listeners/websocket.js';
import { mqttOptionsSchema } from './options.js';
import { MqttServer } from './server.js';
import { SysTopics } from './sys-topics.js';

export { type MqttOptions, mqttOptionsSchema } from './options.js';

/** The MQTT 3.1 / 3.1.1 / 5.0 protocol plugin: TCP, TLS, WebSocket and WSS listeners on the kernel router. */
export default definePlugin({
  name: 'protocol-mqtt',
  kind: 'protocol',
  version: '0.1.0',
  kernelApi: '^1',
  envPrefix: 'MQTT',
  configSchema: mqttOptionsSchema,
  setup(ctx) {
    const opts = ctx.options;
    const host = opts.host ?? ctx.broker.host;
    const server = new MqttServer(ctx);
    const sys = new SysTopics(server, opts.sysInterval);
    const listeners: Listener[] = [];
    const ports: Record<string, number> = {};
    let ready = false;
    return {
      async start() {
        await server.load();
        listeners.push(tcpListener(server, host, opts.port));
        if (opts.tls.enabled) listeners.push(tlsListener(server, host, opts.tls.port, opts.tls));
        if (opts.ws.enabled) listeners.push(wsListener(server, host, opts.ws.port, opts.ws.path));
        if (opts.wss.enabled) listeners.push(wsListener(server, host, opts.wss.port, opts.wss.path, opts.wss));
        try {
          for (const l of listeners) ports[l.name] = await l.start();
        } catch (err) {
          await Promise.all(listeners.map((l) => l.stop()));
          throw err;
        }
        sys.start();
        ready = true;
        ctx.logger.info({ endpoints: ports }, 'mqtt: listening');
      },
      async stop() {
        ready = false;
        sys.stop();
        // Stop accepting first, then disconnect clients (a net.Server closes once its sockets are gone).
        const closed = Promise.all(listeners.map((l) => l.stop().catch(() => undefined)));
        await server.stop();
        await closed;
      },
      ready: () => ready,
      endpoints: () => ({ ...ports }),
    };
  },
});
