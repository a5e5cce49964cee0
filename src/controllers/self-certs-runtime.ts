// Wiring of certificates mode `self` inside `serve`: the leader's
// certificates controller, this replica's Secret source and its
// serving report. src/server/run.ts calls start() before it loads the
// serving pair and report() once it listens.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KubeConfig } from '@kubernetes/client-node';
import { describeFsError, TenantGuardError } from '../errors.js';
import { KubeClient } from '../cluster/kube-client.js';
import { SecretSource } from '../certs/secret-source.js';
import type { SelfCertSettings } from '../certs/self-rotation.js';
import type { Leadership } from './leadership.js';
import { createSelfCertificatesMetrics, SelfCertificatesController, type WebhookConfigurationNames } from './self-certificates.js';
import { ServingReporter } from './serving-report.js';

export interface SelfCertsOptions {
  namespace: string;
  secretName: string;
  /** Where this replica writes the pair it serves. */
  dir: string;
  /** This replica's name (the pod name in a cluster). */
  replica: string;
  settings: SelfCertSettings;
  webhooks: WebhookConfigurationNames;
  resyncMs: number;
  reportProbeMs: number;
  reportLeaseMs: number;
  /** How long a starting replica waits for the leader to put a serving pair in the Secret. */
  startTimeoutMs: number;
}

export const SELF_CERTS_DEFAULTS = {
  caLifetimeMs: 365 * 86_400_000,
  servingLifetimeMs: 90 * 86_400_000,
  renewFraction: 2 / 3,
  settleMs: 30_000,
  overlapMs: 120_000,
  resyncMs: 30_000,
  reportProbeMs: 5_000,
  reportLeaseMs: 30_000,
  startTimeoutMs: 120_000,
  caCommonName: 'tenant-guard webhook CA',
} as const;

export function defaultReplicaName(): string {
  return process.env.POD_NAME || hostname();
}

export interface SelfCertsRuntime {
  files: { certFile: string; keyFile: string };
  /** Start reporting what the listener at host:port serves. */
  report(host: string, port: number): void;
  stop(): Promise<void>;
}

export function kubeConfigFor(conn: { inCluster: boolean; kubeconfig?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (conn.inCluster) kc.loadFromCluster();
    else kc.loadFromFile(conn.kubeconfig!);
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CLUSTER', `cannot load ${conn.inCluster ? 'the in-cluster config' : conn.kubeconfig}: ${describeFsError(e)}`);
  }
  return kc;
}

export function kubeClientFor(conn: { inCluster: boolean; kubeconfig?: string }): KubeClient {
  return new KubeClient(kubeConfigFor(conn));
}

export async function startSelfCerts(opts: SelfCertsOptions, client: KubeClient, leadership: Leadership, logger: Logger, registry: Registry): Promise<SelfCertsRuntime> {
  const controller = new SelfCertificatesController(
    client,
    { namespace: opts.namespace, secretName: opts.secretName, settings: opts.settings, webhooks: opts.webhooks, resyncMs: opts.resyncMs },
    leadership,
    logger.child({ component: 'certificates' }),
    createSelfCertificatesMetrics(registry),
  ).start();
  const source = new SecretSource(client, { namespace: opts.namespace, secretName: opts.secretName, dir: opts.dir }, logger.child({ component: 'certificate-source' }));
  try {
    await source.start(opts.startTimeoutMs);
  } catch (e) {
    await controller.stop();
    throw e;
  }
  let reporter: ServingReporter | undefined;
  return {
    files: source.files,
    report(host, port) {
      reporter ??= new ServingReporter(
        client,
        { namespace: opts.namespace, secretName: opts.secretName, replica: opts.replica, host, port, probeMs: opts.reportProbeMs, leaseDurationMs: opts.reportLeaseMs },
        logger.child({ component: 'serving-report' }),
      ).start();
    },
    async stop() {
      await reporter?.stop();
      await controller.stop();
      await source.stop();
    },
  };
}
