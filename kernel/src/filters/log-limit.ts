import type { Logger } from '@robustmq/sdk';

/**
 * Rate-limits one filter's log lines (its own `host.log` calls and its failure reports): a filter
 * failing on every message must not flood the broker log. Up to `perSecond` lines a second; the
 * count of suppressed lines is logged with the next line that gets through.
 */
export class LogLimiter {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly perSecond = 20,
  ) {}

  log(level: 'debug' | 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    if (this.suppressed > 0) {
      obj = { ...obj, suppressed: this.suppressed };
      msg = `${msg} (${this.suppressed} earlier lines suppressed)`;
      this.suppressed = 0;
    }
    this.logger[level](obj, msg);
  }
}

/** Maps a guest's level name to a logger level (unknown names log as info). */
export function guestLevel(level: string): 'debug' | 'info' | 'warn' | 'error' {
  return level === 'debug' || level === 'warn' || level === 'error' ? level : 'info';
}
