import type { PluginKind } from '@robustmq/sdk';
import type { Config } from '../config/schema.js';
import { closest } from '../config/issues.js';
import { StartupError, pluginRefusal } from './errors.js';
import type { Registry, RegistryEntry } from './registry.js';

/** Kinds start in this order (after storage), so authenticators and filters exist before listeners open. */
export const KIND_ORDER: readonly PluginKind[] = ['auth', 'filter', 'extension', 'protocol'];

/** Which plugins run, in start order. */
export interface PluginPlan {
  /** The selected storage plugin; undefined when `storage: memory`. */
  storage?: RegistryEntry;
  /** Every other enabled plugin, in start order. */
  others: RegistryEntry[];
}

/**
 * Whether the config enables a plugin: storage plugins only when `storage` names them (or when
 * explicitly enabled, which {@link planPlugins} refuses if another is selected); others per
 * `plugins.<name>.enabled`, else the registry's `default`.
 */
export function isEnabledByConfig(entry: RegistryEntry, config: Config): boolean {
  const enabled = config.plugins[entry.name]?.enabled;
  if (entry.kind === 'storage') return config.storage === entry.name ? enabled !== false : enabled === true;
  return enabled ?? entry.default;
}

function envHint(entry: RegistryEntry | undefined, suffix: string): string {
  return entry?.envPrefix ? ` (or ROBUSTMQ_${entry.envPrefix}_${suffix})` : '';
}

/** Decides which plugins run; refuses unknown names and anything but exactly one storage choice. */
export function planPlugins(config: Config, registry: Registry): PluginPlan {
  const byName = new Map(registry.entries.map((e) => [e.name, e]));
  const names = registry.entries.map((e) => e.name);
  const storageNames = registry.entries.filter((e) => e.kind === 'storage').map((e) => e.name);
  const lines: string[] = [];

  for (const name of Object.keys(config.plugins)) {
    if (byName.has(name)) continue;
    const near = closest(name, names);
    lines.push(
      pluginRefusal(
        name,
        `plugins.${name}`,
        `unknown plugin, not in the registry ${registry.path}`,
        `remove plugins.${name} from the config or correct the name${near ? ` (did you mean ${near}?)` : ''}; known plugins: ${names.join(', ')}`,
      ),
    );
  }

  let storage: RegistryEntry | undefined;
  if (config.storage !== 'memory') {
    const chosen = byName.get(config.storage);
    if (chosen?.kind !== 'storage') {
      const what = chosen ? `a ${chosen.kind} plugin, not a storage plugin` : 'not a plugin in the registry';
      lines.push(
        `config: storage: "${config.storage}" is ${what}; fix: set storage (or ROBUSTMQ_STORAGE) to memory or one of ${storageNames.join(', ') || '(no storage plugins registered)'}`,
      );
    } else if (config.plugins[chosen.name]?.enabled === false) {
      lines.push(
        pluginRefusal(
          chosen.name,
          'enabled',
          `storage selects ${chosen.name} but plugins.${chosen.name}.enabled is false`,
          `remove plugins.${chosen.name}.enabled${envHint(chosen, 'ENABLED')}, or set storage (or ROBUSTMQ_STORAGE) to another storage plugin or memory`,
        ),
      );
    } else storage = chosen;
  }
  for (const entry of registry.entries) {
    if (entry.kind !== 'storage' || entry.name === config.storage || config.plugins[entry.name]?.enabled !== true) continue;
    lines.push(
      pluginRefusal(
        entry.name,
        'enabled',
        `a second storage plugin is enabled while storage is ${config.storage} (at most one storage plugin runs)`,
        `set storage (or ROBUSTMQ_STORAGE) to ${entry.name} to use it instead, and remove plugins.${entry.name}.enabled${envHint(entry, 'ENABLED')}`,
      ),
    );
  }
  if (lines.length) throw new StartupError(lines);

  const others = registry.entries
    .filter((e) => e.kind !== 'storage' && isEnabledByConfig(e, config))
    .map((e, index) => ({ e, index }))
    .sort((a, b) => KIND_ORDER.indexOf(a.e.kind) - KIND_ORDER.indexOf(b.e.kind) || a.index - b.index)
    .map(({ e }) => e);
  return { storage, others };
}
