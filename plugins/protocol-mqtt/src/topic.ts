/** Topic name and filter validation and matching (MQTT §4.7). */

/** Limits applied on top of the spec's own rules. */
export interface TopicLimits {
  maxTopicLevels: number;
  maxTopicLength: number;
}

/**
 * Returns why a string is not valid MQTT UTF-8 (§1.5.4), or undefined. mqtt-packet decodes invalid
 * UTF-8 to U+FFFD, so that character marks a malformed string here.
 */
export function utf8Problem(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'contains U+0000';
    if (c === 0xfffd) return 'invalid UTF-8';
  }
  return undefined;
}

/** Validates a PUBLISH topic name; returns the problem or undefined. */
export function topicNameProblem(topic: string, limits: TopicLimits): string | undefined {
  if (topic.length === 0) return 'empty topic';
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in topic name';
  return utf8Problem(topic) ?? limitProblem(topic, limits);
}

/** Validates a SUBSCRIBE/UNSUBSCRIBE topic filter (without the `$share/group/` prefix). */
export function topicFilterProblem(filter: string, limits: TopicLimits): string | undefined {
  if (filter.length === 0) return 'empty filter';
  const u = utf8Problem(filter);
  if (u) return u;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return "'#' must be a whole last level";
    if (l.includes('+') && l !== '+') return "'+' must be a whole level";
  }
  return limitProblem(filter, limits);
}

function limitProblem(s: string, limits: TopicLimits): string | undefined {
  if (limits.maxTopicLength > 0 && Buffer.byteLength(s) > limits.maxTopicLength) return 'topic too long';
  if (limits.maxTopicLevels > 0) {
    let levels = 1;
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) levels++;
    if (levels > limits.maxTopicLevels) return 'too many topic levels';
  }
  return undefined;
}

/** True when the filter contains a wildcard. */
export function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/**
 * Matches a topic name against a filter. Topics starting with `$` are not matched by a filter whose
 * first level is a wildcard (§4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
