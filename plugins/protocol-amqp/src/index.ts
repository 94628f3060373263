import { definePlugin, type PluginInstance } from '@robustmq/sdk';
import { amqpOptionsSchema } from './options.js';
import { AmqpServer } from './server.js';

export { AmqpHeaders } from './broker/message-map.js';
export { type AmqpOptions, amqpOptionsSchema } from './options.js';

/** The AMQP 0-9-1 protocol plugin: exchanges, queues and bindings on the kernel router and logs. */
export default definePlugin({
  name: 'protocol-amqp',
  kind: 'protocol',
  version: '0.1.0',
  kernelApi: '^1',
  envPrefix: 'AMQP',
  configSchema: amqpOptionsSchema,
  setup(ctx): PluginInstance {
    const server = new AmqpServer(ctx, ctx.options);
    let ready = false;
    return {
      async start() {
        const port = await server.start();
        ready = true;
        ctx.logger.info({ port }, 'amqp: listening');
      },
      async stop(deadlineMs) {
        ready = false;
        await server.stop(deadlineMs);
      },
      ready: () => ready,
      endpoints: (): Record<string, number> => {
        const out: Record<string, number> = {};
        if (server.port) out.amqp = server.port;
        if (server.tlsPort) out.amqps = server.tlsPort;
        return out;
      },
    };
  },
});
