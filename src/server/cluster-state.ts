import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadManifests, onceStdin } from '../cluster/manifests.js';
import { MemoryStore } from '../cluster/memory-store.js';
import { describeError, TenantGuardError, describeFsError } from '../errors.js';

/** The cluster state the engine reads, and whether it is complete. */
export interface StateSource {
  store: MemoryStore;
  isSynced(): boolean;
  /** Begin filling the store (a no-op for manifests); resolves after the first full sync. */
  start(): Promise<void>;
  stop(): Promise<void>;
  describe: string;
  /** The live cluster's client config (controllers write through it); absent for manifests. */
  kubeConfig?: import('@kubernetes/client-node').KubeConfig;
}

/**
 * A state seeded once from manifests, as `check --state` does. An object in
 * the state went through no admission: it is just stored, as the informers
 * would store what is already in a cluster.
 */
export async function manifestState(paths: string[], cwd: string, stdin?: Readable): Promise<StateSource> {
  const store = new MemoryStore();
  const manifests = await loadManifests(paths, { cwd, ...(stdin ? { stdin: onceStdin(stdin) } : {}) });
  for (const m of manifests) store.upsert(m.object);
  return {
    store,
    isSynced: () => true,
    start: async () => undefined,
    stop: async () => undefined,
    describe: paths.length > 0 ? `${store.size()} objects from ${paths.join(', ')}` : 'empty',
  };
}

export interface ClusterConnection {
  /** A kubeconfig file; ignored when inCluster is set. */
  kubeconfig?: string;
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST and the mounted token). */
  inCluster: boolean;
}

/**
 * A state kept in line with a live cluster by list+watch
 * (src/cluster/informers.ts). Loaded lazily: the Kubernetes client is heavy
 * and the default, offline `serve` does not need it.
 */
export async function liveState(conn: ClusterConnection, logger: Logger, registry: Registry): Promise<StateSource> {
  const [{ KubeConfig }, { ClusterWatcher }] = await Promise.all([import('@kubernetes/client-node'), import('../cluster/informers.js')]);
  const kubeConfig = new KubeConfig();
  try {
    if (conn.inCluster) kubeConfig.loadFromCluster();
    else kubeConfig.loadFromFile(conn.kubeconfig!);
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CLUSTER', `cannot load ${conn.inCluster ? 'the in-cluster config' : conn.kubeconfig}: ${describeFsError(e)}`);
  }
  const store = new MemoryStore();
  const watcher = new ClusterWatcher({ kubeConfig, store, logger, registry });
  return {
    store,
    isSynced: () => watcher.isSynced(),
    start: () => watcher.start(),
    stop: () => watcher.stop(),
    describe: `live cluster ${kubeConfig.getCurrentCluster()?.server ?? '(unknown server)'}`,
    kubeConfig,
  };
}
