import { Headers, type HeaderValue, type Message } from '@robustmq/sdk';
import type { IPublishPacket, UserProperties } from 'mqtt-packet';

type PublishProps = NonNullable<IPublishPacket['properties']>;

/**
 * Copies MQTT 5 PUBLISH (or Will) properties into kernel headers, so they survive a crossing to
 * another protocol (sdk `Headers`). Topic alias and subscription identifiers are per-hop and dropped.
 */
export function propsToHeaders(props: PublishProps | undefined): Record<string, HeaderValue> {
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
