/** Plain-object check: arrays, buffers and class instances are replaced, not merged. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Merges `over` into a copy of `base`: objects recursively, everything else replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

/** Sets `obj[path[0]][path[1]]… = value`, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(cur[key])) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/** Reads a nested value, or undefined when any step is missing. */
export function getPath(obj: unknown, path: readonly (string | number | symbol)[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number | symbol, unknown>)[key];
  }
  return cur;
}

/** Every leaf path of a plain object (dotted), for recording where values came from. */
export function leafPaths(obj: unknown, prefix = ''): string[] {
  if (!isPlainObject(obj)) return prefix ? [prefix] : [];
  const keys = Object.keys(obj);
  if (keys.length === 0) return prefix ? [prefix] : [];
  return keys.flatMap((k) => leafPaths(obj[k], prefix ? `${prefix}.${k}` : k));
}
