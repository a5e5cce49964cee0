/**
 * Runs heavy jobs one at a time, with a turn of the event loop between them.
 *
 * Parsing and judging a multi-megabyte review takes tens of milliseconds of
 * one thread. Several of them back to back in the same loop turn would hold
 * every small review on other connections for their sum (the issue 12 fault
 * run measured p99 ≈ 300 ms). In the lane they run one after another, and
 * setImmediate lets the poll phase (the small reviews' sockets) run before
 * the next one starts, so a small review waits for at most one job.
 */
export class SerialLane {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => T): Promise<T> {
    const next = this.tail.then(
      () => new Promise<T>((resolve, reject) => setImmediate(() => {
        try {
          resolve(job());
        } catch (e) {
          reject(e);
        }
      })),
    );
    // The lane goes on whatever one job did.
    this.tail = next.catch(() => undefined);
    return next;
  }
}
