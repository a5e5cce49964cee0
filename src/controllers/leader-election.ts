import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { sleep } from '../cluster/watch-backoff.js';
import { describeError } from '../errors.js';
import type { Leadership } from './leadership.js';

// Leader election on a coordination.k8s.io/v1 Lease, with client-go's
// semantics (k8s.io/client-go/tools/leaderelection/leaderelection.go):
// a candidate takes the Lease only when its holder has not renewed it for
// leaseDuration, measured on the candidate's own clock from the moment it
// last saw the record change (so clock skew between replicas does not
// matter); the leader renews every retryPeriod and steps down when it could
// not renew for renewDeadline, which is shorter than leaseDuration, so it has
// stopped writing before anyone else may start. Writes are optimistic
// (resourceVersion): two candidates never both win one round.

export interface LeaderElectionTimings {
  /** How long a holder's claim lasts without renewal (client-go default 15 s). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long steps down (default 10 s; < leaseDurationMs). */
  renewDeadlineMs: number;
  /** Between two attempts to acquire or renew (default 2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the Lease (the release namespace in the chart). */
  namespace: string;
  /** Name of the Lease, one per group of replicas that must have one writer. */
  name: string;
  /** This replica's identity in the Lease; default: hostname (the pod name) plus a random suffix. */
  identity?: string;
  timings?: Partial<LeaderElectionTimings>;
  logger: Logger;
  /** Where the leadership metrics go (the app's registry); a private one when absent. */
  registry?: Registry;
  /**
   * Called when this replica becomes the leader. `signal` aborts when it
   * stops being the leader (lost the Lease, or `stop()`): work started here
   * must end then. May be async; its errors are logged, never thrown.
   */
  onStartedLeading?(signal: AbortSignal): void | Promise<void>;
  /** Called after leadership ended (never without a preceding onStartedLeading). */
  onStoppedLeading?(): void | Promise<void>;
  /** Called when the observed holder changes (including to this replica). */
  onNewLeader?(identity: string): void;
}

/**
 * Work that runs only while this replica leads (the baseline reconciler):
 * started with a signal that aborts when leadership ends, and awaited before
 * the Lease is released, so no write of it can follow another replica's.
 */
export interface LeaderWork {
  start(signal: AbortSignal): void;
  stopped(): Promise<void>;
}

export function defaultIdentity(): string {
  return `${process.env.POD_NAME || hostname()}_${randomBytes(4).toString('hex')}`;
}

function gauge(registry: Registry, name: string, help: string): Gauge<'lease'> {
  return (registry.getSingleMetric(name) as Gauge<'lease'> | undefined) ?? new Gauge({ name, help, labelNames: ['lease'], registers: [registry] });
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

const statusOf = (e: unknown) => (e instanceof ApiException ? e.code : undefined);

/**
 * One replica's candidacy for one Lease. `start()` runs the election loop in
 * the background; `stop()` ends it, steps down and releases the Lease so
 * another replica takes over at once rather than after leaseDuration.
 */
export class LeaderElector implements Leadership {
  readonly identity: string;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private readonly works = new Set<LeaderWork>();
  private readonly api: CoordinationV1Api;
  private readonly timings: LeaderElectionTimings;
  private readonly logger: Logger;
  private readonly leaderGauge: Gauge<'lease'>;
  private readonly transitions: Counter<'lease' | 'event'>;
  private readonly attempts: Counter<'lease' | 'result'>;
  private loop: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();
  private leading: AbortController | undefined;
  private lastRenew = 0;
  private observed = { holder: '', renew: '', at: 0 };
  private current: V1Lease | undefined;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.identity = opts.identity ?? defaultIdentity();
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.timings = { ...DEFAULT_LEADER_TIMINGS, ...opts.timings };
    if (this.timings.renewDeadlineMs >= this.timings.leaseDurationMs) throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    this.logger = opts.logger.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
    const registry = opts.registry ?? new Registry();
    this.leaderGauge = gauge(registry, 'tenant_guard_leader', '1 while this replica holds the controllers\' Lease, else 0');
    this.transitions = counter(registry, 'tenant_guard_leader_transitions_total', 'Leadership changes of this replica: event="acquired" or "lost"', ['lease', 'event']);
    this.attempts = counter(registry, 'tenant_guard_leader_lease_attempts_total', 'Attempts to acquire or renew the Lease, by result (held, busy, conflict, error)', ['lease', 'result']);
    this.leaderGauge.set({ lease: opts.name }, 0);
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** Leadership as the controllers that poll it see it (certificates, PolicyReports); called on every change. */
  onChange(cb: (leader: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Run `work` whenever this replica leads (at once if it leads now); returns a removal. */
  addWork(work: LeaderWork): () => void {
    this.works.add(work);
    if (this.leading) work.start(this.leading.signal);
    return () => this.works.delete(work);
  }

  /** The holder last seen in the Lease ('' when free or not read yet). */
  leader(): string {
    return this.observed.holder;
  }

  start(): void {
    if (this.loop) return;
    this.logger.info(this.timings, 'leader election started');
    this.loop = this.run();
  }

  /** Ends the candidacy; steps down and releases the Lease if held. Idempotent. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.loop;
    if (this.leading) {
      // Stop the work first, then hand the Lease over: no write after another replica may lead.
      await this.stepDown('stopped');
      await this.release();
    }
  }

  private async run(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.timings;
    while (!this.stopSignal.signal.aborted) {
      // A hung API call must not keep a leader past its renew deadline (it
      // would go on writing after another replica took over): the round is
      // given up at the deadline, as client-go bounds it with a timeout.
      const budget = this.leading ? Math.max(retryPeriodMs, renewDeadlineMs - (Date.now() - this.lastRenew)) : renewDeadlineMs;
      const held = await this.withTimeout(this.tryAcquireOrRenew(), budget);
      if (this.stopSignal.signal.aborted) break;
      const now = Date.now();
      if (held) {
        this.lastRenew = now;
        if (!this.leading) this.becomeLeader();
      } else if (this.leading && (this.observed.holder !== this.identity || now - this.lastRenew >= renewDeadlineMs)) {
        await this.stepDown(this.observed.holder !== this.identity ? `the Lease is held by ${this.observed.holder || 'nobody'}` : `not renewed for ${renewDeadlineMs} ms`);
      }
      // Candidates jitter (client-go JitterFactor 1.2) so they do not all retry at once.
      await sleep(this.leading ? retryPeriodMs : retryPeriodMs * (1 + Math.random() * 0.2), this.stopSignal.signal);
    }
  }

  private async withTimeout(round: Promise<boolean>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.logger.warn({ timeoutMs: ms }, 'the Lease request did not answer in time');
        resolve(false);
      }, ms);
    });
    try {
      return await Promise.race([round, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private becomeLeader(): void {
    this.leading = new AbortController();
    this.leaderGauge.set({ lease: this.opts.name }, 1);
    this.transitions.inc({ lease: this.opts.name, event: 'acquired' });
    this.logger.info('became the leader');
    const signal = this.leading.signal;
    Promise.resolve()
      .then(() => this.opts.onStartedLeading?.(signal))
      .catch((e: unknown) => this.logger.error({ err: describeError(e) }, 'onStartedLeading failed'));
    for (const w of this.works) this.guard('a leader-only controller failed to start', () => w.start(signal));
    for (const cb of this.listeners) this.guard('a leadership listener failed', () => cb(true));
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.logger.error({ err: describeError(e) }, what);
    }
  }

  private async stepDown(why: string): Promise<void> {
    const leading = this.leading;
    if (!leading) return;
    this.leading = undefined;
    leading.abort();
    this.leaderGauge.set({ lease: this.opts.name }, 0);
    this.transitions.inc({ lease: this.opts.name, event: 'lost' });
    this.logger.warn({ reason: why }, 'stopped leading');
    // Everything leader-only stops together: the polling controllers are told, the leader work is awaited.
    for (const cb of this.listeners) this.guard('a leadership listener failed', () => cb(false));
    try {
      await this.opts.onStoppedLeading?.();
    } catch (e) {
      this.logger.error({ err: describeError(e) }, 'onStoppedLeading failed');
    }
    await Promise.all([...this.works].map((w) => w.stopped().catch((e: unknown) => this.logger.error({ err: describeError(e) }, 'a leader-only controller failed to stop'))));
  }

  private observe(lease: V1Lease | undefined, now: number): void {
    this.current = lease;
    const holder = lease?.spec?.holderIdentity ?? '';
    const renew = lease?.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : '';
    if (holder !== this.observed.holder || renew !== this.observed.renew) {
      const changed = holder !== this.observed.holder;
      this.observed = { holder, renew, at: now };
      if (changed && holder) {
        this.logger.info({ leader: holder }, 'new leader observed');
        try {
          this.opts.onNewLeader?.(holder);
        } catch (e) {
          this.logger.error({ err: describeError(e) }, 'onNewLeader failed');
        }
      }
    }
  }

  /** One round: true when this replica holds the Lease afterwards. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.opts;
    const now = Date.now();
    const durationS = Math.ceil(this.timings.leaseDurationMs / 1000);
    const result = (r: 'held' | 'busy' | 'conflict' | 'error') => {
      this.attempts.inc({ lease: name, result: r });
      return r === 'held';
    };
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (e) {
        if (statusOf(e) !== 404) throw e;
        const created = await this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: this.identity, leaseDurationSeconds: durationS, acquireTime: new V1MicroTime(now), renewTime: new V1MicroTime(now), leaseTransitions: 0 },
          },
        });
        this.observe(created, now);
        return result('held');
      }
      this.observe(lease, now);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const heldMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
      if (holder && holder !== this.identity && this.observed.at + heldMs > now) return result('busy');
      const mine = holder === this.identity;
      const updated = await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: this.identity,
            leaseDurationSeconds: durationS,
            renewTime: new V1MicroTime(now),
            acquireTime: mine && spec.acquireTime ? new V1MicroTime(new Date(spec.acquireTime).getTime()) : new V1MicroTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      this.observe(updated, now);
      return result('held');
    } catch (e) {
      // 409: another replica wrote the Lease between our read and write; it won this round.
      if (statusOf(e) === 409) return result('conflict');
      this.logger.warn({ err: describeError(e) }, 'could not acquire or renew the Lease');
      return result('error');
    }
  }

  /** Let the next candidate take over now (client-go ReleaseOnCancel): an empty holder is free. */
  private async release(): Promise<void> {
    const lease = this.current;
    if (!lease?.metadata || lease.spec?.holderIdentity !== this.identity) return;
    try {
      await this.api.replaceNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()) } },
      });
      this.logger.info('released the Lease');
    } catch (e) {
      this.logger.warn({ err: describeError(e) }, 'could not release the Lease; another replica takes over once it expires');
    }
  }
}
