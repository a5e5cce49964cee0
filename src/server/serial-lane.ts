/**
 * Runs heavy jobs one at a time, and leaves the event loop to everything
 * else for as long as each job took before the next one starts.
 *
 * Parsing and judging a multi-megabyte review takes tens to hundreds of
 * milliseconds of the one thread. Run as they come, several of them in a row
 * hold every small review on other connections for their sum (the issue 12
 * fault run measured p99 ≈ 300 ms), and a steady stream of them would take
 * the whole thread. In the lane they run one after another and together get
 * at most half of the thread: a small review waits for at most one job, and
 * under overload it is the big reviews that queue, not the small ones.
 */
export class SerialLane {
  private readonly queue: (() => void)[] = [];
  private busy = false;

  run<T>(job: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        const started = performance.now();
        try {
          resolve(job());
        } catch (e) {
          reject(e);
        }
        // The result is delivered at once; the lane rests as long as the job ran, and at least one turn of the
        // loop. The clock is read each time: a timer set now would count from the loop's cached time, which is
        // older than the job, and fire at once.
        const until = performance.now() + (performance.now() - started);
        const rest = () => {
          const left = until - performance.now();
          if (left <= 0) this.next();
          else setTimeout(rest, Math.ceil(left));
        };
        setImmediate(rest);
      });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => this.next());
      }
    });
  }

  private next(): void {
    const job = this.queue.shift();
    if (job) job();
    else this.busy = false;
  }
}
