import { parseSharedFilter } from '@robustmq/sdk';

/** Topic level separator. */
export const SEPARATOR = '/';

/**
 * True for a topic a message may be published to: non-empty, no `+` or `#` wildcard, no NUL.
 * Empty levels (`a//b`, `/a`, `a/`) are valid, as in MQTT.
 */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && topic.indexOf('+') === -1 && topic.indexOf('#') === -1 && topic.indexOf('\u0000') === -1;
}

/**
 * True for a subscription filter: non-empty, no NUL, `+` alone in its level, `#` alone in the
 * last level. A filter whose first level is `$share` must be `$share/{group}/{filter}` with a
 * non-empty group free of wildcards and a valid filter after it.
 */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.indexOf('\u0000') !== -1) return false;
  if (filter === '$share' || filter.startsWith('$share/')) {
    const shared = parseSharedFilter(filter);
    if (shared === undefined) return false;
    if (shared.group.indexOf('+') !== -1 || shared.group.indexOf('#') !== -1) return false;
    return isValidPlainFilter(shared.filter);
  }
  return isValidPlainFilter(filter);
}

function isValidPlainFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split(SEPARATOR);
  const last = levels.length - 1;
  for (let i = 0; i <= last; i++) {
    const level = levels[i];
    if (level.length === 1) {
      if (level === '#' && i !== last) return false;
      continue;
    }
    if (level.indexOf('+') !== -1 || level.indexOf('#') !== -1) return false;
  }
  return true;
}

/** Throws a TypeError naming the filter when it is not a valid topic filter. */
export function assertValidTopicFilter(filter: string): void {
  if (!isValidTopicFilter(filter)) {
    throw new TypeError(
      `invalid topic filter ${JSON.stringify(filter)}: '+' and '#' must fill a whole level, '#' only as the last level, ` +
        `shared filters as $share/{group}/{filter}`,
    );
  }
}
