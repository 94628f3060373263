import { type MetaEntry, type MetaStore, StorageError } from '@robustmq/sdk';

/** The entries of a {@link MemoryMetaStore}; pass them to a new store to simulate a restart in tests. */
export type MemoryMetaData = Map<string, Buffer>;

/**
 * A {@link MetaStore} held in memory. Values are copied in and out so callers never alias stored
 * bytes. Each operation completes synchronously inside its promise, which makes compareAndSet and
 * batch atomic.
 */
export class MemoryMetaStore implements MetaStore {
  /** The backing entries; share them with another instance to reopen over the same data. */
  readonly data: MemoryMetaData;
  private closed = false;

  constructor(options: { data?: MemoryMetaData } = {}) {
    this.data = options.data ?? new Map();
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.checkOpen();
    const value = this.data.get(key);
    return value === undefined ? undefined : Buffer.from(value);
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.checkOpen();
    checkEntry(key, value);
    this.data.set(key, Buffer.from(value));
  }

  async delete(key: string): Promise<boolean> {
    this.checkOpen();
    return this.data.delete(key);
  }

  async scan(prefix: string): Promise<MetaEntry[]> {
    this.checkOpen();
    const keys: string[] = [];
    for (const key of this.data.keys()) if (key.startsWith(prefix)) keys.push(key);
    keys.sort();
    return keys.map((key) => ({ key, value: Buffer.from(this.data.get(key)!) }));
  }

  async compareAndSet(key: string, expected: Buffer | undefined, next: Buffer | undefined): Promise<boolean> {
    this.checkOpen();
    checkEntry(key, next);
    const current = this.data.get(key);
    const matches = current === undefined || expected === undefined ? current === expected : current.equals(expected);
    if (!matches) return false;
    if (next === undefined) this.data.delete(key);
    else this.data.set(key, Buffer.from(next));
    return true;
  }

  async batch(ops: Array<{ key: string; value: Buffer | undefined }>): Promise<void> {
    this.checkOpen();
    // Validate everything first so a bad op leaves the store untouched.
    for (const op of ops) checkEntry(op.key, op.value);
    for (const { key, value } of ops) {
      if (value === undefined) this.data.delete(key);
      else this.data.set(key, Buffer.from(value));
    }
  }

  async flush(): Promise<void> {
    this.checkOpen();
  }

  /** Refuses further calls; the data stays available to a store opened over {@link data}. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('memory meta store is closed', 'closed');
  }
}

function checkEntry(key: string, value: Buffer | undefined): void {
  if (typeof key !== 'string') throw new TypeError(`meta key must be a string, got ${typeof key}`);
  if (value !== undefined && !Buffer.isBuffer(value)) throw new TypeError(`value of meta key ${key} must be a Buffer`);
}
