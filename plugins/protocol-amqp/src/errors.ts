import { CONNECTION_EXCEPTION_CODES, ReplyCode } from './codec/constants.js';

/**
 * An AMQP exception. Codes in {@link CONNECTION_EXCEPTION_CODES} close the connection, every other
 * code closes only the channel the failing method came on.
 */
export class AmqpError extends Error {
  classId = 0;
  methodId = 0;
  constructor(
    readonly code: number,
    text: string,
  ) {
    super(text);
    this.name = 'AmqpError';
  }
  get isConnectionError(): boolean {
    return CONNECTION_EXCEPTION_CODES.has(this.code);
  }
  /** The reply-text sent to the client: `NAME - detail`, as RabbitMQ formats it. */
  get replyText(): string {
    const name = Object.entries(ReplyCode).find(([, c]) => c === this.code)?.[0] ?? 'ERROR';
    const upper = name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
    return `${upper} - ${this.message}`.slice(0, 255);
  }
}

export const notFound = (what: string) => new AmqpError(ReplyCode.notFound, what);
export const preconditionFailed = (what: string) => new AmqpError(ReplyCode.preconditionFailed, what);
export const accessRefused = (what: string) => new AmqpError(ReplyCode.accessRefused, what);
export const resourceLocked = (what: string) => new AmqpError(ReplyCode.resourceLocked, what);
export const commandInvalid = (what: string) => new AmqpError(ReplyCode.commandInvalid, what);
export const channelError = (what: string) => new AmqpError(ReplyCode.channelError, what);
export const unexpectedFrame = (what: string) => new AmqpError(ReplyCode.unexpectedFrame, what);
export const notImplemented = (what: string) => new AmqpError(ReplyCode.notImplemented, what);
export const frameError = (what: string) => new AmqpError(ReplyCode.frameError, what);
export const syntaxError = (what: string) => new AmqpError(ReplyCode.syntaxError, what);
export const notAllowed = (what: string) => new AmqpError(ReplyCode.notAllowed, what);
