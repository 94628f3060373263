/**
 * How exchanges and bindings become topics and filters of the kernel router.
 *
 * - `amq.topic` of the default vhost `/` is the bridge to MQTT (and every protocol publishing
 *   through the router): routing key `a.b.c` is topic `a/b/c`; `.` and `/` swap, as RabbitMQ's MQTT
 *   plugin does. Binding patterns map `*` → `+`, `#` → `#`.
 * - Every other exchange lives under `$amqp/<vhost>/<exchange>/…` (a `$` topic, invisible to `#`
 *   subscribers of other protocols). Topic exchanges use one level per word; direct, fanout and
 *   headers exchanges put the whole routing key in one level. Levels are percent-encoded so that
 *   `/`, `+`, `#` and `%` inside names stay literal.
 * - Patterns the trie cannot express (a `#` that is not the last word, headers matching, fanout)
 *   subscribe to a wider filter and the destination checks the binding itself ({@link Binding.post}).
 */

/** Characters with a meaning in router topics (NUL is refused by the router). */
const SPECIAL = new Set(['%', '/', '+', '#', String.fromCharCode(0)]);

function hasSpecial(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (SPECIAL.has(s[i])) return true;
  return false;
}

/** Percent-encodes the characters that have a meaning in router topics. */
export function encodeLevel(s: string): string {
  if (!hasSpecial(s)) return s;
  let out = '';
  for (const c of s) out += SPECIAL.has(c) ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c;
  return out;
}

/** `a.b/c` → `a/b.c` (the RabbitMQ MQTT-plugin mapping, its own inverse). */
export function swapSeparators(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    out += c === '.' ? '/' : c === '/' ? '.' : c;
  }
  return out;
}

export const BRIDGE_EXCHANGE = 'amq.topic';
export const BRIDGE_VHOST = '/';

/** True when the exchange is the MQTT bridge. */
export function isBridge(vhost: string, exchange: string): boolean {
  return exchange === BRIDGE_EXCHANGE && vhost === BRIDGE_VHOST;
}

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers';

/** The topic prefix of an exchange (no trailing `/`). */
export function exchangePrefix(vhost: string, exchange: string): string {
  return `$amqp/${encodeLevel(vhost)}/${encodeLevel(exchange)}`;
}

/** The router topic a publish to `exchange` with `routingKey` is routed on. */
export function publishTopic(prefix: string, bridge: boolean, type: ExchangeType, routingKey: string): string {
  if (bridge) return swapSeparators(routingKey);
  if (type === 'topic') {
    if (!hasSpecial(routingKey)) return `${prefix}/${routingKey.replaceAll('.', '/')}`;
    return `${prefix}/${routingKey.split('.').map(encodeLevel).join('/')}`;
  }
  return `${prefix}/${encodeLevel(routingKey)}`;
}

/** The router filter a binding subscribes to, and whether the destination must re-check the binding. */
export function bindingFilter(
  prefix: string,
  bridge: boolean,
  type: ExchangeType,
  key: string,
): { filter: string; needsCheck: boolean } {
  if (type === 'fanout' || type === 'headers') return { filter: `${prefix}/#`, needsCheck: type === 'headers' };
  if (type === 'direct') return { filter: `${prefix}/${encodeLevel(key)}`, needsCheck: false };
  const words = key.split('.');
  const hash = words.indexOf('#');
  const trailing = hash === -1 || hash === words.length - 1;
  const used = trailing ? words : words.slice(0, hash + 1);
  let needsCheck = !trailing;
  const levels = used.map((w) => {
    if (w === '*') return '+';
    if (w === '#') return '#';
    if (bridge) {
      const m = w.replaceAll('/', '.');
      if (/[+#]/.test(m)) {
        // A literal `+`/`#` cannot be expressed in an MQTT filter: widen and check.
        needsCheck = true;
        return '+';
      }
      return m;
    }
    return encodeLevel(w);
  });
  const body = levels.join('/');
  return { filter: bridge ? body : `${prefix}/${body}`, needsCheck };
}

/** AMQP topic pattern matching (`*` one word, `#` zero or more words). */
export function topicPatternMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const id = i * (k.length + 1) + j;
    const cached = memo.get(id);
    if (cached !== undefined) return cached;
    let r: boolean;
    if (i === p.length) r = j === k.length;
    else if (p[i] === '#') r = go(i + 1, j) || (j < k.length && go(i, j + 1));
    else r = j < k.length && (p[i] === '*' || p[i] === k[j]) && go(i + 1, j + 1);
    memo.set(id, r);
    return r;
  };
  return go(0, 0);
}
