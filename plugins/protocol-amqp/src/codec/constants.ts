/** AMQP 0-9-1 wire constants (frame types, reply codes, class ids). */

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export const FrameType = {
  method: 1,
  header: 2,
  body: 3,
  heartbeat: 8,
} as const;

export const FRAME_END = 0xce;
/** type(1) + channel(2) + size(4) + frame-end(1). */
export const FRAME_OVERHEAD = 8;
/** The smallest frame_max a peer may negotiate (spec: frame-min-size). */
export const FRAME_MIN_SIZE = 4096;

/** Reply codes (amqp0-9-1.xml `constant` elements). */
export const ReplyCode = {
  replySuccess: 200,
  contentTooLarge: 311,
  noRoute: 312,
  noConsumers: 313,
  connectionForced: 320,
  invalidPath: 402,
  accessRefused: 403,
  notFound: 404,
  resourceLocked: 405,
  preconditionFailed: 406,
  frameError: 501,
  syntaxError: 502,
  commandInvalid: 503,
  channelError: 504,
  unexpectedFrame: 505,
  resourceError: 506,
  notAllowed: 530,
  notImplemented: 540,
  internalError: 541,
} as const;

/** Codes that are connection exceptions; every other non-200 code is a channel exception. */
export const CONNECTION_EXCEPTION_CODES: ReadonlySet<number> = new Set([320, 402, 501, 502, 503, 504, 505, 530, 540, 541]);

export const ClassId = {
  connection: 10,
  channel: 20,
  exchange: 40,
  queue: 50,
  basic: 60,
  confirm: 85,
  tx: 90,
} as const;
