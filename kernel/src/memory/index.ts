export { type MemoryLogData, MemoryLogStore } from './log-store.js';
export { type MemoryMetaData, MemoryMetaStore } from './meta-store.js';
