// Routes a message by a field of its JSON payload: with config {"field":"site","prefix":"sites"},
// {"site":"paris",...} published on any topic goes to `sites/paris`. Messages without the field
// (or not JSON) pass unchanged.
import { defineFilter, json, pass, transform } from '@robustmq/sdk/filter-kit';

let field = 'route';
let prefix = 'routed';

export const { configure, filter } = defineFilter({
  configure(config) {
    if (!config) return;
    const parsed = JSON.parse(config) as { field?: string; prefix?: string };
    if (parsed.field) field = parsed.field;
    if (parsed.prefix) prefix = parsed.prefix;
  },
  decide(message) {
    const value = json<Record<string, unknown>>(message)?.[field];
    if (typeof value !== 'string' && typeof value !== 'number') return pass();
    // A value cannot add levels or wildcards to the topic.
    const segment = String(value).replace(/[/+#]/g, '_');
    return transform({ topic: `${prefix}/${segment}` });
  },
});
