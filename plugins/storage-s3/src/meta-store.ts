/**
 * The MetaStore over S3. Puts, deletes, compare-and-set and batches ride in the same log objects
 * as the appends (one PUT covers both), and are acknowledged once that object is durable; a
 * batch lands in one object, so it is atomic. Reads come from memory (the state holds every key)
 * and see accepted writes at once, so compare-and-set loops in one process make progress; a write
 * whose upload then fails is rolled back and its caller gets the error.
 */
import { type MetaEntry, type MetaStore, StorageError } from '@robustmq/sdk';
import type { S3Engine } from './engine.js';

export class S3MetaStore implements MetaStore {
  constructor(
    private readonly engine: S3Engine,
    private readonly onClose: () => Promise<void>,
  ) {}

  async get(key: string): Promise<Buffer | undefined> {
    this.checkOpen();
    const value = this.engine.pending.meta.get(key);
    return value === undefined ? undefined : Buffer.from(value);
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.engine.checkWritable();
    this.engine.addOp({ t: 'put', k: key, v: value.toString('base64') });
    await this.engine.commit();
  }

  async delete(key: string): Promise<boolean> {
    this.engine.checkWritable();
    if (!this.engine.pending.meta.has(key)) return false;
    this.engine.addOp({ t: 'del', k: key });
    await this.engine.commit();
    return true;
  }

  async scan(prefix: string): Promise<MetaEntry[]> {
    this.checkOpen();
    const out: MetaEntry[] = [];
    for (const [key, value] of this.engine.pending.meta) if (key.startsWith(prefix)) out.push({ key, value: Buffer.from(value) });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Decided against the pending state, so concurrent callers in this process are linearized. */
  async compareAndSet(key: string, expected: Buffer | undefined, next: Buffer | undefined): Promise<boolean> {
    this.engine.checkWritable();
    const current = this.engine.pending.meta.get(key);
    const matches = expected === undefined ? current === undefined : current?.equals(expected) === true;
    if (!matches) return false;
    if (next === undefined) {
      if (current === undefined) return true;
      this.engine.addOp({ t: 'del', k: key });
    } else {
      this.engine.addOp({ t: 'put', k: key, v: next.toString('base64') });
    }
    await this.engine.commit();
    return true;
  }

  async batch(ops: Array<{ key: string; value: Buffer | undefined }>): Promise<void> {
    this.engine.checkWritable();
    if (ops.length === 0) return;
    for (const { key, value } of ops) {
      this.engine.addOp(value === undefined ? { t: 'del', k: key } : { t: 'put', k: key, v: value.toString('base64') });
    }
    await this.engine.commit();
  }

  flush(): Promise<void> {
    return this.engine.flush();
  }

  close(): Promise<void> {
    return this.onClose();
  }

  private checkOpen(): void {
    if (this.engine.isClosed) throw new StorageError('S3 storage is closed', 'closed');
  }
}
