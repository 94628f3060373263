// The committed .wasm builds are what their sources build to. componentize output is not
// byte-reproducible (the QuickJS snapshot differs run to run), so the rebuilt component must give
// the same verdicts as the committed one; the repository registry must pin the committed bytes.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@robustmq/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFilters } from '../../src/filters/index.js';
import { KernelHookBus } from '../../src/hooks/index.js';
import { PromMetrics } from '../../src/metrics.js';
import { type Built, buildAll, buildAssemblyScript, committedBuilds, repoRoot, standardSpecs } from './build.js';
import { captureLogger, msg, writeRegistry } from './helpers.js';

const EXAMPLES = ['drop-debug', 'route-by-field', 'redact'];
let tmp: string;
let rebuilt: Record<string, Built>;
let committed: Record<string, Built>;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'robustmq-rebuild-'));
  committed = await committedBuilds();
  const specs = (await standardSpecs(tmp)).filter((s) => EXAMPLES.includes(s.name));
  rebuilt = await buildAll(specs, join(tmp, 'out'));
}, 180_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const samples: Message[] = [
  msg('t/1', { level: 'debug', site: 'a', password: 'x' }),
  msg('t/2', { level: 'info', site: 'b/c', nested: { password: 'y' } }),
  msg('t/3', 'not json'),
  msg('t/4', { route: 7 }),
];

async function verdicts(name: string, build: Built): Promise<unknown[]> {
  const logger = captureLogger();
  const metrics = new PromMetrics();
  const hooks = new KernelHookBus({ logger, metrics });
  const installed = await installFilters([{ wasm: build.path, sha256: build.sha256, name, timeBudgetMs: 5_000 }], {
    hooks,
    logger,
    metrics,
    registryPath: await writeRegistry(tmp, []),
    cacheDir: join(tmp, 'cache'),
  });
  try {
    const out = [];
    for (const m of samples) {
      const o = await hooks.filter(m);
      out.push(o.verdict === 'pass' ? { topic: o.message.topic, payload: o.message.payload.toString() } : o);
    }
    return out;
  } finally {
    await installed.stop();
  }
}

describe('committed example builds', () => {
  it.each(EXAMPLES)('%s: the rebuilt component decides like the committed one', async (name) => {
    expect(await verdicts(name, rebuilt[name])).toEqual(await verdicts(name, committed[name]));
  });

  it('drop-debug-as: the AssemblyScript build is reproducible byte for byte', async () => {
    const fresh = await buildAssemblyScript(join(tmp, 'as'));
    expect(fresh.sha256).toBe(committed['drop-debug-as'].sha256);
  });

  it('registry.json pins the committed bytes of every example', async () => {
    const registry = JSON.parse(await readFile(join(repoRoot, 'registry.json'), 'utf8')) as {
      plugins: Array<{ name: string; kind: string; wasm?: string; sha256?: string }>;
    };
    for (const name of [...EXAMPLES, 'drop-debug-as']) {
      const entry = registry.plugins.find((p) => p.name === `filter-${name}`);
      expect(entry?.kind).toBe('filter');
      const bytes = await readFile(join(repoRoot, entry!.wasm!));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry!.sha256);
    }
  });
});
