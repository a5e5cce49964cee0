import type { ReachabilityMatrix } from '../mesh/matrix.js';
import type { Operation, PatchOp, Violation } from '../engine/types.js';
import type { CheckResult } from './check-run.js';

/** One object's verdict in `check -o json`; the field set is a public contract. */
export interface CheckResultJson {
  kind: string;
  apiVersion: string;
  /** "" for cluster-scoped objects. */
  namespace: string;
  name: string;
  operation: Operation;
  allowed: boolean;
  intercepted: boolean;
  violations: Violation[];
  warnings: string[];
  patch: PatchOp[];
  /** Violations admitted by the config's enforcement (warn, audit) or an exception; absent when none. */
  relaxed?: NonNullable<CheckResult['decision']['relaxed']>;
}

export interface CheckReportJson {
  results: CheckResultJson[];
  matrix?: ReachabilityMatrix;
}

export function toResultJson(r: CheckResult): CheckResultJson {
  return {
    kind: r.object.kind,
    apiVersion: r.object.apiVersion,
    namespace: r.object.metadata.namespace ?? '',
    name: r.object.metadata.name ?? '',
    operation: r.input.operation,
    allowed: r.decision.allowed,
    intercepted: r.decision.intercepted,
    violations: r.decision.violations,
    warnings: r.decision.warnings,
    patch: r.decision.patch,
    ...(r.decision.relaxed ? { relaxed: r.decision.relaxed } : {}),
  };
}

export function formatJson(results: CheckResult[], matrix?: ReachabilityMatrix): string {
  const report: CheckReportJson = { results: results.map(toResultJson) };
  if (matrix) report.matrix = matrix;
  return JSON.stringify(report, null, 2) + '\n';
}

function verdict(r: CheckResult): string {
  if (!r.decision.allowed) return 'DENIED';
  return r.decision.intercepted ? 'ALLOWED' : 'PASSED (not intercepted)';
}

const MAX_VALUE = 80;

function patchLine(op: PatchOp): string {
  if (op.op === 'remove') return `patch: remove ${op.path}`;
  let value = JSON.stringify(op.value) ?? 'null';
  if (value.length > MAX_VALUE) value = value.slice(0, MAX_VALUE - 3) + '...';
  return `patch: ${op.op} ${op.path} ${value}`;
}

/** Human report: one line per object, its findings indented below, then counts. */
export function formatText(results: CheckResult[]): string {
  const lines: string[] = [];
  let allowed = 0;
  let passed = 0;
  let denied = 0;
  let warned = 0;
  for (const r of results) {
    const ns = r.object.metadata.namespace;
    const ref = ns ? `${ns}/${r.object.metadata.name}` : r.object.metadata.name;
    lines.push(`${verdict(r)} ${r.object.kind} ${ref} (${r.input.operation})`);
    for (const v of r.decision.violations) lines.push(`  ${v.rule} ${v.path || '(object)'}: ${v.message}`);
    for (const v of r.decision.relaxed ?? [])
      lines.push(`  ${v.rule} (${v.action === 'exception' ? `exception ${v.exception}` : v.action}) ${v.path || '(object)'}: ${v.message}`);
    for (const w of r.decision.warnings) if (!(r.decision.relaxed ?? []).some((v) => w.startsWith(`[${v.rule}] `))) lines.push(`  warning: ${w}`);
    for (const op of r.decision.patch) lines.push(`  ${patchLine(op)}`);
    if (!r.decision.allowed) denied++;
    else if (r.decision.intercepted) allowed++;
    else passed++;
    if (r.decision.warnings.length > 0) warned++;
  }
  const total = results.length;
  lines.push(
    `${total} object${total === 1 ? '' : 's'}: ${allowed} allowed, ${denied} denied, ${passed} passed (not intercepted), ${warned} with warnings`,
  );
  return lines.join('\n') + '\n';
}
