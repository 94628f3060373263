import type { Config } from '../config/schema.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { isStartupError, StartupError } from './errors.js';
import type { ResolvedPlan } from './host.js';
import { planPlugins } from './plan.js';
import { readRegistry, type Registry } from './registry.js';
import { resolvePlugin } from './resolve.js';

/** Where the configuration and the registry come from. */
export interface PrepareOptions {
  configPath?: string;
  config?: unknown;
  env?: Record<string, string | undefined>;
  registryPath?: string;
}

/** Everything checked before any plugin runs. */
export interface Prepared {
  registry: Registry;
  loaded: LoadedConfig;
  config: Config;
  plan: ResolvedPlan;
}

/**
 * Reads the registry and the configuration, decides which plugins run, imports and checks each of
 * them. Collects the refusals of every plugin so one run shows all that needs fixing, and throws
 * them as one {@link StartupError} (one line each).
 */
export async function prepare(options: PrepareOptions = {}): Promise<Prepared> {
  const registry = await readRegistry(options.registryPath);
  const loaded = await loadConfig({
    configPath: options.configPath,
    config: options.config,
    env: options.env,
    plugins: registry.entries,
  });
  const plan = planPlugins(loaded.config, registry);
  const lines: string[] = [];
  const resolve = async (entry: (typeof registry.entries)[number]) => {
    try {
      return await resolvePlugin(registry, entry, loaded);
    } catch (err) {
      if (!isStartupError(err)) throw err;
      lines.push(...err.lines);
      return undefined;
    }
  };
  const storage = plan.storage ? await resolve(plan.storage) : undefined;
  const others = [];
  for (const entry of plan.others) {
    const r = await resolve(entry);
    if (r) others.push(r);
  }
  if (lines.length) throw new StartupError(lines);
  return { registry, loaded, config: loaded.config, plan: { storage, others } };
}
