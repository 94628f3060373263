import type { Logger } from '@robustmq/sdk';

const noop = () => {};

/** A Logger that drops everything (library use without a broker, tests). */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLogger,
  level: 'silent',
};
