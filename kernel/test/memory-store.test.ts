import { describeLogStore, describeMetaStore } from '@robustmq/sdk/testing';
import { MemoryLogStore, MemoryMetaStore } from '../src/memory/index.js';

// Fresh stores per test; reopen builds a new instance over the same backing maps (a simulated restart).
describeLogStore('memory', async () => {
  const store = new MemoryLogStore();
  return { store, reopen: async () => new MemoryLogStore({ data: store.data }) };
});

describeMetaStore('memory', async () => {
  const store = new MemoryMetaStore();
  return { store, reopen: async () => new MemoryMetaStore({ data: store.data }) };
});
