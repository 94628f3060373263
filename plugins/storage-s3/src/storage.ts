/**
 * Opens the S3 engine and hands out the LogStore and MetaStore over it. The engine closes when
 * every store handed out has been closed (or on {@link S3Storage.close}).
 */
import type { LogStore, MetaStore } from '@robustmq/sdk';
import { type EngineDeps, S3Engine } from './engine.js';
import { S3LogStore } from './log-store.js';
import { Maintenance, type MaintenanceReport } from './maintenance.js';
import { S3MetaStore } from './meta-store.js';
import type { S3StorageInput, S3StorageOptions } from './options.js';

export class S3Storage {
  private log: S3LogStore | undefined;
  private meta: S3MetaStore | undefined;
  private open = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly engine: S3Engine,
    private readonly maintenance: Maintenance,
  ) {}

  /** Checks the bucket, recovers the state from it, claims the prefix and starts maintenance. */
  static async open(options: S3StorageInput | S3StorageOptions, deps: EngineDeps): Promise<S3Storage> {
    const engine = await S3Engine.open(options, deps);
    const maintenance = new Maintenance(engine);
    maintenance.start();
    return new S3Storage(engine, maintenance);
  }

  get logStore(): LogStore {
    if (!this.log) {
      this.open++;
      this.log = new S3LogStore(this.engine, () => this.release());
    }
    return this.log;
  }

  get metaStore(): MetaStore {
    if (!this.meta) {
      this.open++;
      this.meta = new S3MetaStore(this.engine, () => this.release());
    }
    return this.meta;
  }

  /** Runs one maintenance pass now (retention, compaction, snapshot, garbage collection). */
  maintain(options?: { snapshot?: boolean }): Promise<MaintenanceReport> {
    return this.maintenance.run(options);
  }

  /** Request counters of the S3 client. */
  get stats() {
    return this.engine.io.stats;
  }

  private async release(): Promise<void> {
    this.open--;
    if (this.open <= 0) await this.close();
    else await this.engine.flush();
  }

  /** Flushes, writes a final snapshot (fast restart) and releases the client. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.maintenance.stop();
      await this.engine.flush();
      if (!this.engine.isFenced && this.engine.durable.seq > this.engine.lastSnapshotSeq) {
        await this.maintenance.run({ snapshot: true, snapshotOnly: true }).catch((err: Error) => {
          this.engine.logger.warn({ err: err.message }, 'final S3 snapshot failed; the next start replays the log');
        });
      }
      await this.engine.close();
    })();
    return this.closing;
  }
}
