import amqp from 'amqplib';
const url = 'amqp://guest:guest@127.0.0.1:35672';
const N = 30000;
const pub = await amqp.connect(url);
const subc = await amqp.connect(url);
const sub = await subc.createChannel();
await sub.assertQueue('prof', { durable: false });
let got = 0;
const t0 = performance.now();
const done = new Promise<void>((r) =>
  sub.consume(
    'prof',
    (m) => {
      if (++got === N) r();
    },
    { noAck: true },
  ),
);
const ch = await pub.createChannel();
const body = Buffer.alloc(1024, 120);
for (let i = 0; i < N; i++) if (!ch.sendToQueue('prof', body)) await new Promise((r) => ch.once('drain', r));
await done;
console.log('msg/s', Math.round(N / ((performance.now() - t0) / 1000)));
await pub.close();
await subc.close();
