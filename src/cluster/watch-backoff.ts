export interface BackoffOptions {
  /** First delay after a failure. */
  initialMs: number;
  /** Ceiling of the delay. */
  maxMs: number;
  /** Multiplier per consecutive failure. */
  factor?: number;
  /** Source of randomness in [0, 1), injectable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half
 * random. The jitter keeps many replicas of the webhook (and their ~10
 * watches each) from hammering an API server that just came back in lockstep;
 * client-go's reflector backs off the same way.
 */
export class Backoff {
  private failures = 0;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    if (!(opts.initialMs > 0) || !(opts.maxMs >= opts.initialMs)) {
      throw new RangeError(`invalid backoff: initialMs=${opts.initialMs} maxMs=${opts.maxMs}`);
    }
    this.factor = opts.factor ?? 2;
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * this.factor ** this.failures);
    this.failures++;
    return Math.round(base / 2 + (base / 2) * this.random());
  }

  /** After a success: the next failure starts from the initial delay again. */
  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
