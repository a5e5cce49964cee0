import { stringify } from 'yaml';
import type { ReachabilityMatrix } from '../mesh/matrix.js';
import { structuredWarning, type StructuredWarning } from '../reports/warnings.js';
import { ruleLink, withRuleLink } from '../reports/rule-links.js';
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
  /** `docs`: the link to the rule's section of docs/rules.md (absent with --rules-url ""). */
  violations: (Violation & { docs?: string })[];
  warnings: StructuredWarning[];
  patch: PatchOp[];
  /** Violations admitted by the config's enforcement (warn, audit) or an exception; absent when none. */
  relaxed?: NonNullable<CheckResult['decision']['relaxed']>;
}

export interface CheckReportJson {
  results: CheckResultJson[];
  matrix?: ReachabilityMatrix;
}

export function toResultJson(r: CheckResult, rulesUrl?: string): CheckResultJson {
  return {
    kind: r.object.kind,
    apiVersion: r.object.apiVersion,
    namespace: r.object.metadata.namespace ?? '',
    name: r.object.metadata.name ?? '',
    operation: r.input.operation,
    allowed: r.decision.allowed,
    intercepted: r.decision.intercepted,
    violations: r.decision.violations.map((v) => {
      const docs = rulesUrl === undefined ? undefined : ruleLink(rulesUrl, v.rule);
      return docs ? { ...v, docs } : v;
    }),
    warnings: r.decision.warnings.map(structuredWarning),
    patch: r.decision.patch,
    ...(r.decision.relaxed ? { relaxed: r.decision.relaxed } : {}),
  };
}

export function checkReport(results: CheckResult[], matrix?: ReachabilityMatrix, rulesUrl?: string): CheckReportJson {
  const report: CheckReportJson = { results: results.map((r) => toResultJson(r, rulesUrl)) };
  if (matrix) report.matrix = matrix;
  return report;
}

export function formatJson(results: CheckResult[], matrix?: ReachabilityMatrix, rulesUrl?: string): string {
  return JSON.stringify(checkReport(results, matrix, rulesUrl), null, 2) + '\n';
}

/** `-o yaml`: the same document as `-o json`. */
export function formatYaml(results: CheckResult[], matrix?: ReachabilityMatrix, rulesUrl?: string): string {
  return stringify(checkReport(results, matrix, rulesUrl), { lineWidth: 0 });
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

/** Human report: one line per object, its findings indented below, then counts. `quiet`: refusals only, no counts. */
export function formatText(results: CheckResult[], quiet = false, rulesUrl?: string): string {
  const lines: string[] = [];
  let allowed = 0;
  let passed = 0;
  let denied = 0;
  let warned = 0;
  for (const r of results) {
    if (quiet && r.decision.allowed) continue;
    const ns = r.object.metadata.namespace;
    const ref = ns ? `${ns}/${r.object.metadata.name}` : r.object.metadata.name;
    lines.push(`${verdict(r)} ${r.object.kind} ${ref} (${r.input.operation})`);
    for (const v of r.decision.violations) lines.push(`  ${v.rule} ${v.path || '(object)'}: ${withRuleLink(rulesUrl, v.rule, v.message)}`);
    for (const v of r.decision.relaxed ?? [])
      lines.push(`  ${v.rule} (${v.action === 'exception' ? `exception ${v.exception}` : v.action}) ${v.path || '(object)'}: ${withRuleLink(rulesUrl, v.rule, v.message)}`);
    if (!quiet) {
      for (const w of r.decision.warnings) if (!(r.decision.relaxed ?? []).some((v) => w.startsWith(`[${v.rule}] `))) lines.push(`  warning: ${w}`);
      for (const op of r.decision.patch) lines.push(`  ${patchLine(op)}`);
    }
    if (!r.decision.allowed) denied++;
    else if (r.decision.intercepted) allowed++;
    else passed++;
    if (r.decision.warnings.length > 0) warned++;
  }
  if (quiet) return lines.length > 0 ? lines.join('\n') + '\n' : '';
  const total = results.length;
  lines.push(
    `${total} object${total === 1 ? '' : 's'}: ${allowed} allowed, ${denied} denied, ${passed} passed (not intercepted), ${warned} with warnings`,
  );
  return lines.join('\n') + '\n';
}
