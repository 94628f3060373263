// A RobustMQ rule filter. `npm run build` turns this file into build/filter.wasm.
// The broker calls `decide` for every message published on the topics in its config entry.
import { defineFilter, drop, json, pass, transform } from '@robustmq/sdk/filter-kit';

let blockedWord = 'forbidden';

export const { configure, filter } = defineFilter({
  // `config:` of the broker's filter entry, verbatim (here: the word to block).
  configure(config) {
    if (config) blockedWord = config;
  },
  decide(message) {
    const body = json<{ text?: string }>(message);
    if (body?.text?.includes(blockedWord)) return drop(`contains "${blockedWord}"`);
    if (message.topic.startsWith('raw/')) return transform({ topic: `clean/${message.topic.slice(4)}` });
    return pass();
  },
});
