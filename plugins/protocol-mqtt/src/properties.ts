import { Headers, type HeaderValue, type Message } from '@robustmq/sdk';
import type { IPublishPacket, UserProperties } from 'mqtt-packet';
import type { PublishProperties } from './fast-encode.js';

type PublishProps = NonNullable<IPublishPacket['properties']>;

/**
 * Header keeping MQTT 5 user properties in their original order as a JSON list of `[name, value]`
 * pairs ([MQTT-3.3.2-18]: the order must survive forwarding). The `mqtt-user-<name>` headers stay the
 * cross-protocol form; this one only adds the order and is ignored when they disagree (a filter
 * changed them).
 */
export const USER_ORDER_HEADER = 'mqtt-ordered-user-properties';

/**
 * Copies MQTT 5 PUBLISH (or Will) properties into kernel headers, so they survive a crossing to
 * another protocol (sdk `Headers`). Topic alias and subscription identifiers are per-hop and dropped.
 * `pairs` are the user properties in wire order, when known.
 */
export function propsToHeaders(props: PublishProps | undefined, pairs?: Array<[string, string]>): Record<string, HeaderValue> {
  const headers: Record<string, HeaderValue> = {};
  if (!props) return headers;
  if (props.contentType !== undefined) headers[Headers.contentType] = props.contentType;
  if (props.payloadFormatIndicator !== undefined) headers[Headers.payloadFormat] = props.payloadFormatIndicator ? '1' : '0';
  if (props.responseTopic !== undefined) headers[Headers.responseTopic] = props.responseTopic;
  if (props.correlationData !== undefined) headers[Headers.correlationData] = props.correlationData;
  if (props.userProperties) {
    for (const [name, value] of Object.entries(props.userProperties)) {
      headers[Headers.mqttUserPrefix + name] = Array.isArray(value) ? JSON.stringify(value) : value;
    }
    if (pairs && pairs.length > 1) headers[USER_ORDER_HEADER] = JSON.stringify(pairs);
  }
  return headers;
}

/** Builds MQTT 5 PUBLISH properties from a message's headers (any protocol's). */
export function headersToProps(message: Message): PublishProps {
  const props: PublishProps = {};
  const h = message.headers;
  for (const name in h) {
    const v = h[name];
    if (name === Headers.contentType) props.contentType = str(v);
    else if (name === Headers.payloadFormat) props.payloadFormatIndicator = str(v) === '1';
    else if (name === Headers.responseTopic) props.responseTopic = str(v);
    else if (name === Headers.correlationData) props.correlationData = typeof v === 'string' ? Buffer.from(v) : v;
    else if (name.startsWith(Headers.mqttUserPrefix)) {
      const user: UserProperties = props.userProperties ?? {};
      user[name.slice(Headers.mqttUserPrefix.length)] = userValue(str(v));
      props.userProperties = user;
    }
  }
  return props;
}

/** The properties to send with a message, user properties in their original order when known. */
export function publishProperties(message: Message): PublishProperties {
  const p = headersToProps(message);
  const out: PublishProperties = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = p.correlationData;
  if (p.userProperties) {
    const pairs: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(p.userProperties)) {
      for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, v]);
    }
    out.userProperties = orderedPairs(message, pairs) ?? pairs;
  }
  return out;
}

/** The ordered pairs from {@link USER_ORDER_HEADER}, if they hold exactly the same properties. */
function orderedPairs(message: Message, pairs: Array<[string, string]>): Array<[string, string]> | undefined {
  const raw = message.headers[USER_ORDER_HEADER];
  if (raw === undefined) return undefined;
  try {
    const ordered = JSON.parse(str(raw)) as Array<[string, string]>;
    if (!Array.isArray(ordered) || ordered.length !== pairs.length) return undefined;
    const key = (l: Array<[string, string]>) =>
      l
        .map((x) => JSON.stringify(x))
        .sort()
        .join('\n');
    return key(ordered) === key(pairs) ? ordered : undefined;
  } catch {
    return undefined;
  }
}

function str(v: HeaderValue): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** Repeated user property names were stored as a JSON array of strings. */
function userValue(v: string): string | string[] {
  if (v.startsWith('[') && v.endsWith(']')) {
    try {
      const parsed = JSON.parse(v) as unknown;
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    } catch {
      // Not an array after all: a plain value that happens to look like one.
    }
  }
  return v;
}

/** Seconds left before `expiresAt`, rounded up (the decremented Message Expiry Interval, §3.3.2.3.3). */
export function remainingExpiry(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000));
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True when the buffer is well-formed UTF-8 (Payload Format Indicator 1, §3.3.2.3.2). */
export function isUtf8(buf: Buffer): boolean {
  try {
    fatalUtf8.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/**
 * Name of a property that appears more than once where the spec allows it once (a Protocol Error,
 * §2.2.2.2). mqtt-packet turns repeats into arrays; only user properties may repeat.
 */
export function repeatedProperty(props: object | undefined): string | undefined {
  if (!props) return undefined;
  for (const [name, value] of Object.entries(props)) {
    if (name !== 'userProperties' && Array.isArray(value)) return name;
  }
  return undefined;
}
