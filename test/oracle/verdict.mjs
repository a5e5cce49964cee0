// Judges the oracle's results (compare.mjs results.jsonl files): every case
// where Istio's own code and tenant-guard's model (test/oracle/driver.ts)
// disagree must fall in one of the deliberate differences below, each in the
// safe direction (Istio denies, the model allows). Prints one line per check
// and "N passed, N failed"; exits 1 on a failed check.
//   node test/oracle/verdict.mjs <label>=<results.jsonl>[@<min % agreement on istiod-accepted cases>] ...
import { readFileSync } from 'node:fs';

/**
 * Deliberate differences (docs/authorization-policy.md, "Checked against
 * Istio"). Each: an id, why the model differs, and the test a disagreement
 * must pass to be counted as this difference.
 */
export const ALLOWED = [
  {
    id: 'custom-authorizer',
    why:
      'CUSTOM policies hand the request to an external authorizer. decideRequest models istiod\'s fail-closed handling ' +
      '(unknown provider, several providers, dry-run CUSTOM) when told the providers, as the driver does; the reachability ' +
      'search never counts CUSTOM as denying, since the authorizer can only deny more.',
    test: (r) => r.istio.verdict === 'deny' && r.tg.verdict === 'allow' && /ext_authz|ext-authz|CUSTOM/.test(r.istio.deniedBy ?? ''),
  },
  {
    id: 'refused-counts-as-allow',
    why: 'A policy the model cannot read (TG-AUTHZ-MALFORMED) counts as "may allow anything, denies nothing", so the model never hides an opening behind it.',
    test: (r) => r.istio.verdict === 'deny' && r.tg.verdict === 'allow' && (r.tg.refused ?? []).length > 0,
  },
  {
    id: 'envoy-rejects-config',
    why: 'istiod generates Envoy config Envoy rejects (only from policies istiod\'s validation refuses); what the sidecar then enforces depends on its previous config.',
    test: (r) => r.istio.verdict === 'error' && r.tg.verdict !== 'error' && ((r.istio.invalid ?? []).length > 0 || (r.istio.unparsable ?? []).length > 0),
  },
];

const valid = (r) => (r.istio.invalid ?? []).length === 0 && (r.istio.unparsable ?? []).length === 0 && (r.tg.refused ?? []).length === 0;

let passed = 0;
let failed = 0;
const check = (ok, name, detail = '') => {
  ok ? passed++ : failed++;
  console.log(`${ok ? 'ok' : 'not ok'} ${passed + failed} - ${name}${detail ? ` # ${detail}` : ''}`);
};

for (const arg of process.argv.slice(2)) {
  const [label, spec] = arg.includes('=') ? arg.split(/=(.*)/s) : [arg, arg];
  const [file, min] = spec.split('@');
  const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const missing = rows.filter((r) => !r.istio || !r.tg);
  check(missing.length === 0 && rows.length > 0, `${label}: every case answered by both sides`, `${rows.length} cases, ${missing.length} without an answer`);
  const answered = rows.filter((r) => r.istio && r.tg);
  const dis = answered.filter((r) => r.istio.verdict !== r.tg.verdict);
  const unexplained = [];
  const counts = Object.fromEntries(ALLOWED.map((a) => [a.id, 0]));
  for (const r of dis) {
    const a = ALLOWED.find((x) => x.test(r));
    if (a) counts[a.id]++;
    else unexplained.push(r);
  }
  check(
    unexplained.length === 0,
    `${label}: no disagreement outside the deliberate differences`,
    `${dis.length} disagreements: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}, unexplained ${unexplained.length}`,
  );
  for (const r of unexplained.slice(0, 5)) {
    console.log(`  ---\n  case: ${JSON.stringify(r.case)}\n  istio: ${JSON.stringify(r.istio)}\n  tenant-guard: ${JSON.stringify(r.tg)}\n  ...`);
  }
  const hidden = answered.filter((r) => r.istio.verdict === 'allow' && r.tg.verdict !== 'allow');
  check(hidden.length === 0, `${label}: no case where Istio allows and the model denies`, `${hidden.length} cases`);
  if (min === undefined) continue;
  const v = answered.filter(valid);
  const agree = v.filter((r) => r.istio.verdict === r.tg.verdict).length;
  const pct = v.length ? (100 * agree) / v.length : 100;
  check(pct >= Number(min), `${label}: at least ${min}% agreement on cases whose policies istiod accepts and the model reads`, `${agree}/${v.length} = ${pct.toFixed(2)}%`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
