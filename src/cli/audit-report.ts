import { structuredWarning, type StructuredWarning } from '../reports/warnings.js';
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
    warnings: StructuredWarning[];
    patch: PatchOp[];
  }[];
  /** Cross-tenant cells of the matrix that are open without a configured peering. */
  openPaths: MatrixCell[];
  matrix: ReachabilityMatrix;
  /** Kinds the engine judges that this API server does not serve (CRD not installed). */
  notServed: string[];
}

export function openCrossTenantPaths(m: ReachabilityMatrix): MatrixCell[] {
  return m.cells.filter((c) => c.allowed && c.from !== c.to && !c.peered);
}

function hasFinding(r: AuditResult): boolean {
  return !r.decision.allowed || r.decision.warnings.length > 0 || r.decision.patch.length > 0;
}

export function buildReport(results: AuditResult[], matrix: ReachabilityMatrix, notServed: string[]): AuditReportJson {
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
      warnings: r.decision.warnings.map(structuredWarning),
      patch: r.decision.patch,
    })),
    openPaths,
    matrix,
    notServed,
  };
}

/** Anything that makes `audit` exit 1: a violating object or an unwanted open path. */
export function reportFails(r: AuditReportJson): boolean {
  return r.summary.violating > 0 || r.summary.openCrossTenantPaths > 0;
}

function ref(f: AuditReportJson['findings'][number]): string {
  return `${f.kind} ${f.namespace ? `${f.namespace}/` : ''}${f.name}`;
}

function patchLine(op: PatchOp): string {
  if (op.op === 'remove') return `remove ${op.path}`;
  const v = JSON.stringify(op.value) ?? 'null';
  return `${op.op} ${op.path} ${v.length > 80 ? `${v.slice(0, 77)}...` : v}`;
}

/** The human report: violations first, then pending mutations and warnings, the matrix, a summary. */
export function formatAuditText(r: AuditReportJson, matrixText: string): string {
  const lines: string[] = [];
  const violating = r.findings.filter((f) => !f.allowed);
  if (violating.length > 0) {
    lines.push(`VIOLATIONS (${violating.length} object${violating.length === 1 ? '' : 's'}):`);
    for (const f of violating) {
      lines.push(`  ${ref(f)} (judged as ${f.as.username}${f.as.groups.length ? ` [${f.as.groups.join(', ')}]` : ''})`);
      for (const v of f.violations) lines.push(`    ${v.rule} ${v.path || '(object)'}: ${v.message}`);
    }
    lines.push('');
  }
  const mutated = r.findings.filter((f) => f.allowed && f.patch.length > 0);
  if (mutated.length > 0) {
    lines.push(`WOULD BE MUTATED on create (${mutated.length}): these objects lack what the webhook adds today`);
    for (const f of mutated) {
      lines.push(`  ${ref(f)}`);
      for (const op of f.patch) lines.push(`    patch: ${patchLine(op)}`);
    }
    lines.push('');
  }
  const warned = r.findings.filter((f) => f.warnings.length > 0);
  if (warned.length > 0) {
    lines.push(`WARNINGS (${warned.length}):`);
    for (const f of warned) for (const w of f.warnings) lines.push(`  ${ref(f)}: ${w.rule ? `${w.rule}${w.path ? ` ${w.path}` : ''}: ` : ''}${w.message}`);
    lines.push('');
  }
  if (r.notServed.length > 0) lines.push(`not served by this API server (nothing to judge): ${r.notServed.join(', ')}`, '');
  lines.push('REACHABILITY (tenant to tenant, over the four Knative data paths):');
  lines.push(matrixText.trimEnd(), '');
  const s = r.summary;
  lines.push(
    `${s.objects} object${s.objects === 1 ? '' : 's'} judged: ${s.violating} violating (${s.violations} violation${s.violations === 1 ? '' : 's'}), ` +
      `${s.wouldMutate} would be mutated, ${s.openCrossTenantPaths} open cross-tenant path${s.openCrossTenantPaths === 1 ? '' : 's'}`,
  );
  lines.push(reportFails(r) ? 'RESULT: FAIL' : 'RESULT: OK');
  return lines.join('\n') + '\n';
}
