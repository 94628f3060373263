/**
 * Reusable memory that appends are encoded into before they are written.
 *
 * Encoding each append into a freshly allocated buffer costs more than the copy itself (new memory
 * is page-faulted and zeroed by the kernel, then collected), so a partition's write round encodes
 * into chunks leased from a pool shared by all partitions and returns them once the round's write
 * has completed. The store's bytes never alias a caller's buffers: a caller may reuse its buffers
 * as soon as the append promise settles (in fact as soon as its round was encoded).
 */

/** Default chunk size: a round larger than this spreads over several chunks. */
export const STAGING_CHUNK_BYTES = 1 << 20;

/** Pool of staging chunks; keeps at most `maxFree` idle chunks, so memory stays bounded. */
export class StagingPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly chunkBytes = STAGING_CHUNK_BYTES,
    private readonly maxFree = 8,
  ) {}

  /** A stage for one write round; call {@link Stage.release} once the round's write completed. */
  acquire(): Stage {
    return new Stage(this);
  }

  /** @internal */
  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  /** @internal */
  put(chunk: Buffer): void {
    if (this.free.length < this.maxFree) this.free.push(chunk);
  }

  /** Idle chunks held (tests). */
  get idle(): number {
    return this.free.length;
  }
}

/** The staging memory of one write round. */
export class Stage {
  private chunk: Buffer | undefined;
  private used = 0;
  private readonly chunks: Buffer[] = [];

  constructor(private readonly pool: StagingPool) {}

  /**
   * Returns `size` bytes of memory owned by this round until {@link release}. A batch larger than
   * a chunk gets memory of its own.
   */
  take(size: number): Buffer {
    if (size > this.pool.chunkBytes) return Buffer.allocUnsafe(size);
    if (this.chunk === undefined || this.used + size > this.chunk.length) {
      this.chunk = this.pool.get();
      this.chunks.push(this.chunk);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + size);
    this.used += size;
    return out;
  }

  /** Gives the chunks back; nothing taken from this stage may be used afterwards. */
  release(): void {
    for (const chunk of this.chunks.splice(0)) this.pool.put(chunk);
    this.chunk = undefined;
    this.used = 0;
  }
}
