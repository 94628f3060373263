/**
 * MQTT-style topic filter algebra over `/`-separated levels, used to compare an ACL rule's
 * filter with a topic (publish) or with a subscription filter (subscribe).
 * A wildcard in the first level never matches a level starting with `$` (MQTT 5 §4.7.2).
 */

/** Returns a problem description, or undefined when `filter` is a valid topic filter. */
export function filterProblem(filter: string): string | undefined {
  if (filter === '') return 'topic filter is empty';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return '`#` must be a whole level and the last one';
    if (level.includes('+') && level !== '+') return '`+` must be a whole level';
  }
  return undefined;
}

function isDollar(level: string): boolean {
  return level.startsWith('$');
}

/**
 * True when every topic matched by `inner` is also matched by `outer`. With a plain topic as
 * `inner` this is ordinary filter matching.
 */
export function filterCovers(outer: readonly string[], inner: readonly string[]): boolean {
  for (let i = 0; i < outer.length; i++) {
    const o = outer[i];
    if (o === '#') return !(i === 0 && inner.length > 0 && isDollar(inner[0]));
    if (i >= inner.length) return false;
    const n = inner[i];
    if (n === '#') return false;
    if (o === '+') {
      if (i === 0 && isDollar(n)) return false;
      continue;
    }
    if (n === '+' || o !== n) return false;
  }
  return inner.length === outer.length;
}

/** True when at least one topic is matched by both filters. */
export function filtersOverlap(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const aEnd = i >= a.length;
    const bEnd = i >= b.length;
    if (aEnd && bEnd) return true;
    // `x/#` also matches the parent `x`.
    if (aEnd) return b[i] === '#';
    if (bEnd) return a[i] === '#';
    const x = a[i];
    const y = b[i];
    const xWild = x === '#' || x === '+';
    const yWild = y === '#' || y === '+';
    // At the first level a wildcard never meets a `$` literal.
    if (i === 0 && ((xWild && !yWild && isDollar(y)) || (yWild && !xWild && isDollar(x)))) return false;
    if (x === '#' || y === '#') return true;
    if (xWild || yWild) continue;
    if (x !== y) return false;
  }
}

/** Removes a `$share/<group>/` prefix so a shared subscription is checked on its real filter. */
export function stripSharePrefix(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const slash = filter.indexOf('/', 7);
  return slash > 7 ? filter.slice(slash + 1) : filter;
}
