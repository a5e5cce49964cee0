// The memory of request bodies, bounded across all clients. Each body is read
// into memory whole (an AdmissionReview is judged as one JSON document), so
// without a global bound N slow uploads cost N times the 7 MiB limit: 80 of
// them took a server from 142 MB to 1.44 GB in the issue 20 run, past the
// chart's 512 Mi limit. Requests beyond the budget are refused before a byte
// of their body is read, never queued or buffered.

/** Why a body was refused; the label of tenant_guard_requests_refused_total. */
export type BudgetRefusal = 'body_budget' | 'slow_bodies' | 'stalled_body';

export interface BodyBudgetLimits {
  /** Bytes of request bodies held or promised (by content-length) at once. */
  totalBytes: number;
  /** Of those, bytes of bodies from `bigBytes` on: the rest stays free for ordinary reviews. */
  bigTotalBytes: number;
  /** A body of this declared size or more draws on the big share. */
  bigBytes: number;
  /** Bodies still arriving after `slowAfterMs`, at once; beyond it the newest are cut. */
  maxSlowBodies: number;
  slowAfterMs: number;
  /**
   * When a request does not fit, bodies arriving slower than this (bytes/s) after `stalledAfterMs` are cut to
   * make room; small bodies (below `bigBytes`) still arriving after `stalledAfterMs` are cut whatever their rate,
   * big ones when, at their rate so far, they would arrive after `slowAfterMs`.
   */
  minBytesPerSecond: number;
  stalledAfterMs: number;
}

/** How often the budget looks for event-loop stalls while bodies are in flight. */
const STALL_TICK_MS = 50;

/** One admitted body's share of the budget. */
export class BodyTicket {
  /**
   * What the budget's cut handler needs to answer this body's request, while
   * the body is still arriving (cleared once it has arrived whole). Plain data
   * read by one handler, not a closure per request: a closure over the
   * request handler's scope, kept from the long-lived `pending` set, cost
   * ~14 µs of GC per review on the bench (issue 20, serving cost).
   */
  subject: unknown;
  /**
   * The answer to this body's request. The handler releases the ticket once
   * it has written the answer; a ticket whose answer is finished, or whose
   * connection is gone while its body was still arriving, is released by the
   * sweep as well, so no path can keep a reservation for good.
   */
  response: { readonly writableFinished: boolean; readonly destroyed: boolean } | undefined;
  /** Bytes of the body arrived so far (its rate, when the budget is full). */
  received = 0;
  released = false;
  /** The budget's count of event-loop stall when the ticket was made (its body's time excludes the stalls since). */
  stallAtStart = 0;

  constructor(
    readonly budget: BodyBudget,
    /** Bytes reserved now (the declared length, or what has arrived of a chunked body). */
    public bytes: number,
    /** Whether it draws on the big share: a body declared that large, or a chunked one that grew to it. */
    public big: boolean,
    readonly startedAt: number,
  ) {}

  /** A chunked body grew to `total` bytes: reserve them, or false when the budget is spent. */
  grow(total: number): boolean {
    return this.budget.grow(this, total);
  }

  release(): void {
    this.budget.release(this);
  }
}

/**
 * The budget is checked once per request and never waits: a request that
 * does not fit is answered 503 at once (the API server turns that into its
 * failurePolicy; a legitimate burst that large is no API server's). Bodies
 * with a content-length reserve it whole at the start, so the reservation,
 * not the bytes received so far, bounds memory: a slow client cannot slip in
 * under the budget and grow later. Chunked bodies reserve as they arrive.
 */
export class BodyBudget {
  private used = 0;
  private bigUsed = 0;
  private readonly pending = new Set<BodyTicket>();
  private sweeper: NodeJS.Timeout | undefined;
  /**
   * Milliseconds the event loop was stuck (a long judgement, GC) while bodies were in flight, as seen by a short
   * timer. Bytes a client sent while the server could not read them must not make its body look slow: a big
   * review whose rest waited behind a 700 ms judgement was cut as stalled for a newcomer read before it.
   */
  private stalledMs = 0;
  private lastTick = 0;
  private ticker: NodeJS.Timeout | undefined;
  /** Called with a cut body's `subject` (the admission handler answers its request). */
  onCut: ((subject: unknown, why: BudgetRefusal) => void) | undefined;

  constructor(
    readonly limits: BodyBudgetLimits,
    private readonly now: () => number = Date.now,
    /** The clock of the stall ticker (tests give a fake one). */
    private readonly loopNow: () => number = () => performance.now(),
  ) {}

  /** Stall counted so far, with the one in progress: the loop may read a newcomer before the ticker's late turn. */
  private stallNow(): number {
    if (this.ticker === undefined) return this.stalledMs;
    const lag = this.loopNow() - this.lastTick - STALL_TICK_MS;
    return lag > 0 ? this.stalledMs + lag : this.stalledMs;
  }

  /** Bytes reserved now (metrics, tests). */
  get bytesInFlight(): number {
    return this.used;
  }

  get bodiesInFlight(): number {
    return this.pending.size;
  }

  /** A ticket for a body of `declared` bytes (NaN: chunked, unknown), or why it is refused. */
  admit(declared: number): BodyTicket | BudgetRefusal {
    const known = Number.isFinite(declared) && declared >= 0;
    const bytes = known ? declared : 0;
    const big = known && bytes >= this.limits.bigBytes;
    if (!this.fits(bytes, big) && !this.reclaim(bytes, big)) return 'body_budget';
    const ticket = new BodyTicket(this, bytes, big, this.now());
    ticket.stallAtStart = this.stallNow();
    this.used += bytes;
    if (big) this.bigUsed += bytes;
    this.pending.add(ticket);
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(50, this.limits.slowAfterMs / 4));
      this.sweeper.unref();
    }
    if (this.ticker === undefined) {
      this.lastTick = this.loopNow();
      this.ticker = setInterval(() => this.tick(), STALL_TICK_MS);
      this.ticker.unref();
    }
    return ticket;
  }

  private fits(bytes: number, big: boolean): boolean {
    if (this.used + bytes > this.limits.totalBytes) return false;
    // Small bodies keep what the big share leaves: ordinary reviews pass while big uploads wait for nothing.
    if (big) return this.bigUsed + bytes <= this.limits.bigTotalBytes;
    return this.used - this.bigUsed + bytes <= this.limits.totalBytes - this.limits.bigTotalBytes;
  }

  /**
   * Make room for a body that does not fit by cutting bodies still arriving
   * below the minimum rate (after their grace; small bodies at any rate),
   * slowest first, until it fits.
   * Only a full budget cuts anyone: a slow client harms nobody while there is
   * room. True when the body fits now.
   */
  private reclaim(bytes: number, big: boolean): boolean {
    const now = this.now();
    const stall = this.stallNow();
    const { minBytesPerSecond, stalledAfterMs, slowAfterMs } = this.limits;
    const stalled: { ticket: BodyTicket; rate: number }[] = [];
    for (const t of this.pending) {
      const elapsed = now - t.startedAt - (stall - t.stallAtStart);
      // Only bodies that hold bytes of the share the newcomer needs can make room for it. Each share's bound
      // implies the total's (a share fits => the total fits), so the other share never helps, whatever the total;
      // and a body that reserves nothing (chunked with no bytes yet, or oversized and dropped) frees nothing.
      if (t.subject === undefined || elapsed < stalledAfterMs || t.big !== big || t.bytes === 0) continue;
      const rate = (t.received * 1000) / elapsed;
      // A small body is one the API server writes whole with its headers: still arriving after the grace, it is
      // stalled whatever its rate. By the rate alone, a body just under bigBytes trickled at the minimum held its
      // reservation 4 s, and 64 of them (4.4 MiB/s in all) kept the small share full: 61 of 64 reviews got a 503.
      // A big body must also be on pace to arrive within slowAfterMs (a body later than that is slow by definition):
      // at the minimum rate alone, seven uploads of ~7 MiB (490 KiB/s in all) held the big share for the 30 s
      // request timeout, and every review from BIG_BODY_BYTES on got a 503.
      if (!t.big || rate < minBytesPerSecond || rate * slowAfterMs < t.bytes * 1000) stalled.push({ ticket: t, rate });
    }
    stalled.sort((a, b) => a.rate - b.rate);
    for (const { ticket } of stalled) {
      const subject = ticket.subject;
      this.release(ticket);
      this.onCut?.(subject, 'stalled_body');
      if (this.fits(bytes, big)) return true;
    }
    return this.fits(bytes, big);
  }

  /**
   * A chunked body keeps to the shares a declared one of its size would: it
   * grows in the small share, and moves whole into the big share once it is
   * big. Growing against the total alone let a few stalled chunked uploads
   * take the small bodies' share, and every ordinary review got a 503.
   */
  grow(ticket: BodyTicket, total: number): boolean {
    if (ticket.released || total <= ticket.bytes) return true;
    const more = total - ticket.bytes;
    if (this.used + more > this.limits.totalBytes) return false;
    const big = ticket.big || total >= this.limits.bigBytes;
    if (big) {
      const bigMore = ticket.big ? more : total;
      if (this.bigUsed + bigMore > this.limits.bigTotalBytes) return false;
      this.bigUsed += bigMore;
      ticket.big = true;
    } else if (this.used - this.bigUsed + more > this.limits.totalBytes - this.limits.bigTotalBytes) return false;
    this.used += more;
    ticket.bytes = total;
    return true;
  }

  release(ticket: BodyTicket): void {
    if (ticket.released) return;
    ticket.released = true;
    this.used -= ticket.bytes;
    if (ticket.big) this.bigUsed -= ticket.bytes;
    this.pending.delete(ticket);
  }

  /** Cut the newest slow bodies beyond maxSlowBodies (the oldest are nearest to their end). */
  sweep(): void {
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    const cutoff = this.now() - this.limits.slowAfterMs;
    const slow: BodyTicket[] = [];
    // A Set iterates in insertion order: oldest first (deleting the current entry keeps the iteration valid).
    // A body that arrived whole is held until it is judged, its client there or not (the lane may keep it a
    // while): the handler frees it then. Freeing it when the connection went let clients that leave right
    // after their body queue more bodies in the lane than the budget allows.
    for (const t of this.pending) {
      if (t.response !== undefined && (t.response.writableFinished || (t.response.destroyed && t.subject !== undefined))) this.release(t);
      else if (t.startedAt <= cutoff && t.subject !== undefined) slow.push(t);
    }
    for (const t of slow.slice(this.limits.maxSlowBodies)) {
      const subject = t.subject;
      this.release(t);
      this.onCut?.(subject, 'slow_bodies');
    }
  }

  /** Count how long the event loop was stuck since the last tick (public for tests). */
  tick(): void {
    const now = this.loopNow();
    const lag = now - this.lastTick - STALL_TICK_MS;
    if (lag > 0) this.stalledMs += lag;
    this.lastTick = now;
    if (this.pending.size === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
