/**
 * Watches the raw byte stream for packet boundaries so an oversized packet is refused from its
 * fixed header, before the parser buffers its body (§3.1.2.11.4: Maximum Packet Size).
 */
export class FrameGuard {
  /** Body bytes of the current packet still to skip. */
  private remaining = 0;
  /** 0 = expecting a first header byte, 1..4 = reading remaining-length byte n. */
  private lenBytes = -1;
  private len = 0;
  private mul = 1;

  constructor(private readonly maxPacketSize: number) {}

  /** Returns 'too-large' when a packet header in `chunk` announces a packet above the limit. */
  check(chunk: Buffer): 'ok' | 'too-large' | 'bad-length' {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      const b = chunk[i++];
      if (this.lenBytes === -1) {
        this.lenBytes = 0;
        this.len = 0;
        this.mul = 1;
        continue;
      }
      this.len += (b & 0x7f) * this.mul;
      this.mul *= 128;
      this.lenBytes++;
      if (b & 0x80) {
        if (this.lenBytes >= 4) return 'bad-length';
        continue;
      }
      // Total size = 1 fixed-header byte + length bytes + body.
      if (1 + this.lenBytes + this.len > this.maxPacketSize) return 'too-large';
      this.remaining = this.len;
      this.lenBytes = -1;
    }
    return 'ok';
  }
}
