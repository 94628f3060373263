import type { Message, ProtocolName } from './message.js';

/** A value or a promise of it: hooks may answer synchronously to keep the hot path synchronous. */
export type MaybePromise<T> = T | Promise<T>;

/** What a client presents when it connects. */
export interface AuthenticateRequest {
  protocol: ProtocolName;
  clientId: string;
  username?: string;
  password?: Buffer;
  /** Enhanced / SASL authentication method (MQTT 5 AUTH, SASL mechanism). */
  method?: string;
  /** Authentication data of the current step of an enhanced exchange. */
  data?: Buffer;
  remoteAddress?: string;
  /** Subject of the verified TLS client certificate, if any. */
  certificateSubject?: string;
}

/**
 * An authenticator's answer. `undefined` means "no opinion": the next hook decides.
 * `continue` asks the client for another enhanced-authentication step (MQTT 5 AUTH 0x18).
 */
export type AuthenticateResult =
  | { outcome: 'allow'; principal?: string; data?: Buffer }
  | { outcome: 'deny'; reason: string; code?: 'bad-credentials' | 'not-authorized' | 'banned' | 'bad-method' }
  | { outcome: 'continue'; data?: Buffer }
  | undefined;

export type Action = 'publish' | 'subscribe' | 'consume' | 'admin';

export interface AuthorizeRequest {
  protocol: ProtocolName;
  clientId: string;
  principal?: string;
  action: Action;
  /** Topic, topic filter, queue or resource name the action applies to. */
  resource: string;
}

/** `undefined` means no opinion. */
export type AuthorizeResult = 'allow' | 'deny' | undefined;

/** A rule filter's verdict on one message. */
export type FilterVerdict =
  | { verdict: 'pass' }
  | { verdict: 'drop'; reason: string }
  | { verdict: 'transform'; message: Message };

export interface ClientInfo {
  protocol: ProtocolName;
  clientId: string;
  principal?: string;
  remoteAddress?: string;
}

export interface DisconnectInfo extends ClientInfo {
  /** Why the client left: `normal`, `takeover`, `keepalive`, `protocol-error`, `shutdown`, … */
  reason: string;
}

export interface DeliveredInfo {
  message: Message;
  subscriberId: string;
  protocol: ProtocolName;
}

export interface DroppedInfo {
  message: Message;
  /** Subscriber whose queue dropped it, or undefined when the whole publish was dropped. */
  subscriberId?: string;
  reason: 'queue-full' | 'filter' | 'expired' | 'no-subscribers' | 'not-authorized' | (string & {});
}

export interface SessionExpiredInfo {
  protocol: ProtocolName;
  clientId: string;
}

/**
 * Every hook point and its handler signature. The bus runs handlers in order; see
 * {@link HookBus} for how results combine.
 */
export interface HookMap {
  /** First non-undefined answer wins. A throwing or late handler counts as `deny`. */
  authenticate: (req: AuthenticateRequest) => MaybePromise<AuthenticateResult>;
  /** First non-undefined answer wins. A throwing or late handler counts as `deny`. */
  authorize: (req: AuthorizeRequest) => MaybePromise<AuthorizeResult>;
  /** Run in order; a transform feeds the next filter, a drop stops the chain. A failure passes (configurable). */
  filter: (message: Message) => MaybePromise<FilterVerdict>;
  /** Notification: a message was accepted by the router. */
  published: (message: Message) => MaybePromise<void>;
  /** Notification: a message was handed to a subscriber. */
  delivered: (info: DeliveredInfo) => MaybePromise<void>;
  /** Notification: a message was dropped. */
  dropped: (info: DroppedInfo) => MaybePromise<void>;
  clientConnected: (info: ClientInfo) => MaybePromise<void>;
  clientDisconnected: (info: DisconnectInfo) => MaybePromise<void>;
  sessionExpired: (info: SessionExpiredInfo) => MaybePromise<void>;
}

export type HookName = keyof HookMap;

export const HOOK_NAMES: readonly HookName[] = [
  'authenticate',
  'authorize',
  'filter',
  'published',
  'delivered',
  'dropped',
  'clientConnected',
  'clientDisconnected',
  'sessionExpired',
];

export interface HookOptions {
  /** Lower runs first; equal orders run in registration order. Default 0. */
  order?: number;
  /** Milliseconds an async handler may take before it is abandoned. Default from kernel config. */
  deadlineMs?: number;
  /** Name shown in logs and metrics; defaults to the registering plugin's name. */
  owner?: string;
}

/** Removes a registered handler. */
export type Unregister = () => void;

/**
 * The hook bus. `run*` methods return a plain value when every handler answered synchronously and a
 * Promise otherwise, so callers can stay synchronous (check with {@link isPromise}).
 */
export interface HookBus {
  register<K extends HookName>(name: K, handler: HookMap[K], options?: HookOptions): Unregister;
  /** True when at least one handler is registered for the hook. */
  has(name: HookName): boolean;
  authenticate(req: AuthenticateRequest): MaybePromise<AuthenticateResult>;
  authorize(req: AuthorizeRequest): MaybePromise<AuthorizeResult>;
  /** Returns the final verdict: pass (possibly with the transformed message), or drop. */
  filter(message: Message): MaybePromise<FilterOutcome>;
  /** Fires a notification hook; errors are contained, nothing is awaited by the caller. */
  emit<K extends 'published' | 'delivered' | 'dropped' | 'clientConnected' | 'clientDisconnected' | 'sessionExpired'>(
    name: K,
    arg: Parameters<HookMap[K]>[0],
  ): void;
}

export type FilterOutcome = { verdict: 'pass'; message: Message } | { verdict: 'drop'; reason: string };

/** True when `v` is a thenable. */
export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === 'function';
}
