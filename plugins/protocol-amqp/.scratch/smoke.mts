import amqp from 'amqplib';
import { startAmqp } from '../test/helpers.ts';
const b = await startAmqp();
console.log('port', b.port);
const conn = await amqp.connect(b.url);
const ch = await conn.createChannel();
const q = await ch.assertQueue('', { exclusive: true });
console.log('queue', q);
ch.sendToQueue(q.queue, Buffer.from('hello'), { contentType: 'text/plain', headers: { a: 1 } });
const got = await new Promise((res) =>
  ch.consume(q.queue, (m) => {
    ch.ack(m!);
    res(m);
  }),
);
console.log('got', (got as any).content.toString(), (got as any).properties, (got as any).fields);
await ch.assertExchange('logs', 'topic');
const q2 = await ch.assertQueue('q2');
await ch.bindQueue('q2', 'logs', 'a.*.c');
ch.publish('logs', 'a.b.c', Buffer.from('x1'));
ch.publish('logs', 'a.b.d', Buffer.from('x2'));
await new Promise((r) => setTimeout(r, 100));
const g = await ch.get('q2');
console.log('get', g && g.content.toString(), await ch.get('q2'));
ch.on('error', () => {});
try {
  await ch.checkQueue('nope');
} catch (e) {
  console.log('err', (e as Error).message);
}
const ch2 = await conn.createConfirmChannel();
await new Promise<void>((res, rej) => ch2.publish('', 'q2', Buffer.from('c'), {}, (err) => (err ? rej(err) : res())));
console.log('confirmed');
await conn.close();
await b.stop();
