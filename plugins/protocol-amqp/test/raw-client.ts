import { connect, type Socket } from 'node:net';
import { PROTOCOL_HEADER } from '../src/codec/constants.js';
import { Writer } from '../src/codec/field-table.js';
import { type BasicProperties, type Frame, FrameParser, writeContent, writeMethodFrame } from '../src/codec/frames.js';
import { decodeMethod, type Method } from '../src/codec/methods.js';

/** A byte-level AMQP client for malformed-input and negotiation tests. */
export class RawClient {
  readonly frames: Frame[] = [];
  closed = false;
  private readonly parser = new FrameParser(1 << 24);
  raw = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.raw = Buffer.concat([this.raw, d]);
      if (this.raw.length >= 8 && this.raw.subarray(0, 4).toString() === 'AMQP') return;
      for (const f of this.parser.push(d)) this.frames.push(f);
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  send(channel: number, name: string, args: Record<string, unknown> = {}): void {
    const w = new Writer();
    writeMethodFrame(w, channel, name, args);
    this.write(Buffer.from(w.result()));
  }

  /** basic.publish with its header and body frames. */
  publish(channel: number, exchange: string, routingKey: string, body: Buffer, props: BasicProperties = {}): void {
    const w = new Writer();
    writeContent(w, channel, 'basic.publish', { exchange, routingKey }, props, body, 4096);
    this.write(Buffer.from(w.result()));
  }

  /** The decoded methods received so far. */
  methods(): Array<Method & { channel: number }> {
    return this.frames.filter((f) => f.type === 1).map((f) => ({ ...decodeMethod(f.payload), channel: f.channel }));
  }

  async waitFor(name: string, ms = 2000): Promise<Method & { channel: number }> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.methods().find((x) => x.name === name);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no ${name}; got ${this.methods().map((x) => x.name)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async waitClosed(ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Header, start-ok (PLAIN guest), tune-ok, open: ready for channels. */
  async handshake(heartbeat = 0): Promise<void> {
    this.write(PROTOCOL_HEADER);
    await this.waitFor('connection.start');
    this.send(0, 'connection.start-ok', {
      clientProperties: {},
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    });
    const tune = await this.waitFor('connection.tune');
    this.send(0, 'connection.tune-ok', { channelMax: 16, frameMax: tune.args.frameMax, heartbeat });
    this.send(0, 'connection.open', { virtualHost: '/' });
    await this.waitFor('connection.open-ok');
  }

  close(): void {
    this.socket.destroy();
  }
}
