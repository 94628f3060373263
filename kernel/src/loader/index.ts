export * from './deadline.js';
export * from './errors.js';
export * from './host.js';
export * from './plan.js';
export * from './registry.js';
export * from './resolve.js';
export { ScopedHookBus } from './scoped-hooks.js';
export type { KernelServices } from './context.js';
export * from './prepare.js';
