/**
 * Conformance kits for storage plugin authors (vitest): run them against your store from a test
 * file, e.g. `describeLogStore('file', async () => ({ store, cleanup, reopen }))`.
 */
export { type StoreFactory, type StoreHarness, StoreUnderTest } from './harness.js';
export { describeLogStore } from './log-store-kit.js';
export { describeMetaStore } from './meta-store-kit.js';
