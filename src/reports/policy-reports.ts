// The audit as wgpolicyk8s.io/v1alpha2 PolicyReports, the format Kyverno,
// Kubewarden and Policy Reporter read: one PolicyReport per namespace for the
// namespaced objects judged there, one ClusterPolicyReport for cluster-scoped
// objects (Namespaces) and for open cross-tenant paths of the reachability
// matrix. Schema: test/fixtures/crds/wgpolicyk8s.io_policyreports.yaml
// (kubernetes-sigs/wg-policy-prototypes, policy-report/crd/v1alpha2).
import { outcomeAt, rolloutRows, type AuditResult } from './audit-report.js';
import { decisionFor } from '../engine/audience.js';
import type { KubeObject } from '../engine/types.js';
import type { MatrixCell } from '../mesh/matrix.js';
import { structuredWarning } from './warnings.js';

export const REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';
export const REPORT_NAME = 'tenant-guard';
export const REPORT_LABEL = 'app.kubernetes.io/managed-by';
export const REPORT_LABEL_VALUE = 'tenant-guard';
/** The `policy` of every result: the admission policy tenant-guard enforces. */
export const POLICY = 'tenant-guard';
/** The `policy` of open-path results: the reachability model. */
export const REACHABILITY_POLICY = 'tenant-guard-reachability';
/** A cross-tenant path open without a peering (audit's openPaths). */
export const OPEN_PATH_RULE = 'open-cross-tenant-path';
/** An object the mutating webhook would change on create (it predates the webhook). */
export const PENDING_MUTATION_RULE = 'pending-mutation';

/** The `policy` of the rollout results: per rule, live objects it would refuse under deny, by configured action. */
export const ROLLOUT_POLICY = 'tenant-guard-rollout';

/** Results per report at most: a report is one etcd object (1.5 MiB by default). */
export const MAX_RESULTS = 1000;

type Result = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ReportResult {
  policy: string;
  rule?: string;
  result: Result;
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  message?: string;
  source: string;
  scored: boolean;
  category?: string;
  timestamp: { seconds: number; nanos: number };
  resources?: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string }[];
  properties?: Record<string, string>;
}

export interface PolicyReport {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results: ReportResult[];
}

function resourceOf(o: KubeObject): NonNullable<ReportResult['resources']>[number] {
  const uid = (o.metadata as { uid?: string }).uid;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name ?? '',
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    ...(uid ? { uid } : {}),
  };
}

/** One object's results: a fail per violation, a warn per warning or pending mutation, else one pass. */
export function resultsOf(r: AuditResult, timestamp: ReportResult['timestamp']): ReportResult[] {
  const base = { source: POLICY, scored: true, timestamp, resources: [resourceOf(r.object)] };
  const judgedAs = { judgedAs: r.as.username };
  // A violation is a fail whatever its configured action (as Kyverno reports Audit-mode rules); one an exception lifts is a skip.
  const out: ReportResult[] = r.decision.violations.map((v, i) => {
    const o = outcomeAt(r, i);
    return {
      ...base,
      policy: POLICY,
      rule: v.rule,
      result: o.outcome === 'exception' ? ('skip' as const) : ('fail' as const),
      severity: 'high' as const,
      message: v.message,
      properties: { ...judgedAs, ...(v.path ? { path: v.path } : {}), action: o.outcome, ...(o.exception ? { exception: o.exception } : {}) },
    };
  });
  for (const text of r.decision.warnings) {
    const w = structuredWarning(text);
    out.push({ ...base, policy: POLICY, rule: w.rule ?? 'warning', result: 'warn', severity: 'medium', message: w.message, properties: { ...judgedAs, ...(w.path ? { path: w.path } : {}) } });
  }
  if (r.decision.allowed && r.decision.patch.length > 0) {
    out.push({
      ...base,
      policy: POLICY,
      rule: PENDING_MUTATION_RULE,
      result: 'warn',
      severity: 'low',
      message: `the webhook would change this object on create: ${r.decision.patch.map((p) => `${p.op} ${p.path}`).join(', ')}`,
      properties: judgedAs,
    });
  }
  if (out.length === 0) out.push({ ...base, policy: POLICY, result: 'pass', message: 'admitted as is', properties: judgedAs });
  return out;
}

function openPathResult(c: MatrixCell, timestamp: ReportResult['timestamp']): ReportResult {
  return {
    policy: REACHABILITY_POLICY,
    rule: OPEN_PATH_RULE,
    result: 'fail',
    severity: 'high',
    message: `tenant ${c.from} can reach tenant ${c.to} over ${c.path} without a peering: ${c.reason}`,
    source: POLICY,
    scored: true,
    timestamp,
    properties: { from: c.from, to: c.to, path: c.path },
  };
}

function report(kind: PolicyReport['kind'], namespace: string | undefined, results: ReportResult[]): PolicyReport {
  // Failures first, so that a capped report keeps what matters.
  const order: Record<Result, number> = { fail: 0, error: 1, warn: 2, skip: 3, pass: 4 };
  const kept = [...results].sort((a, b) => order[a.result] - order[b.result]).slice(0, MAX_RESULTS);
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result]++;
  return {
    apiVersion: REPORT_API_VERSION,
    kind,
    metadata: { name: REPORT_NAME, ...(namespace ? { namespace } : {}), labels: { [REPORT_LABEL]: REPORT_LABEL_VALUE } },
    summary,
    results: kept,
  };
}

/** The reports of one audit: a PolicyReport per namespace with judged objects, and the ClusterPolicyReport. */
export interface PolicyReportOptions {
  /**
   * The tenant holding a namespace, if any. A namespace's PolicyReport is
   * read by its tenant (Policy Reporter, `kubectl get policyreport`): its
   * messages are rendered for that tenant, naming another tenant's objects
   * only by tenant (src/engine/audience.ts). The ClusterPolicyReport is the
   * platform's and keeps full detail.
   */
  tenantOf?: (namespace: string) => string | undefined;
}

export function buildPolicyReports(results: AuditResult[], openPaths: MatrixCell[], now: Date, options: PolicyReportOptions = {}): { namespaced: PolicyReport[]; cluster: PolicyReport } {
  const timestamp = { seconds: Math.floor(now.getTime() / 1000), nanos: 0 };
  const byNamespace = new Map<string, ReportResult[]>();
  const clusterResults: ReportResult[] = [];
  for (const r of results) {
    const ns = r.object.metadata.namespace;
    const list = ns ? (byNamespace.get(ns) ?? byNamespace.set(ns, []).get(ns)!) : clusterResults;
    const tenant = ns ? options.tenantOf?.(ns) : undefined;
    list.push(...resultsOf(tenant ? { ...r, decision: decisionFor(r.decision, { full: false, tenants: [tenant] }) } : r, timestamp));
  }
  clusterResults.push(...openPaths.map((c) => openPathResult(c, timestamp)));
  for (const row of rolloutRows(results)) {
    clusterResults.push({
      policy: ROLLOUT_POLICY,
      rule: row.rule,
      result: row.deny > 0 ? 'fail' : row.warn + row.audit > 0 ? 'warn' : 'skip',
      severity: 'info',
      message:
        `${row.wouldDeny} live object${row.wouldDeny === 1 ? '' : 's'} would be refused under deny: ${row.deny} in deny, ${row.warn} in warn, ${row.audit} in audit, ${row.excepted} covered by exceptions` +
        (row.exceptions.length > 0 ? ` (${[...new Set(row.exceptions.map((e) => e.exception))].join(', ')})` : ''),
      source: POLICY,
      scored: false,
      timestamp,
      properties: { wouldDeny: String(row.wouldDeny), deny: String(row.deny), warn: String(row.warn), audit: String(row.audit), excepted: String(row.excepted) },
    });
  }
  return {
    namespaced: [...byNamespace.keys()].sort().map((ns) => report('PolicyReport', ns, byNamespace.get(ns)!)),
    cluster: report('ClusterPolicyReport', undefined, clusterResults),
  };
}
