// tenant-guard's side of the shared istio-oracle (../shared/tools/istio-oracle,
// README "Driving another implementation"): reads the oracle's case format on
// stdin and answers each case with src/mesh/decide.ts decideRequest, one JSON
// line per case: {id, verdict, refused?, deniedBy?, applied}.
// Run by the oracle's compare.mjs with TG_DRIVER=<abs path of this file>.
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../../src/kube/objects.js';
import { decideRequest, type ConcreteRequest } from '../../src/mesh/decide.js';

interface Input {
  options?: { rootNamespace?: string; trustDomain?: string; extAuthz?: string };
  cases: { id: string; policies: KubeObject[]; workload: { namespace: string; labels?: Record<string, string> }; request: ConcreteRequest }[];
}

const input = JSON.parse(readFileSync(0, 'utf8')) as Input;
// The oracle's mesh config defines one ext_authz provider, `ext-authz`, which
// answers options.extAuthz (default allow).
const options = {
  rootNamespace: input.options?.rootNamespace || 'istio-system',
  trustDomain: input.options?.trustDomain || 'cluster.local',
  extAuthz: { providers: ['ext-authz'], allows: input.options?.extAuthz !== 'deny' },
};
const out: string[] = [];
for (const c of input.cases) {
  let line: Record<string, unknown>;
  try {
    const d = decideRequest(c.policies, c.workload, c.request, options);
    line = { id: c.id, verdict: d.verdict, applied: d.applied };
    if (d.refused.length > 0) line.refused = d.refused;
    if (d.verdict === 'deny') line.deniedBy = d.deciding ?? 'no ALLOW rule matched';
  } catch (e) {
    line = { id: c.id, verdict: 'error', error: String((e as Error)?.stack ?? e) };
  }
  out.push(JSON.stringify(line));
}
process.stdout.write(out.join('\n') + '\n');
