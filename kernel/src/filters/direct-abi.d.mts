/** Types of direct-abi.mjs. */
import type { WireMessage, WireVerdict } from './guest.mjs';

/** What patched jco glue exposes as `__coreFilter`: the core function and its canonical options. */
export interface CoreFilter {
  call(list: number, count: number): number;
  realloc(oldPtr: number, oldSize: number, align: number, newSize: number): number;
  memory: { readonly buffer: ArrayBuffer };
  postReturn?(ret: number): void;
}

export function bindCoreFilter(core: CoreFilter | undefined): ((wire: WireMessage[]) => WireVerdict[]) | undefined;
