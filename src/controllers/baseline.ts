import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isHttpStatus, type KubeClient } from '../cluster/kube-client.js';
import type { MemoryStore } from '../cluster/memory-store.js';
import { GK, groupOf, type GroupKind } from '../cluster/state.js';
import { Backoff, sleep } from '../cluster/watch-backoff.js';
import type { TenancyConfig } from '../config/types.js';
import type { KubeObject } from '../engine/types.js';
import { describeError } from '../errors.js';
import { baselineObjectsFor } from '../tenancy/baseline-objects.js';
import { planBaseline, type BaselineAction } from './baseline-plan.js';

/** Kinds whose changes can change the plan: namespaces (tenants, labels), the baseline's own kinds, and Gateways (the local gateway's listener ports). */
const TRIGGER_KINDS: ReadonlySet<GroupKind> = new Set([GK.Namespace, GK.PeerAuthentication, GK.AuthorizationPolicy, GK.Gateway]);

const PLURAL: Record<string, string> = { PeerAuthentication: 'peerauthentications', AuthorizationPolicy: 'authorizationpolicies' };

export const FIELD_MANAGER = 'tenant-guard';

export interface BaselineReconcilerTuning {
  /** Coalesce a burst of changes (a relist) into one pass. */
  debounceMs: number;
  /** A full pass at least this often, even with no change seen (level-based safety net). */
  resyncMs: number;
  /** How often the config is checked for a reload. */
  configPollMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RECONCILER_TUNING: BaselineReconcilerTuning = {
  debounceMs: 100,
  resyncMs: 60_000,
  configPollMs: 1_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
};

export interface BaselineReconcilerOptions {
  client: KubeClient;
  /** The ClusterWatcher's store: the reconciler reads only this, never lists on its own. */
  store: MemoryStore;
  isSynced(): boolean;
  config(): TenancyConfig | undefined;
  logger: Logger;
  registry?: Registry;
  tuning?: Partial<BaselineReconcilerTuning>;
}

export interface ReconcileOutcome {
  created: number;
  updated: number;
  deleted: number;
  conflicts: number;
  errors: number;
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * Keeps the baseline (src/tenancy/baseline-objects.ts) in the cluster:
 * level-based, from the watcher's state. Each pass computes the desired
 * objects, compares them with the state and writes the difference; a change
 * to a namespace or to a PeerAuthentication/AuthorizationPolicy triggers a
 * pass, and a periodic resync catches anything missed. Failed writes are
 * retried with backoff; the loop never throws.
 */
export class BaselineReconciler {
  private readonly tuning: BaselineReconcilerTuning;
  private readonly logger: Logger;
  private wake: (() => void) | undefined;
  private dirty = true;
  private readonly passes: Counter<'controller' | 'result'>;
  private readonly duration: Histogram<'controller'>;
  private readonly writes: Counter<'action' | 'kind'>;
  private readonly driftRepairs: Counter<'kind'>;
  private readonly conflicts: Gauge<'controller'>;

  constructor(private readonly opts: BaselineReconcilerOptions) {
    this.tuning = { ...DEFAULT_RECONCILER_TUNING, ...opts.tuning };
    this.logger = opts.logger.child({ component: 'baseline' });
    const registry = opts.registry ?? new Registry();
    const registers = [registry];
    this.passes = metric(registry, 'tenant_guard_reconcile_total', () => new Counter({ name: 'tenant_guard_reconcile_total', help: 'Reconcile passes by controller and result (success, error: some write failed and is retried with backoff)', labelNames: ['controller', 'result'], registers }));
    this.duration = metric(registry, 'tenant_guard_reconcile_duration_seconds', () => new Histogram({ name: 'tenant_guard_reconcile_duration_seconds', help: 'Duration of a reconcile pass, writes included', labelNames: ['controller'], buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers }));
    this.writes = new Counter({ name: 'tenant_guard_baseline_writes_total', help: 'Baseline objects written, by action (create, update, delete) and kind', labelNames: ['action', 'kind'], registers });
    this.driftRepairs = new Counter({ name: 'tenant_guard_baseline_drift_repairs_total', help: 'Managed baseline objects found changed and put back, by kind', labelNames: ['kind'], registers });
    this.conflicts = metric(registry, 'tenant_guard_reconcile_conflicts', () => new Gauge({ name: 'tenant_guard_reconcile_conflicts', help: 'Objects a controller wants to write whose name is taken by an object it does not manage (left alone) in the last pass', labelNames: ['controller'], registers }));
    this.passes.inc({ controller: 'baseline', result: 'success' }, 0);
    this.passes.inc({ controller: 'baseline', result: 'error' }, 0);
  }

  /** Ask for a pass soon (coalesced). */
  trigger(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Runs until `signal` aborts (leadership lost, shutdown). */
  async run(signal: AbortSignal): Promise<void> {
    const unsubscribe = this.opts.store.onChange((gk) => {
      if (TRIGGER_KINDS.has(gk)) this.trigger();
    });
    const backoff = new Backoff({ initialMs: this.tuning.backoffInitialMs, maxMs: this.tuning.backoffMaxMs });
    let lastConfig: TenancyConfig | undefined;
    let lastPass = 0;
    this.dirty = true;
    this.logger.info('baseline reconciler started');
    try {
      while (!signal.aborted) {
        const config = this.opts.config();
        if (config !== lastConfig) this.dirty = true;
        if (Date.now() - lastPass >= this.tuning.resyncMs) this.dirty = true;
        if (!this.dirty || !this.opts.isSynced() || !config) {
          await this.idle(signal);
          continue;
        }
        await sleep(this.tuning.debounceMs, signal);
        if (signal.aborted) break;
        this.dirty = false;
        lastConfig = config;
        lastPass = Date.now();
        const outcome = await this.reconcileOnce(config, signal);
        if (outcome.errors > 0) {
          // Retry the whole level-based pass; the state may have moved meanwhile.
          this.dirty = true;
          await sleep(backoff.next(), signal);
        } else {
          backoff.reset();
        }
      }
    } finally {
      unsubscribe();
      this.wake = undefined;
      this.logger.info('baseline reconciler stopped');
    }
  }

  /** Wait for a trigger or the config poll tick. */
  private idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.tuning.configPollMs);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /** One pass: plan from the state, then write. Never throws. */
  async reconcileOnce(config: TenancyConfig, signal?: AbortSignal): Promise<ReconcileOutcome> {
    const outcome: ReconcileOutcome = { created: 0, updated: 0, deleted: 0, conflicts: 0, errors: 0 };
    // Off: nothing is written and nothing is removed; turning the baseline off
    // must not reopen every tenant namespace at once (docs/baseline.md).
    if (!config.baseline.enabled) return outcome;
    const end = this.duration.startTimer({ controller: 'baseline' });
    let actions: BaselineAction[];
    try {
      actions = planBaseline(baselineObjectsFor(config, this.opts.store), this.opts.store);
    } catch (e) {
      this.logger.error({ err: describeError(e) }, 'could not plan the baseline');
      this.passes.inc({ controller: 'baseline', result: 'error' });
      end();
      return { ...outcome, errors: 1 };
    }
    // Deletes last, and only when everything else went through: an object
    // renamed by a config change is removed once its successor exists.
    for (const a of actions) {
      if (signal?.aborted || (a.type === 'delete' && outcome.errors > 0)) break;
      await this.apply(a, outcome, signal);
    }
    this.conflicts.set({ controller: 'baseline' }, outcome.conflicts);
    this.passes.inc({ controller: 'baseline', result: outcome.errors > 0 ? 'error' : 'success' });
    end();
    if (actions.length > 0) this.logger.info({ ...outcome }, 'baseline reconciled');
    return outcome;
  }

  private path(o: KubeObject, named: boolean): string {
    const [group, version] = [groupOf(o.apiVersion), o.apiVersion.split('/')[1]];
    const base = `/apis/${group}/${version}/namespaces/${encodeURIComponent(o.metadata.namespace!)}/${PLURAL[o.kind]}`;
    return named ? `${base}/${encodeURIComponent(o.metadata.name!)}` : base;
  }

  private async apply(a: BaselineAction, outcome: ReconcileOutcome, signal?: AbortSignal): Promise<void> {
    const o = a.object;
    const ref = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
    const query = { fieldManager: FIELD_MANAGER };
    // Leadership lost mid-pass: a write still in flight is aborted, not finished behind the new leader's back.
    const opts = signal ? { query, signal } : { query };
    try {
      switch (a.type) {
        case 'create':
          await this.opts.client.request('POST', this.path(o, false), { ...opts, body: o });
          this.writes.inc({ action: 'create', kind: o.kind });
          outcome.created++;
          this.logger.info(ref, 'baseline object created');
          break;
        case 'update':
          await this.opts.client.request('PUT', this.path(o, true), { ...opts, body: o });
          this.writes.inc({ action: 'update', kind: o.kind });
          this.driftRepairs.inc({ kind: o.kind });
          outcome.updated++;
          this.logger.warn({ ...ref, drift: a.drift }, 'baseline object had drifted; repaired');
          break;
        case 'delete':
          // Preconditions: never delete an object recreated under the same name since we saw it.
          await this.opts.client.request('DELETE', this.path(o, true), {
            ...(signal ? { signal } : {}),
            body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion } },
          });
          this.writes.inc({ action: 'delete', kind: o.kind });
          outcome.deleted++;
          this.logger.info(ref, 'baseline object no longer needed (its namespace or tenant is gone); deleted');
          break;
        case 'conflict':
          outcome.conflicts++;
          this.logger.warn(ref, 'an object not managed by tenant-guard has the name of a baseline object; left alone');
          break;
      }
    } catch (e) {
      if (signal?.aborted) return;
      outcome.errors++;
      // 409: already there (our own write not yet seen through the watch) or
      // changed since we read it; the next pass, after a short backoff, sees the new state.
      const raced = isHttpStatus(e, 409) || (a.type === 'delete' && isHttpStatus(e, 404));
      if (raced) this.logger.debug({ ...ref, action: a.type, err: describeError(e) }, 'baseline write raced another change; retried');
      else this.logger.warn({ ...ref, action: a.type, err: describeError(e) }, 'baseline write failed; retried with backoff');
    }
  }
}
