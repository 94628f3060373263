/**
 * The few WebAssembly JS API members this module uses, typed locally: the project compiles
 * without the DOM lib, where the global `WebAssembly` namespace is declared.
 */

/** A compiled core module (`WebAssembly.Module`); structured-cloneable to worker threads. */
export type WasmModule = object;

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
}

export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
