// Drops messages whose JSON payload has a `level` listed in the config (default: "debug").
// config: comma-separated levels, e.g. "debug,trace".
import { defineFilter, drop, json, pass } from '@robustmq/sdk/filter-kit';

let levels = new Set(['debug']);

export const { configure, filter } = defineFilter({
  configure(config) {
    const wanted = config
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (wanted.length > 0) levels = new Set(wanted);
  },
  decide(message) {
    const level = json<{ level?: unknown }>(message)?.level;
    return typeof level === 'string' && levels.has(level) ? drop(`level=${level}`) : pass();
  },
});
