import { definePlugin, listen, PluginStartError } from '@robustmq/sdk';
import { registerCodecs } from './compression.js';
import { kafkaOptionsSchema } from './options.js';
import { KafkaServer } from './server.js';
import { invalidTopicName } from './topics.js';

export { type KafkaOptions, kafkaOptionsSchema } from './options.js';
export { API_SPECS } from './protocol/apis.js';

/** The Kafka wire protocol plugin: Kafka topics are the kernel's partitioned logs. */
export default definePlugin({
  name: 'protocol-kafka',
  kind: 'protocol',
  version: '0.1.0',
  kernelApi: '^1',
  envPrefix: 'KAFKA',
  configSchema: kafkaOptionsSchema,
  setup(ctx) {
    registerCodecs();
    const opts = ctx.options;
    opts.bridge.mqttToKafka.forEach((rule, i) => {
      const bad = invalidTopicName(rule.to);
      if (bad) throw new PluginStartError(`bridge.mqttToKafka.${i}.to`, `"${rule.to}": ${bad}`, 'use a legal Kafka topic name');
    });
    const host = opts.host ?? ctx.broker.host;
    const server = new KafkaServer(ctx);
    let port = 0;
    let ready = false;
    return {
      async start() {
        port = await server.listen(host, opts.port, listen);
        ready = true;
        ctx.logger.info({ port, advertised: server.advertised() }, 'kafka: listening');
      },
      async stop(_deadlineMs, signal) {
        ready = false;
        await server.stop(signal);
      },
      ready: () => ready,
      endpoints: (): Record<string, number> => (port ? { kafka: port } : {}),
    };
  },
});
