import amqp from 'amqplib';
const url = 'amqp://guest:guest@127.0.0.1:35672';
const N = 30000;
const manual = process.argv[2] === 'manual';
const pub = await amqp.connect(url);
const subc = await amqp.connect(url);
const sub = await subc.createChannel();
await sub.assertQueue('profp', { durable: true });
if (manual) await sub.prefetch(100);
let got = 0;
const t0 = performance.now();
const done = new Promise<void>((r) =>
  sub.consume(
    'profp',
    (m) => {
      if (manual) sub.ack(m!);
      if (++got === N) r();
    },
    { noAck: !manual },
  ),
);
const ch = await pub.createConfirmChannel();
const body = Buffer.alloc(1024, 120);
let inflight = 0;
let wake: (() => void) | undefined;
let confirmed = 0;
const all = new Promise<void>((res) => {
  const onc = () => {
    inflight--;
    if (++confirmed === N) res();
    if (wake && inflight < 500) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  (async () => {
    for (let i = 0; i < N; i++) {
      while (inflight >= 1000) await new Promise<void>((r) => (wake = r));
      inflight++;
      if (!ch.sendToQueue('profp', body, { persistent: true }, onc)) await new Promise((r) => ch.once('drain', r));
    }
  })();
});
await all;
const tp = performance.now();
await done;
console.log('publish/s', Math.round(N / ((tp - t0) / 1000)), 'consume/s', Math.round(N / ((performance.now() - t0) / 1000)));
await pub.close();
await subc.close();
