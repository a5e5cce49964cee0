import type { Logger } from 'pino';

/**
 * A warning that hostile clients can trigger at any rate (refused callers,
 * the body budget) is logged at most once per `intervalMs` per key, with the
 * number of refusals folded into the next line: a flood must not turn into a
 * flood of log lines (and of log-shipping cost) as well.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const seen = this.last.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }
}
