const EMPTY = Buffer.alloc(0);

/**
 * Total size (fixed header included) of the packet that starts at `pos`, or -1 while its
 * remaining-length bytes are not all there (a malformed length also gives -1: the frame guard and
 * mqtt-packet report those).
 */
export function packetSize(buf: Buffer, pos: number): number {
  let len = 0;
  let mul = 1;
  for (let i = pos + 1, n = 0; n < 4 && i < buf.length; n++, i++) {
    const b = buf[i];
    len += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return i + 1 - pos + len;
  }
  return -1;
}

/**
 * The bytes of one packet that a socket read cut in two, gathered until it is complete, so the
 * fast decoder keeps working across reads (instead of handing every later read to mqtt-packet,
 * which copies each payload into its buffer list). Only the cut packet is copied.
 */
export class PartialPacket {
  private pieces: Buffer[] = [];
  private have = 0;
  private size = -1;

  get empty(): boolean {
    return this.have === 0;
  }

  /** Starts with the incomplete tail of a read. */
  start(tail: Buffer): void {
    this.pieces = [tail];
    this.have = tail.length;
    this.size = packetSize(tail, 0);
  }

  /**
   * Adds the next read: returns the completed packet (if it is now complete) and the bytes of the
   * read after it.
   */
  take(chunk: Buffer): { packet?: Buffer; rest: Buffer } {
    if (this.size < 0) {
      const all = Buffer.concat([...this.pieces, chunk]);
      this.start(all);
      if (this.size < 0 || all.length < this.size) return { rest: EMPTY };
      const size = this.size;
      this.clear();
      return { packet: all.subarray(0, size), rest: all.subarray(size) };
    }
    const need = this.size - this.have;
    if (chunk.length < need) {
      this.pieces.push(chunk);
      this.have += chunk.length;
      return { rest: EMPTY };
    }
    this.pieces.push(chunk.subarray(0, need));
    const packet = Buffer.concat(this.pieces, this.size);
    this.clear();
    return { packet, rest: chunk.subarray(need) };
  }

  clear(): void {
    this.pieces = [];
    this.have = 0;
    this.size = -1;
  }
}
