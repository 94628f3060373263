import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The MQTT plugin's throwaway-CA helper (openssl): same certificates, same layout.
import { makeCerts, type TestCerts } from '../../protocol-mqtt/test/certs.js';
import { type AmqpTestBroker, startAmqp } from './helpers.js';

let certs: TestCerts;
let b: AmqpTestBroker;
let tlsPort: number;
const logins: Array<{ method?: string; username?: string; subject?: string }> = [];

beforeAll(async () => {
  certs = makeCerts();
  b = await startAmqp({
    amqp: {
      tls: {
        enabled: true,
        port: 0,
        cert: certs.serverCert,
        key: certs.serverKey,
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
    },
  });
  tlsPort = b.broker.endpoints('protocol-amqp').amqps;
  b.broker.hooks.register('authenticate', (req) => {
    if (req.protocol !== 'amqp') return undefined;
    logins.push({ method: req.method, username: req.username, subject: req.certificateSubject });
    return { outcome: 'allow' };
  });
});
afterAll(async () => {
  await b.stop();
  certs.cleanup();
});

describe('AMQPS', () => {
  it('serves amqps with PLAIN, and EXTERNAL from a verified client certificate', async () => {
    const plain = await amqp.connect(`amqps://guest:guest@127.0.0.1:${tlsPort}`, { ca: [certs.read(certs.ca)] });
    const ch = await plain.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('over tls'));
    await new Promise((r) => setTimeout(r, 30));
    const m = await ch.get(queue, { noAck: true });
    expect((m as amqp.GetMessage).content.toString()).toBe('over tls');
    await plain.close();

    const ext = await amqp.connect(`amqps://127.0.0.1:${tlsPort}`, {
      ca: [certs.read(certs.ca)],
      cert: certs.read(certs.clientCert),
      key: certs.read(certs.clientKey),
      credentials: amqp.credentials.external(),
    });
    await (await ext.createChannel()).assertQueue('', { exclusive: true });
    await ext.close();
    expect(logins).toEqual([
      { method: 'PLAIN', username: 'guest', subject: undefined },
      { method: 'EXTERNAL', username: 'device-7', subject: 'CN=device-7,O=robustmq' },
    ]);
  });

  it('refuses EXTERNAL without a client certificate', async () => {
    const err = await amqp
      .connect(`amqps://127.0.0.1:${tlsPort}`, { ca: [certs.read(certs.ca)], credentials: amqp.credentials.external() })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
  });

  it('refuses to start without a certificate, naming the option', async () => {
    const err = await startAmqp({ amqp: { tls: { enabled: true, port: 0 } } }).catch((e: Error) => e);
    expect(String(err)).toMatch(/tls\.cert/);
  });
});
