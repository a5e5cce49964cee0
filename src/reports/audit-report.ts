import type { Decision, KubeObject, PatchOp, UserInfo, Violation } from '../engine/types.js';
import type { MatrixCell, ReachabilityMatrix } from '../mesh/matrix.js';

/** The verdict on one object of the cluster. */
export interface AuditResult {
  object: KubeObject;
  as: UserInfo;
  decision: Decision;
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
  };
  /** Objects with a violation, a warning or a pending mutation (clean objects are only counted). */
  findings: {
    kind: string;
    apiVersion: string;
    namespace: string;
    name: string;
    as: UserInfo;
    allowed: boolean;
    violations: Violation[];
    warnings: string[];
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
    },
    findings: results.filter(hasFinding).map((r) => ({
      kind: r.object.kind,
      apiVersion: r.object.apiVersion,
      namespace: r.object.metadata.namespace ?? '',
      name: r.object.metadata.name ?? '',
      as: r.as,
      allowed: r.decision.allowed,
      violations: r.decision.violations,
      warnings: r.decision.warnings,
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
