import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { isHttpStatus, type KubeClient } from './kube-client.js';
import { discoverResource, resourcePath, type ResourceInfo } from './kube-discovery.js';
import { listAll } from './kube-list.js';
import type { MemoryStore } from './memory-store.js';
import type { GroupKind } from './state.js';
import { Backoff, sleep, type BackoffOptions } from './watch-backoff.js';
import { applyWatchEvent, ResourceVersionExpiredError } from './watch-events.js';

export interface WatchTuning {
  /** Backoff between attempts after a failed list or a dropped watch. */
  backoff: BackoffOptions;
  /** How often to look again for a kind the API server does not serve (CRD not installed). */
  absentRecheckMs: number;
  /**
   * Server-side watch duration, randomised in [min, 2*min) like client-go's
   * reflector so that many watches do not all restart at once.
   */
  minWatchSeconds: number;
}

export const DEFAULT_TUNING: WatchTuning = {
  backoff: { initialMs: 500, maxMs: 30_000 },
  absentRecheckMs: 30_000,
  minWatchSeconds: 300,
};

export interface KindWatchEvents {
  /** After each successful list (first sync and every relist). */
  synced(gk: GroupKind, served: boolean, objects: number): void;
  /** A watch or list failed and will be retried (after a backoff). */
  restarted(gk: GroupKind, reason: string): void;
}

/** A watch that ends sooner than this without an error is treated as a failure. */
const SHORT_WATCH_MS = 1_000;

/** A watch that lasted this long was healthy: the next failure backs off from the start again. */
const HEALTHY_WATCH_MS = 30_000;

/**
 * List+watch of one kind into the store, forever (until `signal` aborts).
 * A list replaces every object of the kind at once (`replaceKind`), so a
 * relist after a gap also forgets objects deleted during the gap; until the
 * relist succeeds, the store keeps the last known objects and decisions are
 * made from them.
 */
export class KindWatch {
  private resource: ResourceInfo | undefined;
  private everSynced = false;
  private servedLogged: boolean | undefined;

  constructor(
    readonly gk: GroupKind,
    private readonly client: KubeClient,
    private readonly store: MemoryStore,
    private readonly logger: Logger,
    private readonly tuning: WatchTuning,
    private readonly events: KindWatchEvents,
  ) {}

  get synced(): boolean {
    return this.everSynced;
  }

  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.tuning.backoff);
    while (!signal.aborted) {
      let watchStarted = 0;
      try {
        this.resource ??= await discoverResource(this.client, this.gk);
        const r = this.resource;
        if (!r) {
          this.markAbsent();
          backoff.reset();
          await sleep(this.tuning.absentRecheckMs, signal);
          continue;
        }
        const list = await listAll(this.client, r, { signal });
        if (signal.aborted) break;
        this.store.replaceKind(this.gk, list.items);
        this.markSynced(r, list.items.length, backoff.consecutiveFailures > 0);
        let rv = list.resourceVersion;
        while (!signal.aborted) {
          watchStarted = Date.now();
          const seconds = Math.floor(this.tuning.minWatchSeconds * (1 + Math.random()));
          await this.client.watch(
            resourcePath(r),
            { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: seconds },
            (event) => {
              rv = applyWatchEvent(this.store, event, r, rv);
            },
            { signal, idleTimeoutMs: (seconds + 60) * 1000 },
          );
          // A clean end (the server's timeoutSeconds, or a graceful shutdown):
          // resume from the last resourceVersion, no relist needed. A stream
          // that ends at once is not healthy though (client-go's reflector
          // calls it a "very short watch"): back off instead of spinning.
          if (Date.now() - watchStarted < SHORT_WATCH_MS) throw new Error(`watch of ${this.gk} ended right after it started`);
          backoff.reset();
        }
      } catch (e) {
        if (signal.aborted) break;
        if (watchStarted > 0 && Date.now() - watchStarted >= HEALTHY_WATCH_MS) backoff.reset();
        // The kind stopped being served (CRD deleted or version removed): discover again.
        if (isHttpStatus(e, 404)) this.resource = undefined;
        const reason = describeError(e);
        this.events.restarted(this.gk, reason);
        if (e instanceof ResourceVersionExpiredError) {
          // Expected after long disconnections; client-go relists at once too.
          this.logger.info({ kind: this.gk, reason }, 'watch history expired; relisting');
          continue;
        }
        const delayMs = backoff.next();
        this.logger.warn(
          { kind: this.gk, err: reason, delayMs, attempt: backoff.consecutiveFailures },
          `list/watch of ${this.gk} failed; retrying with a relist in ${delayMs} ms (decisions use the last known state meanwhile)`,
        );
        await sleep(delayMs, signal);
      }
    }
  }

  private markAbsent(): void {
    this.store.replaceKind(this.gk, []);
    if (this.servedLogged !== false) {
      this.logger.warn(
        { kind: this.gk, recheckMs: this.tuning.absentRecheckMs },
        `${this.gk} is not served by the API server (CRD not installed?); treating it as empty and checking again periodically`,
      );
      this.servedLogged = false;
    }
    this.everSynced = true;
    this.events.synced(this.gk, false, 0);
  }

  private markSynced(r: ResourceInfo, objects: number, recovered: boolean): void {
    if (this.servedLogged !== true) {
      this.logger.info({ kind: this.gk, version: r.version, resource: r.plural, objects }, `watching ${this.gk}`);
      this.servedLogged = true;
    } else if (recovered) {
      this.logger.info({ kind: this.gk, objects }, `relisted ${this.gk} after a dropped watch`);
    }
    this.everSynced = true;
    this.events.synced(this.gk, true, objects);
  }
}
