import type { PatchOp } from '../engine/types.js';
import { reportFails, type AuditReportJson } from '../reports/audit-report.js';

// The human form of `audit`'s report; the report itself (src/reports/audit-report.ts)
// is shared with the PolicyReports the controllers write.

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
      for (const v of f.violations) {
        const how = v.action && v.action !== 'deny' ? ` (${v.action === 'exception' ? `exception ${v.exception}` : v.action})` : '';
        lines.push(`    ${v.rule}${how} ${v.path || '(object)'}: ${v.message}`);
      }
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
  if (r.rollout.length > 0) {
    lines.push('ROLLOUT (per rule: live objects it would refuse under deny, by the action configured for them today):');
    const w = Math.max(4, ...r.rollout.map((x) => x.rule.length));
    lines.push(`  ${'RULE'.padEnd(w)}  WOULD-DENY  DENY  WARN  AUDIT  EXCEPTED`);
    for (const x of r.rollout) {
      lines.push(`  ${x.rule.padEnd(w)}  ${String(x.wouldDeny).padStart(10)}  ${String(x.deny).padStart(4)}  ${String(x.warn).padStart(4)}  ${String(x.audit).padStart(5)}  ${String(x.excepted).padStart(8)}`);
      for (const e of x.exceptions) lines.push(`    covered by exception ${e.exception}: ${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name}`);
    }
    lines.push('');
  }
  if (r.notServed.length > 0) lines.push(`not served by this API server (nothing to judge): ${r.notServed.join(', ')}`, '');
  if (r.missingReservedNamespaces.length > 0) {
    lines.push(`TRUSTED NAMES NOT HELD (${r.missingReservedNamespaces.length}): the config trusts these namespaces by name, and none exists; only platform admins may create them (TG-NS-RESERVED-NAME)`);
    for (const m of r.missingReservedNamespaces) lines.push(`  ${m.namespace}: ${m.why}`);
    lines.push('');
  }
  lines.push('REACHABILITY (tenant to tenant, over the four Knative data paths):');
  lines.push(matrixText.trimEnd(), '');
  const s = r.summary;
  lines.push(
    `${s.objects} object${s.objects === 1 ? '' : 's'} judged: ${s.violating} violating (${s.violations} violation${s.violations === 1 ? '' : 's'}), ` +
      `${s.wouldMutate} would be mutated, ${s.openCrossTenantPaths} open cross-tenant path${s.openCrossTenantPaths === 1 ? '' : 's'}; ` +
      `${s.refusedAsConfigured} object${s.refusedAsConfigured === 1 ? '' : 's'} refused as configured (the rest warned, audited or excepted)`,
  );
  lines.push(reportFails(r) ? 'RESULT: FAIL' : 'RESULT: OK');
  return lines.join('\n') + '\n';
}
