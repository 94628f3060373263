import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { type Broker, startTestBroker as kernelTestBroker } from '@robustmq/kernel';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';

/** A broker with memory storage and MQTT on a free port. */
export interface TestBroker {
  broker: Broker;
  port: number;
  endpoints: Record<string, number>;
  url: string;
  stop(): Promise<void>;
}

/** Starts a broker with the MQTT plugin options given (port 0 unless set). */
export async function startTestBroker(
  options: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<TestBroker> {
  // The kernel's test starter switches off the other protocols the registry enables by default.
  const broker = await kernelTestBroker({
    config: {
      log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
      plugins: { 'protocol-mqtt': { options: { port: 0, sysInterval: 0, ...options } } },
      ...extra,
    },
  });
  const endpoints = broker.endpoints('protocol-mqtt');
  const port = endpoints.tcp;
  return { broker, port, endpoints, url: `mqtt://127.0.0.1:${port}`, stop: () => broker.stop() };
}

const clients: MqttClient[] = [];
type Received = Array<{ topic: string; payload: string; packet: IPublishPacket }>;
const received = new WeakMap<MqttClient, Received>();
const connacks = new WeakMap<MqttClient, { sessionPresent: boolean; properties?: Record<string, unknown> }>();

/** The CONNACK a helper client got. */
export function connackOf(c: MqttClient): { sessionPresent: boolean; properties?: Record<string, unknown> } | undefined {
  return connacks.get(c);
}

/** Connects an mqtt.js client and waits for CONNACK. */
export async function client(tb: TestBroker | string, opts: IClientOptions = {}): Promise<MqttClient> {
  const url = typeof tb === 'string' ? tb : tb.url;
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  collect(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', (ack) => {
      connacks.set(c, ack as never);
      resolve();
    });
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return c;
}

/** Connects and resolves with the error or the CONNACK, without throwing. */
export function tryConnect(
  tb: TestBroker,
  opts: IClientOptions = {},
): Promise<{ connack?: unknown; error?: Error & { code?: number } }> {
  const c = mqtt.connect(tb.url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  return new Promise((resolve) => {
    c.once('connect', (connack) => resolve({ connack }));
    c.once('error', (error) => resolve({ error: error as Error & { code?: number } }));
    c.once('close', () => resolve({ error: new Error('closed') }));
  });
}

/** Ends every client opened by the helpers. */
export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
}

/** Messages a client received (recorded from before CONNACK, so resent messages are not missed). */
export function collect(c: MqttClient): Received {
  let out = received.get(c);
  if (!out) {
    const list: Received = [];
    c.on('message', (topic, payload, packet) => list.push({ topic, payload: payload.toString(), packet }));
    received.set(c, list);
    out = list;
  }
  return out;
}

/** Waits until `cond` holds (polling), or fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw TCP socket to the broker that records everything it receives. */
export async function rawSocket(port: number): Promise<{ socket: Socket; data: () => Buffer; closed: Promise<void> }> {
  const socket = netConnect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => undefined);
  await once(socket, 'connect');
  return { socket, data: () => Buffer.concat(chunks), closed };
}

/** A minimal MQTT client on a raw socket: sends any packet or bytes, records parsed packets. */
export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly parser;

  private constructor(
    readonly socket: Socket,
    readonly version: 3 | 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.packets.push(p));
    this.parser.on('error', () => undefined);
    socket.on('data', (c) => this.parser.parse(c));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, version: 3 | 4 | 5 = 5): Promise<RawClient> {
    const socket = netConnect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket, version);
  }

  /** Opens and completes CONNECT/CONNACK. */
  static async connected(port: number, version: 3 | 4 | 5, connect: Partial<IConnectPacket> = {}): Promise<RawClient> {
    const c = await RawClient.open(port, version);
    c.send({
      cmd: 'connect',
      protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      clean: true,
      keepalive: 0,
      ...connect,
    } as IConnectPacket);
    const ack = await c.next('connack');
    if ((ack as { reasonCode?: number; returnCode?: number }).reasonCode || (ack as { returnCode?: number }).returnCode)
      throw new Error('connect refused');
    return c;
  }

  send(p: Packet): void {
    this.socket.write(mqttPacket.generate(p, { protocolVersion: this.version }));
  }

  sendRaw(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Waits for the next packet of a kind not yet consumed. */
  async next<T extends Packet['cmd']>(cmd: T, ms = 3000): Promise<Extract<Packet, { cmd: T }>> {
    await waitFor(() => this.packets.some((p) => p.cmd === cmd), ms, `${cmd} packet`);
    const i = this.packets.findIndex((p) => p.cmd === cmd);
    return this.packets.splice(i, 1)[0] as Extract<Packet, { cmd: T }>;
  }

  count(cmd: Packet['cmd']): number {
    return this.packets.filter((p) => p.cmd === cmd).length;
  }

  async waitClosed(ms = 3000): Promise<void> {
    await waitFor(() => this.closed, ms, 'socket close');
  }

  end(): void {
    this.socket.destroy();
  }
}
