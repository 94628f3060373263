import { z } from 'zod';

/** WASI capabilities a filter entry may grant. A filter gets none of them unless listed. */
export const grantsSchema = z
  .strictObject({
    /** wasi:clocks (wall clock, monotonic clock). */
    clocks: z.boolean().default(false),
    /** wasi:random. */
    random: z.boolean().default(false),
    /** wasi:cli stdout/stderr, written to the broker's log. */
    stdio: z.boolean().default(false),
    /** Environment variables the filter sees (never the broker's own). */
    env: z.record(z.string(), z.string()).default({}),
    /** Directories the filter may open: guest path → host path. */
    preopens: z.record(z.string(), z.string()).default({}),
  })
  .default({ clocks: false, random: false, stdio: false, env: {}, preopens: {} });

/**
 * One entry of the top-level `filters:` config list: a WebAssembly component (`wasm`) or a
 * TypeScript/JavaScript module (`module`) run as a `filter` hook on the messages whose topic
 * matches one of `topics`.
 */
export const filterEntrySchema = z
  .strictObject({
    /** Path of the .wasm component (relative to the working directory), or the name of a registry.json filter entry. */
    wasm: z.string().min(1).optional(),
    /** Path of a TS/JS module exporting `filter(message)` (and optionally `configure(config)`): the TS-native path. */
    module: z.string().min(1).optional(),
    /** Name in logs and metrics; defaults to the registry name or the file name. */
    name: z.string().min(1).optional(),
    /** sha256 the wasm file must have, for artifacts not listed in registry.json. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits')
      .optional(),
    /** MQTT-style topic filters (`+`, `#`) the filter applies to; other messages bypass it. */
    topics: z.array(z.string().min(1)).min(1).default(['#']),
    /** String passed to the filter's `configure` export once at load. */
    config: z.string().default(''),
    /** What happens to messages whose filter call fails (trap, time or memory budget, crash). */
    failurePolicy: z.enum(['pass', 'drop']).default('pass'),
    /**
     * Longest one call may run before the filter is stopped (fuel check in-thread, watchdog in a
     * worker), ms. Default 250 for a WASM filter in the broker's thread (which waits meanwhile),
     * 1000 otherwise (a worker, or a TypeScript filter's asynchronous answer).
     */
    timeBudgetMs: z.number().positive().optional(),
    /** Largest linear memory the filter may grow to (MiB). */
    memoryBudgetMb: z.number().positive().default(64),
    /** Most messages in one call into the filter. */
    batchSize: z.number().int().min(1).max(10_000).default(64),
    /** How long a batch waits to fill (ms); 0 flushes at the end of the current event-loop turn. */
    batchDelayMs: z.number().min(0).max(1000).default(0),
    /** Messages waiting for the filter beyond which new ones get the failure policy at once. */
    maxPending: z.number().int().min(1).default(10_000),
    /**
     * `in-thread` (default): one synchronous call per message in the broker's thread, the guest
     * fuel-metered so that a call past `timeBudgetMs` is stopped (the broker's thread is held until
     * then). `in-thread-batched`: the same, batched per event-loop turn (each publish waits for the
     * end of the turn). `worker`: a worker thread with a watchdog, batched; slower (one thread hop
     * per batch) but a slow or runaway filter never holds the broker's thread.
     */
    isolation: z.enum(['worker', 'in-thread', 'in-thread-batched']).default('in-thread'),
    /** WASI capabilities granted to the filter (default none). */
    grants: grantsSchema,
  })
  .refine((e) => (e.wasm === undefined) !== (e.module === undefined), {
    message: 'give exactly one of wasm (a component) or module (a TypeScript filter)',
  })
  .transform((e) => ({
    ...e,
    timeBudgetMs: e.timeBudgetMs ?? (e.wasm !== undefined && e.isolation !== 'worker' ? 250 : 1000),
  }));

/** A filter entry with defaults applied. */
export type FilterEntry = z.output<typeof filterEntrySchema>;
/** A filter entry as written in config. */
export type FilterEntryInput = z.input<typeof filterEntrySchema>;
