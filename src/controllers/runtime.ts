// The controllers of `serve` (certificates mode self, PolicyReports) and the
// one leader election they share. src/server/run.ts starts them before it
// loads the serving pair (mode self provides it) and hands them the config
// once it is loaded.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TenancyConfig } from '../config/types.js';
import type { Leadership } from './leadership.js';
import { createPolicyReportMetrics, PolicyReportController } from './policy-reports.js';
import { kubeClientFor, startSelfCerts, type SelfCertsOptions, type SelfCertsRuntime } from './self-certs-runtime.js';

export interface ControllersOptions {
  /** The leader-election Lease. */
  leaderLease: { namespace: string; name: string };
  /** This replica's identity in the Lease (the pod name in a cluster). */
  replica: string;
  selfCerts?: SelfCertsOptions;
  /** Interval of the PolicyReport audit; absent: no PolicyReports. */
  policyReportsIntervalMs?: number;
}

export interface ControllersRuntime {
  /** The serving pair of mode self; undefined otherwise. */
  tlsFiles: SelfCertsRuntime['files'] | undefined;
  /** The listener is up: mode self reports what it serves; PolicyReports start with the config. */
  serving(host: string, port: number, config: () => TenancyConfig | undefined): void;
  stop(): Promise<void>;
}

/**
 * `election` is the one Lease of every leader-only controller of the process
 * (server/run.ts owns and stops it): certificates, PolicyReports and the
 * baseline lead and stop together.
 */
export async function startControllers(
  opts: ControllersOptions,
  conn: { inCluster: boolean; kubeconfig?: string },
  logger: Logger,
  registry: Registry,
  election: Leadership,
): Promise<ControllersRuntime> {
  const client = kubeClientFor(conn);
  let selfCerts: SelfCertsRuntime | undefined;
  if (opts.selfCerts) selfCerts = await startSelfCerts(opts.selfCerts, client, election, logger, registry);
  let reports: PolicyReportController | undefined;
  return {
    tlsFiles: selfCerts?.files,
    serving(host, port, config) {
      selfCerts?.report(host, port);
      if (opts.policyReportsIntervalMs !== undefined && !reports) {
        reports = new PolicyReportController(client, config, election, opts.policyReportsIntervalMs, logger.child({ component: 'policy-reports' }), createPolicyReportMetrics(registry)).start();
      }
    },
    async stop() {
      await reports?.stop();
      await selfCerts?.stop();
    },
  };
}
