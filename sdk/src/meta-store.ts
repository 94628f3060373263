/**
 * The metadata key-value contract: sessions, group offsets, retained index, AMQP topology, users.
 * Keys are `/`-separated strings (`mqtt/session/<clientId>`); values are bytes.
 */
export interface MetaEntry {
  key: string;
  value: Buffer;
}

export interface MetaStore {
  get(key: string): Promise<Buffer | undefined>;
  /** Resolves once the write is durable under the store's policy. */
  put(key: string, value: Buffer): Promise<void>;
  /** Returns false when the key did not exist. */
  delete(key: string): Promise<boolean>;
  /** Entries whose key starts with `prefix`, in ascending key order. */
  scan(prefix: string): Promise<MetaEntry[]>;
  /**
   * Atomically replaces the value when the current one equals `expected` (undefined = absent).
   * `next` undefined deletes. Returns whether it swapped.
   */
  compareAndSet(key: string, expected: Buffer | undefined, next: Buffer | undefined): Promise<boolean>;
  /** Applies several puts and deletes atomically (undefined value = delete). */
  batch(ops: Array<{ key: string; value: Buffer | undefined }>): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Reads a JSON value. */
export async function getJson<T>(store: MetaStore, key: string): Promise<T | undefined> {
  const raw = await store.get(key);
  return raw === undefined ? undefined : (JSON.parse(raw.toString('utf8')) as T);
}

/** Writes a JSON value. */
export function putJson(store: MetaStore, key: string, value: unknown): Promise<void> {
  return store.put(key, Buffer.from(JSON.stringify(value)));
}
