/** Types of guest.mjs (plain JS so the worker thread can load it without a TypeScript loader). */
import type { DirectFilter } from './direct-abi.mjs';

/** A compiled core module (WebAssembly.Module). */
export type WasmModule = object;
/** A linear memory (WebAssembly.Memory). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** What a filter entry may grant: every field closed by default. */
export interface Grants {
  clocks?: boolean;
  random?: boolean;
  stdio?: boolean;
  env?: Record<string, string>;
  preopens?: Record<string, string>;
}

/** A message as posted to a worker (structured-clone friendly). */
export interface WireMessage {
  topic: string;
  payload: Uint8Array;
  key?: Uint8Array;
  headers: Record<string, string | Uint8Array>;
  timestamp: number;
  protocol: string;
  clientId: string;
}

/** 0 pass, [1, reason] drop, [2, topic, payload, headers] transform, [3, why, kind?] error. */
export type WireVerdict =
  | 0
  | [1, string]
  | [2, string | null, string | Uint8Array | null, Record<string, string | Uint8Array> | null]
  | [3, string, 'memory'?];

export interface GuestExports {
  configure(config: string): void;
  filter(batch: unknown[]): unknown[];
}

export interface Guest {
  exports: GuestExports;
  memories: WasmMemory[];
  /** The direct canonical-ABI binding of `filter` (direct-abi.mjs), when the glue exposes it. */
  direct?: DirectFilter;
}

/** jco's `instantiate`: synchronous when every callback is. */
export type Instantiate = (
  getCoreModule: (name: string) => WasmModule,
  imports: object,
  instantiateCore?: (module: WasmModule, imports: object) => object | Promise<object>,
) => GuestExports | Promise<GuestExports>;

export class CapabilityDenied extends Error {
  constructor(iface: string, member: string);
}
export function sandboxImports(grants: Grants | undefined, hostLog?: (level: string, message: string) => void): Promise<object>;
export function needsShim(grants: Grants | undefined): boolean;
export function sandboxImportsWith(
  shim: unknown,
  grants: Grants | undefined,
  hostLog?: (level: string, message: string) => void,
): object;
export function instantiateGuestSync(
  instantiate: Instantiate,
  modules: Record<string, WasmModule>,
  imports: object,
  coreImports?: Record<string, Record<string, unknown>>,
): Guest;
export function instantiateGuest(
  instantiate: Instantiate,
  modules: Record<string, WasmModule>,
  imports: object,
  coreImports?: Record<string, Record<string, unknown>>,
): Promise<Guest>;
export function memoryBytes(memories: WasmMemory[]): number;
export function toWit(wire: WireMessage): unknown;
export function fromWit(v: unknown): WireVerdict;
export function runBatch(guest: Guest, wire: WireMessage[]): WireVerdict[];
