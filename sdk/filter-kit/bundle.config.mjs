// Rolldown settings merged into jco's bundle: lets filter sources import the guest helpers as
// `@robustmq/filter-kit` wherever the filter's folder lives.
import { fileURLToPath } from 'node:url';

export default {
  resolve: { alias: { '@robustmq/sdk/filter-kit': fileURLToPath(new URL('./guest.ts', import.meta.url)) } },
};
