import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { TenantGuardError } from '../errors.js';
import { KubeClient } from './kube-client.js';
import type { MemoryStore } from './memory-store.js';
import { GK, type GroupKind } from './state.js';
import { DEFAULT_TUNING, KindWatch, type WatchTuning } from './watch-loop.js';

/**
 * The kinds decisions read from the cluster state (src/engine, src/mesh):
 * namespace labels say which tenant owns a namespace; the Istio policies are
 * compared with what is already there (e.g. "the last ALLOW policy of a
 * namespace"); Knative Services and Configurations hold the templates whose
 * pods will carry the tenant's identity. Pods and Revisions are left out on
 * purpose: they are the most numerous and churning objects of a cluster, and
 * no decision looks them up.
 */
export const WATCHED_KINDS: readonly GroupKind[] = [
  GK.Namespace,
  GK.AuthorizationPolicy,
  GK.PeerAuthentication,
  GK.RequestAuthentication,
  GK.DestinationRule,
  GK.Gateway,
  GK.VirtualService,
  GK.ServiceEntry,
  GK.Sidecar,
  GK.EnvoyFilter,
  GK.WasmPlugin,
  GK.KnativeService,
  GK.KnativeConfiguration,
  // Few, and read by Namespace reviews (engine/domain-mapping-claims.ts).
  GK.KnativeDomainMapping,
];

export interface ClusterWatcherOptions {
  kubeConfig: KubeConfig;
  store: MemoryStore;
  logger: Logger;
  /** Where the watch metrics go; a private registry when absent. */
  registry?: Registry;
  /** Kinds to watch (default WATCHED_KINDS). */
  kinds?: readonly GroupKind[];
  /** Retry timings (tests shorten them). */
  tuning?: Partial<WatchTuning>;
}

/**
 * Keeps the MemoryStore in line with the API server: one list+watch per kind.
 * `start()` resolves once every kind has been listed once (a kind the API
 * server does not serve counts as listed and empty); from then on
 * `isSynced()` is true, also while a dropped watch is being re-established,
 * because decisions keep using the last known state meanwhile.
 */
export class ClusterWatcher {
  private readonly watches: KindWatch[];
  private readonly logger: Logger;
  private abort: AbortController | undefined;
  private loops: Promise<void>[] = [];
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly restarts: Counter<'kind'>;
  private readonly syncedGauge: Gauge<'kind'>;

  constructor(private readonly opts: ClusterWatcherOptions) {
    this.logger = opts.logger.child({ component: 'cluster-watcher' });
    const registry = opts.registry ?? new Registry();
    const kinds = opts.kinds ?? WATCHED_KINDS;
    this.restarts = new Counter({
      name: 'tenant_guard_watch_restarts_total',
      help: 'List/watch restarts per kind after a dropped watch, a failed list or an expired resourceVersion',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.syncedGauge = new Gauge({
      name: 'tenant_guard_watch_synced',
      help: '1 once a kind has been listed from the API server (0 before the first sync)',
      labelNames: ['kind'],
      registers: [registry],
    });
    const store = opts.store;
    new Gauge({
      name: 'tenant_guard_state_objects',
      help: 'Objects of each kind in the in-memory cluster state',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        for (const k of kinds) this.set({ kind: k }, store.list(k).length);
      },
    });
    const client = new KubeClient(opts.kubeConfig);
    const tuning: WatchTuning = { ...DEFAULT_TUNING, ...opts.tuning };
    const events = {
      synced: (gk: GroupKind) => {
        this.syncedGauge.set({ kind: gk }, 1);
        this.checkSynced();
      },
      restarted: (gk: GroupKind) => this.restarts.inc({ kind: gk }),
    };
    for (const k of kinds) {
      this.restarts.inc({ kind: k }, 0);
      this.syncedGauge.set({ kind: k }, 0);
    }
    this.watches = kinds.map((k) => new KindWatch(k, client, opts.store, this.logger, tuning, events));
    this.logger.debug({ server: client.server, kinds }, 'cluster watcher created');
  }

  /** Starts every watch; resolves after the first full sync of every kind. */
  start(): Promise<void> {
    if (this.abort) return Promise.reject(new TenantGuardError('TG_ERR_CLUSTER', 'the cluster watcher is already started'));
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const synced = new Promise<void>((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
    this.loops = this.watches.map((w) =>
      w.run(signal).catch((e: unknown) => {
        // run() only returns on abort; anything else is a bug worth a loud log.
        this.logger.error({ kind: w.gk, err: e }, 'watch loop crashed');
      }),
    );
    this.checkSynced();
    return synced;
  }

  isSynced(): boolean {
    return this.watches.every((w) => w.synced);
  }

  /** Stops every watch; a pending `start()` rejects. */
  async stop(): Promise<void> {
    if (!this.abort) return;
    this.abort.abort();
    const waiters = this.syncWaiters.splice(0);
    for (const w of waiters) w.reject(new TenantGuardError('TG_ERR_CLUSTER', 'the cluster watcher was stopped before the first sync'));
    await Promise.all(this.loops);
    this.logger.info('cluster watcher stopped');
  }

  private checkSynced(): void {
    if (this.syncWaiters.length === 0 || !this.isSynced()) return;
    const waiters = this.syncWaiters.splice(0);
    this.logger.info({ objects: this.opts.store.size(), kinds: this.watches.length }, 'cluster state synced');
    for (const w of waiters) w.resolve();
  }
}
