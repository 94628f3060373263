/** Types of direct-abi.mjs. */
import type { Message } from '@robustmq/sdk';
import type { WireMessage, WireVerdict } from './guest.mjs';

/** What patched jco glue exposes as `__coreFilter`: the core function and its canonical options. */
export interface CoreFilter {
  call(list: number, count: number): number;
  realloc(oldPtr: number, oldSize: number, align: number, newSize: number): number;
  memory: { readonly buffer: ArrayBuffer };
  postReturn?(ret: number): void;
}

/** The bound `filter`: a batch of wire messages, or (`one`) a single broker message. */
export interface DirectFilter {
  (wire: WireMessage[]): WireVerdict[];
  one(message: Message): WireVerdict;
  /** Current size of the guest's memory in bytes. */
  memoryBytes(): number;
}

export function bindCoreFilter(core: CoreFilter | undefined): DirectFilter | undefined;
