// The live PolicyReport controller (serve --policy-reports): on the leader,
// every `intervalMs`, audit the cluster as `tenant-guard audit` does and write
// the result as PolicyReports (src/reports/). A periodic full audit, not a
// per-event one: a report is for people and dashboards, and admission itself
// never waits for it.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KubeClient } from '../cluster/kube-client.js';
import type { TenancyConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { computeMatrix } from '../mesh/matrix.js';
import { openCrossTenantPaths } from '../reports/audit-report.js';
import { judgeSnapshot, snapshotCluster } from '../reports/cluster-audit.js';
import { buildPolicyReports } from '../reports/policy-reports.js';
import { writePolicyReports } from '../reports/write-policy-reports.js';
import type { Leadership } from './leadership.js';

export interface PolicyReportMetrics {
  runs: Counter<'result'>;
  results: Gauge<'result'>;
}

export function createPolicyReportMetrics(registry: Registry): PolicyReportMetrics {
  const registers = [registry];
  return {
    runs: new Counter({ name: 'tenant_guard_policy_report_runs_total', help: 'PolicyReport audits by result (success, error).', labelNames: ['result'], registers }),
    results: new Gauge({ name: 'tenant_guard_policy_report_results', help: 'Results in the last PolicyReports written, by result (pass, fail, warn).', labelNames: ['result'], registers }),
  };
}

export class PolicyReportController {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly config: () => TenancyConfig | undefined,
    private readonly leadership: Leadership,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly metrics?: PolicyReportMetrics,
  ) {}

  start(): this {
    this.unsubscribe = this.leadership.onChange((leader) => (leader ? this.schedule(0) : this.cancel()));
    if (this.leadership.isLeader()) this.schedule(0);
    return this;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.cancel();
    await this.running;
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        if (this.leadership.isLeader()) this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** One audit and write; never throws (logged and counted). */
  async runOnce(): Promise<void> {
    const config = this.config();
    if (!config) return;
    try {
      const snap = await snapshotCluster(this.client, config);
      const results = judgeSnapshot(snap, config);
      const openPaths = openCrossTenantPaths(computeMatrix(snap.store, config));
      const reports = buildPolicyReports(results, openPaths, new Date());
      const w = await writePolicyReports(this.client, reports);
      const totals = { pass: 0, fail: 0, warn: 0 };
      for (const r of [...reports.namespaced, reports.cluster]) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.summary[k];
      for (const [k, v] of Object.entries(totals)) this.metrics?.results.set({ result: k }, v);
      this.metrics?.runs.inc({ result: 'success' });
      this.logger.info({ reports: w.written, deleted: w.deleted, ...totals }, 'PolicyReports written');
    } catch (e) {
      this.metrics?.runs.inc({ result: 'error' });
      this.logger.warn({ err: describeError(e) }, 'PolicyReports not written');
    }
  }
}
