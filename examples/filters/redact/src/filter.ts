// Replaces the values of the listed JSON fields (at any depth) with "***".
// config: comma-separated field names (default "password").
import { defineFilter, json, pass, transform } from '@robustmq/sdk/filter-kit';

let fields = new Set(['password']);

function redact(value: unknown): boolean {
  let changed = false;
  if (Array.isArray(value)) {
    for (const item of value) changed = redact(item) || changed;
  } else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (fields.has(key)) {
        obj[key] = '***';
        changed = true;
      } else {
        changed = redact(obj[key]) || changed;
      }
    }
  }
  return changed;
}

export const { configure, filter } = defineFilter({
  configure(config) {
    const wanted = config
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (wanted.length > 0) fields = new Set(wanted);
  },
  decide(message) {
    const body = json(message);
    if (body === undefined || !redact(body)) return pass();
    return transform({ payload: JSON.stringify(body) });
  },
});
