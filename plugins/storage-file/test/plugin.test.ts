import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { startTestBroker } from '@robustmq/kernel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plugin, { FileLogStore, FileMetaStore } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('storage-file as the broker storage plugin', () => {
  let tmp: { dir: string; remove(): Promise<void> };
  beforeEach(async () => {
    tmp = await tempDir();
  });
  afterEach(async () => {
    await tmp.remove();
  });

  const start = (options: Record<string, unknown> = {}) =>
    startTestBroker({
      env: {},
      config: {
        dataDir: tmp.dir,
        storage: 'storage-file',
        admin: { enabled: false },
        log: { level: 'error' },
        plugins: { 'protocol-mqtt': { enabled: false }, 'storage-file': { options } },
      },
    });

  it('declares itself as a storage plugin with defaulted options', () => {
    expect(plugin).toMatchObject({ name: 'storage-file', kind: 'storage', version: '0.1.0', kernelApi: '^1' });
    expect(plugin.configSchema.parse({})).toMatchObject({ fsync: 'always', segmentBytes: 64 * 1024 * 1024 });
  });

  it('provides both stores under dataDir, keeps data across a broker restart and releases the lock on stop', async () => {
    const broker = await start();
    expect(broker.logStore).toBeInstanceOf(FileLogStore);
    expect(broker.metaStore).toBeInstanceOf(FileMetaStore);
    expect(existsSync(path.join(tmp.dir, '.lock'))).toBe(true);
    await broker.logStore.createTopic('restart');
    await broker.logStore.append({ topic: 'restart', partition: 0 }, [{ value: Buffer.from('kept') }]);
    await broker.metaStore.put('mqtt/session/c1', Buffer.from('session'));
    const metrics = await broker.metrics.render();
    expect(metrics).toMatch(/robustmq_storage_fsync_seconds_count [1-9]/);
    expect(metrics).toMatch(/robustmq_storage_written_bytes_total [1-9]/);
    await broker.stop();
    expect(existsSync(path.join(tmp.dir, '.lock'))).toBe(false);

    const again = await start();
    const [record] = await again.logStore.read({ topic: 'restart', partition: 0 }, 0, 10);
    expect(record.value?.toString()).toBe('kept');
    expect((await again.metaStore.get('mqtt/session/c1'))?.toString()).toBe('session');
    await again.stop();
  });

  it('honours options.dir and refuses a second broker on the same directory with its pid', async () => {
    const dir = path.join(tmp.dir, 'custom');
    const broker = await start({ dir });
    expect(existsSync(path.join(dir, 'logs'))).toBe(true);
    const err = await start({ dir }).then(
      () => new Error('second broker started'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain(dir);
    expect(err.message).toContain(`pid ${process.pid}`);
    await broker.stop();
  });
});
