// startTestBroker runs only the plugins a test names, whatever the registry enables by default.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestBroker } from '../src/testing.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;

describe('startTestBroker', () => {
  it('disables registry-default plugins the config does not name and uses memory storage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'robustmq-testing-'));
    const registryPath = join(dir, 'registry.json');
    const entry = (name: string, isDefault: boolean) => ({
      name,
      kind: 'extension',
      version: '0.1.0',
      kernelApi: '^1',
      entry: join(fixtures, 'plugins/hello/index.ts'),
      default: isDefault,
    });
    await writeFile(registryPath, JSON.stringify({ plugins: [entry('hello', true)] }));
    try {
      const quiet = await startTestBroker({ registryPath });
      expect(quiet.plugins().map((p) => p.name)).toEqual([]);
      expect(quiet.config.storage).toBe('memory');
      expect(quiet.adminPort).toBeUndefined();
      await quiet.stop();

      const named = await startTestBroker({ registryPath, config: { plugins: { hello: {} } } });
      expect(named.plugins().map((p) => p.name)).toEqual(['hello']);
      await named.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
