import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { describeFsError, TenantGuardError } from '../errors.js';
import type { MatrixCell } from '../mesh/matrix.js';
import { buildPolicyReports } from '../reports/policy-reports.js';
import type { CheckResult } from './check-run.js';

/**
 * `check --report FILE`: the run as wgpolicyk8s.io/v1alpha2 PolicyReports (the
 * format `kyverno apply --policy-report` and Policy Reporter use), one per
 * namespace and the ClusterPolicyReport, as multi-document YAML that
 * `kubectl apply -f` takes. Results are those of the objects checked, judged
 * as the identity of the run (--as).
 */
export function writeCheckReport(file: string, results: CheckResult[], openPaths: MatrixCell[], now = new Date()): void {
  const reports = buildPolicyReports(
    results.map((r) => ({ object: r.object, as: r.input.userInfo, decision: r.decision })),
    openPaths,
    now,
  );
  const docs = [...reports.namespaced, reports.cluster].map((r) => `---\n${stringify(r, { lineWidth: 0 })}`).join('');
  try {
    writeFileSync(file, docs);
  } catch (e) {
    throw new TenantGuardError('TG_ERR_INPUT_READ', `--report ${file}: cannot write: ${describeFsError(e)}`);
  }
}
