import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KubeClient } from '../cluster/kube-client.js';
import type { MemoryStore } from '../cluster/memory-store.js';
import type { TenancyConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { BaselineReconciler, type BaselineReconcilerTuning } from './baseline.js';
import { LeaderElector, type LeaderElectionTimings } from './leader-election.js';

export interface ControllerOptions {
  /** Namespace of the Lease (the release namespace). */
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  timings?: Partial<LeaderElectionTimings>;
  reconcilerTuning?: Partial<BaselineReconcilerTuning>;
}

export interface RunningControllers {
  elector: LeaderElector;
  /** Stop the reconcilers, then release the Lease (idempotent). */
  stop(): Promise<void>;
}

/**
 * `serve --controllers`: the reconcilers run on the replica that holds the
 * Lease, and stop the moment it loses it; every replica keeps serving
 * admission meanwhile. The reconcilers read the watcher's store (the same
 * state admission decides from) and write through the same kubeconfig.
 */
export function startControllers(
  opts: ControllerOptions,
  deps: { kubeConfig: KubeConfig; store: MemoryStore; isSynced(): boolean; config(): TenancyConfig | undefined; logger: Logger; registry: Registry },
  /** The one elector of every leader-only controller (server/run.ts); its own on opts' Lease when absent. */
  shared?: LeaderElector,
): RunningControllers {
  const logger = deps.logger.child({ component: 'controllers' });
  const baseline = new BaselineReconciler({
    client: new KubeClient(deps.kubeConfig),
    store: deps.store,
    isSynced: deps.isSynced,
    config: deps.config,
    logger: deps.logger,
    registry: deps.registry,
    ...(opts.reconcilerTuning ? { tuning: opts.reconcilerTuning } : {}),
  });
  let running: Promise<void> | undefined;
  if (shared) {
    const remove = shared.addWork({
      start: (signal) => {
        running = baseline.run(signal).catch((e: unknown) => logger.error({ err: describeError(e) }, 'baseline reconciler crashed'));
      },
      stopped: async () => {
        await running;
      },
    });
    // The shared elector is stopped by its owner (which steps down and awaits the reconciler before releasing the Lease).
    return { elector: shared, stop: async () => void remove() };
  }
  const elector = new LeaderElector({
    kubeConfig: deps.kubeConfig,
    namespace: opts.leaseNamespace,
    name: opts.leaseName,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.timings ? { timings: opts.timings } : {}),
    logger: deps.logger,
    registry: deps.registry,
    onStartedLeading: (signal) => {
      running = baseline.run(signal).catch((e: unknown) => logger.error({ err: describeError(e) }, 'baseline reconciler crashed'));
    },
    onStoppedLeading: async () => {
      await running;
    },
  });
  elector.start();
  let stopping: Promise<void> | undefined;
  return { elector, stop: () => (stopping ??= elector.stop()) };
}
