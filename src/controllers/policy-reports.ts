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
import { terminatingNamespaces, writePolicyReports, type WriteFailure, type WriteRetry } from '../reports/write-policy-reports.js';
import type { Leadership } from './leadership.js';
import { Tenancy } from '../tenancy/tenancy.js';

export interface PolicyReportMetrics {
  runs: Counter<'result'>;
  results: Gauge<'result'>;
  writes: Counter<'result'>;
}

/** Failures logged one by one per pass; the rest are summed up in the pass's line (an API outage fails every namespace). */
const LOGGED_FAILURES = 10;


export function createPolicyReportMetrics(registry: Registry): PolicyReportMetrics {
  const registers = [registry];
  return {
    runs: new Counter({
      name: 'tenant_guard_policy_report_runs_total',
      help: 'PolicyReport audits by result (success; partial: some reports not written; error: the audit itself failed).',
      labelNames: ['result'],
      registers,
    }),
    writes: new Counter({
      name: 'tenant_guard_policy_report_writes_total',
      help: 'PolicyReport writes by result (written; failed: after its retries; skipped: the namespace is terminating; delete_failed, list_failed).',
      labelNames: ['result'],
      registers,
    }),
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
    private readonly retry?: WriteRetry,
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
      const tenancy = new Tenancy(config, snap.store);
      const reports = buildPolicyReports(results, openPaths, new Date(), { tenantOf: (ns) => tenancy.tenantOf(ns) });
      let logged = 0;
      const onFailure = (f: WriteFailure) => {
        this.metrics?.writes.inc({ result: f.action === 'write' ? 'failed' : `${f.action}_failed` });
        if (logged++ < LOGGED_FAILURES) this.logger.warn({ report: f.report, action: f.action, status: f.status, attempts: f.attempts, err: f.error }, 'PolicyReport not written; the others are');
      };
      const w = await writePolicyReports(this.client, reports, { terminating: terminatingNamespaces(snap.store), onFailure, ...(this.retry ? { retry: this.retry } : {}) });
      this.metrics?.writes.inc({ result: 'written' }, w.written);
      if (w.skipped.length > 0) this.metrics?.writes.inc({ result: 'skipped' }, w.skipped.length);
      const totals = { pass: 0, fail: 0, warn: 0 };
      for (const r of [...reports.namespaced, reports.cluster]) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.summary[k];
      for (const [k, v] of Object.entries(totals)) this.metrics?.results.set({ result: k }, v);
      this.metrics?.runs.inc({ result: w.failures.length === 0 ? 'success' : 'partial' });
      const fields = { reports: w.written, deleted: w.deleted, skippedTerminating: w.skipped, failed: w.failures.length, clusterReport: w.clusterWritten, ...totals };
      if (w.failures.length === 0) this.logger.info(fields, 'PolicyReports written');
      else this.logger.warn(fields, 'PolicyReports written, some not: they are tried again next pass');
    } catch (e) {
      this.metrics?.runs.inc({ result: 'error' });
      this.logger.warn({ err: describeError(e) }, 'PolicyReports not written');
    }
  }
}
