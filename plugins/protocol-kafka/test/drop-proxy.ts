/**
 * A TCP proxy in front of the broker that can swallow the response to a Produce request and cut
 * the connection, the way a network failure after the append looks to a client.
 */
import net from 'node:net';

/** Splits length-prefixed Kafka frames out of a byte stream. */
class Frames {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
      const size = this.buf.readInt32BE(0);
      out.push(this.buf.subarray(0, 4 + size));
      this.buf = this.buf.subarray(4 + size);
    }
    return out;
  }
}

export class DropProxy {
  /** Produce responses still to swallow (each one closes its connection). */
  dropProduceResponses = 0;
  dropped = 0;
  private server = net.createServer((client) => this.pipe(client));
  private sockets = new Set<net.Socket>();
  port = 0;
  target = 0;

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private pipe(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const produceIds = new Set<number>();
    const fromClient = new Frames();
    const fromServer = new Frames();
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      for (const f of fromClient.push(chunk)) {
        if (f.readInt16BE(4) === 0) produceIds.add(f.readInt32BE(8));
        upstream.write(f);
      }
    });
    upstream.on('data', (chunk) => {
      for (const f of fromServer.push(chunk)) {
        const id = f.readInt32BE(4);
        if (produceIds.has(id) && this.dropProduceResponses > 0) {
          this.dropProduceResponses--;
          this.dropped++;
          close();
          return;
        }
        client.write(f);
      }
    });
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
