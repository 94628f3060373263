/**
 * MQTT-style topic filter matching for filter entries' `topics`: `+` matches one level, a final
 * `#` matches the rest (including the parent level), as in MQTT 3.1.1 §4.7.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === '#') return !topic.startsWith('$');
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0].startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A matcher for a list of filters, with a fast path for `#`. */
export function topicMatcher(filters: readonly string[]): (topic: string) => boolean {
  if (filters.includes('#')) return (topic) => !topic.startsWith('$');
  return (topic) => filters.some((f) => topicMatches(f, topic));
}
