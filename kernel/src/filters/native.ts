import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FilterVerdict, MaybePromise, Message } from '@robustmq/sdk';

/**
 * What a TypeScript-native filter module exports (`module:` in a filter entry): `filter`, and
 * optionally `configure`, either as named exports or on a default export object. It runs in the
 * broker's thread with the broker's privileges — no sandbox, no time budget — so it suits
 * trusted code; the same hook, topics and failure policy apply.
 */
export interface NativeFilter {
  /** Receives the entry's `config` string once at load. */
  configure?(config: string): MaybePromise<void>;
  filter(message: Message): MaybePromise<FilterVerdict>;
}

/** Imports a native filter module and checks its shape. */
export async function loadNativeFilter(path: string): Promise<NativeFilter> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as Partial<NativeFilter> & { default?: Partial<NativeFilter> };
  const candidate = typeof mod.filter === 'function' ? mod : mod.default;
  if (!candidate || typeof candidate.filter !== 'function') {
    throw new Error(`filter module ${path} exports no filter(message) function (named or on its default export)`);
  }
  return candidate as NativeFilter;
}
