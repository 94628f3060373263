/**
 * Rule filters: WebAssembly components (robustmq:filter world, sdk/wit/filter.wit) and
 * TypeScript modules run as `filter` hooks. See sdk/docs/wasm-filters.md.
 */
export { type FailureKind, FilterFailure } from './failure.js';
export { FilterLoadError, type InstalledFilters, type InstallFiltersDeps, installFilters } from './install.js';
export { capMemory, MemoryBudgetError, pagesFor } from './memory-limit.js';
export { FilterMetricNames } from './metrics.js';
export type { NativeFilter } from './native.js';
export { type FilterEntry, type FilterEntryInput, filterEntrySchema, grantsSchema } from './schema.js';
export { topicMatches } from './topic-match.js';
