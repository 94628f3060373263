/**
 * Reusable memory that appends are encoded into before they are written.
 *
 * Encoding each append into a freshly allocated buffer costs more than the copy itself (new memory
 * is page-faulted and zeroed by the kernel, then collected), so a write round encodes each batch
 * into a buffer leased from a pool shared by all partitions and gives it back once the round's
 * write has completed. Buffers come in power-of-two size classes, so memory held by rounds in
 * flight stays under twice their bytes however many partitions write at once, and the pool keeps
 * only a few idle buffers per class. The store's bytes never alias a caller's buffers: a caller may
 * reuse its buffers as soon as the append promise settles.
 */

/** Batches below this size use Node's own small-buffer pool (already cheap). */
export const STAGING_MIN_BYTES = 4096;
/** Batches above this size get memory of their own. */
export const STAGING_MAX_BYTES = 1 << 20;

/** Pool of staging buffers by size class; keeps at most `maxIdle` idle buffers per class. */
export class StagingPool {
  private readonly free = new Map<number, Buffer[]>();

  constructor(
    readonly maxBytes = STAGING_MAX_BYTES,
    private readonly maxIdle = 4,
  ) {}

  /** A stage for one write round; call {@link Stage.release} once the round's write completed. */
  acquire(): Stage {
    return new Stage(this);
  }

  /** @internal A buffer of exactly `capacity` bytes (a size class). */
  get(capacity: number): Buffer {
    return this.free.get(capacity)?.pop() ?? Buffer.allocUnsafeSlow(capacity);
  }

  /** @internal */
  put(buf: Buffer): void {
    let list = this.free.get(buf.length);
    if (!list) {
      list = [];
      this.free.set(buf.length, list);
    }
    if (list.length < this.maxIdle) list.push(buf);
  }

  /** Idle buffers held, all classes (tests). */
  get idle(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }
}

/** The staging memory of one write round. */
export class Stage {
  private readonly leased: Buffer[] = [];

  constructor(private readonly pool: StagingPool) {}

  /** Returns `size` bytes of memory owned by this round until {@link release}. */
  take(size: number): Buffer {
    if (size < STAGING_MIN_BYTES || size > this.pool.maxBytes) return Buffer.allocUnsafe(size);
    let capacity = STAGING_MIN_BYTES;
    while (capacity < size) capacity *= 2;
    const buf = this.pool.get(capacity);
    this.leased.push(buf);
    return buf.subarray(0, size);
  }

  /** Gives the buffers back; nothing taken from this stage may be used afterwards. */
  release(): void {
    for (const buf of this.leased.splice(0)) this.pool.put(buf);
  }
}
