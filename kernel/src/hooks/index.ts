export { type CallResult, callHandler, type HandlerFailure } from './call.js';
export { type HandlerEntry, HandlerTable } from './handler-table.js';
export { KernelHookBus, type KernelHookBusOptions, type NotificationName } from './bus.js';
