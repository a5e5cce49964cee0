import { structuredWarning, type StructuredWarning } from './warnings.js';
import type { EnforcementResult } from '../engine/enforcement.js';
import type { Decision, KubeObject, PatchOp, UserInfo, Violation } from '../engine/types.js';
import type { MatrixCell, ReachabilityMatrix } from '../mesh/matrix.js';

/** The verdict on one object of the cluster. */
export interface AuditResult {
  object: KubeObject;
  as: UserInfo;
  /** The engine's decision: every rule enforced (deny). */
  decision: Decision;
  /** Per violation of `decision`, in order: what the configured enforcement does (absent: deny). */
  outcomes?: EnforcementResult['outcomes'];
}

/** One rule's line of the rollout report: live objects it would refuse under deny, by the action they get today. */
export interface RolloutRow {
  rule: string;
  /** Objects with at least one violation of the rule. */
  wouldDeny: number;
  deny: number;
  warn: number;
  audit: number;
  /** Objects whose violations of the rule exceptions lift. */
  excepted: number;
  exceptions: { exception: string; kind: string; namespace: string; name: string }[];
}

/** `audit -o json`; the field set is a public contract (docs/audit.md). */
export interface AuditReportJson {
  summary: {
    objects: number;
    violating: number;
    violations: number;
    /** Objects the webhook would change on create (allowed, with a patch): they predate it. */
    wouldMutate: number;
    openCrossTenantPaths: number;
    /** Objects the webhook as configured would refuse (violations whose action is deny and no exception lifts). */
    refusedAsConfigured: number;
  };
  /** Per rule: would-deny counts by configured action, and exceptions' coverage (the rollout report). */
  rollout: RolloutRow[];
  /** Objects with a violation, a warning or a pending mutation (clean objects are only counted). */
  findings: {
    kind: string;
    apiVersion: string;
    namespace: string;
    name: string;
    as: UserInfo;
    allowed: boolean;
    violations: (Violation & { action?: string; exception?: string })[];
    warnings: StructuredWarning[];
    patch: PatchOp[];
  }[];
  /** Cross-tenant cells of the matrix that are open without a configured peering. */
  openPaths: MatrixCell[];
  matrix: ReachabilityMatrix;
  /** Kinds the engine judges that this API server does not serve (CRD not installed). */
  notServed: string[];
  /** Namespaces the config trusts by name that do not exist: anybody's tomorrow but for TG-NS-RESERVED-NAME. */
  missingReservedNamespaces: { namespace: string; why: string }[];
}

export function openCrossTenantPaths(m: ReachabilityMatrix): MatrixCell[] {
  return m.cells.filter((c) => c.allowed && c.from !== c.to && !c.peered);
}

function hasFinding(r: AuditResult): boolean {
  return !r.decision.allowed || r.decision.warnings.length > 0 || r.decision.patch.length > 0;
}

/** How each violation of an object ends under the configured enforcement: deny unless said otherwise. */
export function outcomeAt(r: AuditResult, i: number): { outcome: string; exception?: string } {
  return r.outcomes?.[i] ?? { outcome: 'deny' };
}

/** Per rule, the objects it would refuse under deny, by the action the config gives them today. */
export function rolloutRows(results: AuditResult[]): RolloutRow[] {
  const rows = new Map<string, RolloutRow>();
  for (const r of results) {
    // An object counts once per rule, under its strictest outcome.
    const best = new Map<string, { outcome: string; exception?: string }>();
    const rank: Record<string, number> = { deny: 3, warn: 2, audit: 1, exception: 0 };
    r.decision.violations.forEach((v, i) => {
      const o = outcomeAt(r, i);
      const prev = best.get(v.rule);
      if (!prev || (rank[o.outcome] ?? 3) > (rank[prev.outcome] ?? 3)) best.set(v.rule, o);
    });
    for (const [rule, o] of best) {
      let row = rows.get(rule);
      if (!row) rows.set(rule, (row = { rule, wouldDeny: 0, deny: 0, warn: 0, audit: 0, excepted: 0, exceptions: [] }));
      row.wouldDeny++;
      if (o.outcome === 'exception') {
        row.excepted++;
        row.exceptions.push({ exception: o.exception ?? '', kind: r.object.kind, namespace: r.object.metadata.namespace ?? '', name: r.object.metadata.name ?? '' });
      } else if (o.outcome === 'warn' || o.outcome === 'audit') row[o.outcome]++;
      else row.deny++;
    }
  }
  return [...rows.values()].sort((a, b) => b.wouldDeny - a.wouldDeny || a.rule.localeCompare(b.rule));
}

export function buildReport(
  results: AuditResult[],
  matrix: ReachabilityMatrix,
  notServed: string[],
  missingReserved: { namespace: string; why: string }[] = [],
): AuditReportJson {
  const violating = results.filter((r) => !r.decision.allowed);
  const openPaths = openCrossTenantPaths(matrix);
  return {
    summary: {
      objects: results.length,
      violating: violating.length,
      violations: violating.reduce((n, r) => n + r.decision.violations.length, 0),
      wouldMutate: results.filter((r) => r.decision.allowed && r.decision.patch.length > 0).length,
      openCrossTenantPaths: openPaths.length,
      refusedAsConfigured: violating.filter((r) => r.decision.violations.some((_, i) => outcomeAt(r, i).outcome === 'deny')).length,
    },
    rollout: rolloutRows(results),
    findings: results.filter(hasFinding).map((r) => ({
      kind: r.object.kind,
      apiVersion: r.object.apiVersion,
      namespace: r.object.metadata.namespace ?? '',
      name: r.object.metadata.name ?? '',
      as: r.as,
      allowed: r.decision.allowed,
      violations: r.decision.violations.map((v, i) => {
        const o = outcomeAt(r, i);
        return r.outcomes ? { ...v, action: o.outcome, ...(o.exception ? { exception: o.exception } : {}) } : v;
      }),
      warnings: r.decision.warnings.map(structuredWarning),
      patch: r.decision.patch,
    })),
    openPaths,
    matrix,
    notServed,
    missingReservedNamespaces: missingReserved,
  };
}

/** Anything that makes `audit` exit 1: a violating object or an unwanted open path. */
export function reportFails(r: AuditReportJson): boolean {
  return r.summary.violating > 0 || r.summary.openCrossTenantPaths > 0;
}
