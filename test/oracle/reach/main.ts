// Differential test of the symbolic reachability verdict against Istio's own
// code (issue 17 item 8), run by test/oracle/run.sh:
//   node --import tsx test/oracle/reach/main.ts [--seed S] [--scenarios N] [--attacks K]
// For seeded random policy sets around tenant-1 and its shared hops
// (scenarios.ts), the model's per-path verdict for the symbolic foreign
// caller (src/mesh/reach.ts reachNamespace) is checked with the istio-oracle
// binary (ORACLE_BIN; ../shared/tools/istio-oracle, README there):
// - "open": the witness request is replayed hop by hop (each hop's workload
//   and the identity it is called with) and Istio must allow it at every hop;
// - "closed": K sampled foreign requests along every way of the path
//   (requests.ts) and Istio must deny each at some hop.
// All requests go to the oracle in a few batches (one process per batch: the
// first hop of every journey, then the next hop of those still let through).
// Prints TAP-style lines and ends with "N passed, N failed"; a disagreement is
// shrunk (policies and rules dropped while it stays) and printed with the
// policies, the hop, the request and both verdicts.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../../src/kube/objects.js';
import { MeshState } from '../../../src/mesh/mesh-state.js';
import { reachNamespace, type ReachResult } from '../../../src/mesh/reach.js';
import { solveRoute } from '../../../src/mesh/request-space.js';
import { DATA_PATHS, routesFor, type DataPath, type Route } from '../../../src/mesh/routes.js';
import { Sampler, witnessJourney, witnessProblems, type HopCase, type Journey } from './requests.js';
import { makeScenario, rand, ROOT, stateOf, TARGET, TARGET_TENANT, type Scenario } from './scenarios.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SEED = opt('seed', Number(process.env.REACH_SEED ?? 17));
const SCENARIOS = opt('scenarios', Number(process.env.REACH_SCENARIOS ?? 30));
const ATTACKS = opt('attacks', Number(process.env.REACH_ATTACKS ?? 2000));
const ORACLE_BIN = process.env.ORACLE_BIN ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'istio-oracle', 'istio-oracle');
/** Cases per oracle process: bounds the JSON handed over at once. */
const CHUNK = 25_000;
/** Variants of each aimed attack (Sampler.perturb). */
const VARIANTS = 40;

interface OracleAnswer {
  id: string;
  verdict: 'allow' | 'deny' | 'error';
  deniedBy?: string;
  applied?: Record<string, string[]>;
  invalid?: string[];
  unparsable?: string[];
  error?: string;
}

/** The policies Istio may apply to a workload: its namespace's and the root namespace's (the oracle selects among them). */
function policiesFor(s: Scenario, ns: string): KubeObject[] {
  return s.policies.filter((p) => p.metadata.namespace === ns || p.metadata.namespace === ROOT);
}

/** Runs cases through the oracle, a chunk per process. */
function oracle(cases: { id: string; policies: KubeObject[]; workload: HopCase['workload']; request: HopCase['request'] }[]): Map<string, OracleAnswer> {
  const out = new Map<string, OracleAnswer>();
  for (let i = 0; i < cases.length; i += CHUNK) {
    const input = JSON.stringify({ options: { rootNamespace: ROOT, trustDomain: 'cluster.local', extAuthz: 'allow' }, cases: cases.slice(i, i + CHUNK) });
    const res = spawnSync(ORACLE_BIN, [], { input, maxBuffer: 1 << 30 });
    if (res.status !== 0) throw new Error(`the istio-oracle (${ORACLE_BIN}) failed: ${res.stderr?.toString().trim() || res.error?.message}`);
    for (const line of res.stdout.toString().split('\n')) {
      if (!line.trim()) continue;
      const a = JSON.parse(line) as OracleAnswer;
      out.set(a.id, a);
    }
  }
  oracleRuns += Math.ceil(cases.length / CHUNK);
  oracleCases += cases.length;
  return out;
}
let oracleRuns = 0;
let oracleCases = 0;

/** Asks the oracle about many hop cases, each distinct (scenario, workload, request) once. */
class Batch {
  private readonly ids = new Map<string, string>();
  private readonly cases: Parameters<typeof oracle>[0] = [];
  private answers = new Map<string, OracleAnswer>();

  add(s: Scenario, h: HopCase): string {
    const key = `${s.id}\u0000${JSON.stringify(h.workload)}\u0000${JSON.stringify(h.request)}`;
    let id = this.ids.get(key);
    if (!id) {
      id = `c${this.ids.size}`;
      this.ids.set(key, id);
      this.cases.push({ id, policies: policiesFor(s, h.workload.namespace), workload: h.workload, request: h.request });
    }
    return id;
  }

  run(): void {
    const pending = this.cases.filter((c) => !this.answers.has(c.id));
    for (const [id, a] of oracle(pending)) this.answers.set(id, a);
  }

  answer(id: string): OracleAnswer {
    const a = this.answers.get(id);
    if (!a) throw new Error(`the oracle gave no answer for case ${id}`);
    return a;
  }
}

interface Judged {
  s: Scenario;
  m: MeshState;
  verdicts: Map<DataPath, ReachResult>;
}

/** The model's verdict per path for the symbolic foreign caller of tenant-1. */
function judge(s: Scenario): Judged | { s: Scenario; error: string } | { s: Scenario; unreadable: string[] } {
  const m = new MeshState(stateOf(s), s.config);
  const verdicts = new Map<DataPath, ReachResult>();
  try {
    for (const path of DATA_PATHS) verdicts.set(path, reachNamespace(m, path, { kind: 'foreign', tenant: TARGET_TENANT }, TARGET, false));
  } catch (e) {
    return { s, error: String((e as Error)?.message ?? e) };
  }
  for (const ns of [TARGET, 'knative-serving', ROOT]) m.policiesIn(ns);
  const unreadable = m.unreadable();
  if (unreadable.length > 0) return { s, unreadable };
  return { s, m, verdicts };
}

interface OpenFailure {
  kind: 'open';
  s: Scenario;
  path: DataPath;
  journey: Journey;
  reason: string;
  problem: string;
  hop?: number;
  istio?: OracleAnswer;
}

interface ClosedFailure {
  kind: 'closed';
  s: Scenario;
  path: DataPath;
  journey: Journey;
  reason: string;
  answers: OracleAnswer[];
}

/** Replays the witness of an open verdict: undefined if Istio allows it at every hop. */
function replayOpen(j: Judged, path: DataPath, batch: Batch, ids: string[]): OpenFailure | undefined {
  const r = j.verdicts.get(path)!;
  const journey = witnessJourney(path, r.found!.route, r.found!.witness);
  const problems = witnessProblems(j.m, r.found!.route, journey, j.s.config.drainPorts);
  if (problems.length > 0) return { kind: 'open', s: j.s, path, journey, reason: r.reason, problem: `the witness is not a request of the path: ${problems.join('; ')}` };
  for (let i = 0; i < ids.length; i++) {
    const a = batch.answer(ids[i]!);
    if (a.verdict !== 'allow') return { kind: 'open', s: j.s, path, journey, reason: r.reason, problem: `Istio ${a.verdict === 'deny' ? 'denies' : 'fails on'} it at hop ${i} (${journey.hops[i]!.label})`, hop: i, istio: a };
  }
  return undefined;
}

/** One scenario's open verdicts replayed (sequentially, for the shrinker). */
function checkOpen(s: Scenario, path: DataPath): OpenFailure | undefined {
  const j = judge(s);
  if (!('verdicts' in j) || !j.verdicts.get(path)?.allowed) return undefined;
  const r = j.verdicts.get(path)!;
  const b = new Batch();
  const ids = witnessJourney(path, r.found!.route, r.found!.witness).hops.map((h) => b.add(s, h));
  b.run();
  return replayOpen(j, path, b, ids);
}

/** A journey Istio lets through while the model holds the path closed, on a changed scenario. */
function checkClosed(s: Scenario, path: DataPath, journey: Journey): ClosedFailure | undefined {
  const j = judge(s);
  if (!('verdicts' in j) || j.verdicts.get(path)!.allowed) return undefined;
  const b = new Batch();
  const ids = journey.hops.map((h) => b.add(s, h));
  b.run();
  const answers = ids.map((id) => b.answer(id));
  return answers.every((a) => a.verdict === 'allow') ? { kind: 'closed', s, path, journey, reason: j.verdicts.get(path)!.reason, answers } : undefined;
}

/** Smaller scenarios: one policy dropped, or one rule of a policy. */
function* smaller(s: Scenario): Generator<Scenario> {
  for (let i = 0; i < s.policies.length; i++) yield { ...s, policies: s.policies.filter((_, k) => k !== i) };
  for (let i = 0; i < s.policies.length; i++) {
    const rules = ((s.policies[i]!.spec ?? {}) as { rules?: unknown[] }).rules ?? [];
    for (let k = 0; k < rules.length && rules.length > 1; k++) {
      const p = structuredClone(s.policies[i]!);
      (p.spec as { rules: unknown[] }).rules.splice(k, 1);
      yield { ...s, policies: s.policies.map((q, n) => (n === i ? p : q)) };
    }
  }
}

/** Greedy shrinking: keep dropping a policy or a rule while the disagreement stays. */
function shrink<F extends { s: Scenario }>(f: F, still: (s: Scenario) => F | undefined): F {
  let cur = f;
  for (let round = 0; round < 200; round++) {
    let next: F | undefined;
    for (const c of smaller(cur.s)) if ((next = still(c))) break;
    if (!next) return cur;
    cur = next;
  }
  return cur;
}

function show(f: OpenFailure | ClosedFailure): string {
  const lines = [`  --- ${f.kind === 'open' ? 'open verdict whose witness Istio does not let through' : 'closed verdict, yet Istio lets a foreign request through every hop'}`];
  lines.push(`  scenario: ${f.s.id} (${f.s.kind}; gatewayStripHostPort ${f.s.config.istio?.gatewayStripHostPort === true}; plaintext at ${JSON.stringify(f.s.plaintextAt)})`);
  lines.push(`  path: ${f.path}, way: ${f.journey.way}`);
  lines.push(`  model: ${f.kind === 'open' ? 'open' : 'closed'}: ${f.reason}`);
  if (f.kind === 'open') lines.push(`  disagreement: ${f.problem}${f.istio ? `: ${JSON.stringify(f.istio)}` : ''}`);
  else lines.push(`  istio: ${f.answers.map((a, i) => `hop ${i} ${a.verdict}${a.applied ? ` ${JSON.stringify(a.applied)}` : ''}`).join('; ')}`);
  lines.push(`  policies:`);
  for (const p of f.s.policies) lines.push(`    ${p.metadata.namespace}/${p.metadata.name}${p.metadata.annotations ? ` ${JSON.stringify(p.metadata.annotations)}` : ''}: ${JSON.stringify(p.spec)}`);
  for (const o of f.s.others.filter((x) => x.kind !== 'Namespace')) lines.push(`    (${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${JSON.stringify(o.spec)})`);
  f.journey.hops.forEach((h, i) => {
    const shown = f.kind === 'closed' || f.hop === undefined || f.hop === i;
    if (shown) lines.push(`  hop ${i} ${h.label} ${JSON.stringify(h.workload)}: ${JSON.stringify(h.request)}`);
  });
  return lines.join('\n');
}

// --- run ---------------------------------------------------------------------

// The oracle missing or failing ends the run as one failed check, in one line.
process.on('uncaughtException', (e) => {
  console.log(`not ok - reach-diff: ${e instanceof Error ? e.message : String(e)}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});

const t0 = Date.now();
let scenarios = Array.from({ length: SCENARIOS }, (_, i) => makeScenario(SEED, i));

// istiod must accept every policy: the oracle validates each set once.
const validity = oracle(scenarios.map((s) => ({ id: s.id, policies: s.policies, workload: { namespace: TARGET, labels: {} }, request: { principal: null, sourceIP: '10.0.0.1', remoteIP: '10.0.0.1', destinationIP: '10.0.0.2', port: 8080, host: 'x', method: 'GET', path: '/', headers: {}, sni: '', jwt: null } })));
const invalid = scenarios.filter((s) => (validity.get(s.id)?.invalid ?? []).length > 0 || (validity.get(s.id)?.unparsable ?? []).length > 0);
scenarios = scenarios.filter((s) => !invalid.includes(s));

const judged: Judged[] = [];
const errors: { s: Scenario; error: string }[] = [];
let unreadable = 0;
for (const s of scenarios) {
  const j = judge(s);
  if ('error' in j) errors.push(j);
  else if ('unreadable' in j) unreadable++;
  else judged.push(j);
}
const tJudge = Date.now();

/** Per way of a closed path, the witness of each proper prefix of its hops that has one, as a journey over the whole way. */
function prefixJourneys(j: Judged, path: DataPath): { journey: Journey; route: Route; prefix: number }[] {
  const out: { journey: Journey; route: Route; prefix: number }[] = [];
  for (const labels of j.m.podLabels(TARGET)) {
    for (const route of routesFor(j.m, path, { kind: 'foreign', tenant: TARGET_TENANT }, TARGET, labels)) {
      for (let n = 1; n < route.hops.length; n++) {
        const w = solveRoute(j.m, { ...route, hops: route.hops.slice(0, n) });
        if (w) out.push({ journey: witnessJourney(path, route, w), route, prefix: n });
      }
    }
  }
  return out;
}

let aimed = 0;
let aimedOwn = 0;
// Round 1: every witness hop, and the first hop of every attack.
const batch = new Batch();
const opens: { j: Judged; path: DataPath; ids: string[] }[] = [];
const attacks: { j: Judged; path: DataPath; journey: Journey; ids: string[] }[] = [];
/** Aimed attacks: their first `prefix` hops are a model witness Istio must allow; the rest must deny. */
const prefixes: { j: Judged; path: DataPath; journey: Journey; prefix: number; ids: string[] }[] = [];
for (const j of judged) {
  const r0 = rand(SEED * 104729 + Number(j.s.id.split('-')[1]));
  const sampler = new Sampler(r0, j.s, j.m);
  for (const path of DATA_PATHS) {
    const v = j.verdicts.get(path)!;
    if (v.allowed) {
      const journey = witnessJourney(path, v.found!.route, v.found!.witness);
      opens.push({ j, path, ids: journey.hops.map((h) => batch.add(j.s, h)) });
    } else {
      // Aimed attacks: on each way of the path, a request the model lets past
      // the first hops (a witness of the route's prefix) sent on to the end.
      for (const { journey, route, prefix } of prefixJourneys(j, path)) {
        aimed++;
        prefixes.push({ j, path, journey, prefix, ids: [batch.add(j.s, journey.hops[0]!)] });
        for (let n = 0; n < VARIANTS; n++) {
          const v = sampler.perturb(journey, route);
          attacks.push({ j, path, journey: v, ids: [batch.add(j.s, v.hops[0]!)] });
        }
      }
      // Aimed too: what the target's own tenant and the platform get through, re-sent by foreign callers.
      for (const own of [[TARGET], ['knative-serving'], [ROOT]]) {
        const r = reachNamespace(j.m, path, { kind: 'namespaces', namespaces: own }, TARGET, false);
        if (!r.allowed) continue;
        const base = witnessJourney(path, r.found!.route, r.found!.witness);
        aimedOwn++;
        for (let n = 0; n < VARIANTS; n++) {
          const v = sampler.perturb(base, r.found!.route, true);
          attacks.push({ j, path, journey: v, ids: [batch.add(j.s, v.hops[0]!)] });
        }
      }
      for (let n = 0; n < ATTACKS; n++) {
        const journey = sampler.journey(path);
        attacks.push({ j, path, journey, ids: [batch.add(j.s, journey.hops[0]!)] });
      }
    }
  }
}
batch.run();
// Further rounds: the next hop of each attack every earlier hop let through.
const longest = [...attacks, ...prefixes].reduce((n, a) => Math.max(n, a.journey.hops.length), 1);
for (let hop = 1; hop < longest; hop++) {
  const next = [...attacks, ...prefixes].filter((a) => a.ids.length === hop && a.journey.hops.length > hop && batch.answer(a.ids[hop - 1]!).verdict === 'allow');
  if (next.length === 0) break;
  for (const a of next) a.ids.push(batch.add(a.j.s, a.journey.hops[hop]!));
  batch.run();
}
const tOracle = Date.now();

const openFailures: OpenFailure[] = [];
for (const o of opens) {
  const f = replayOpen(o.j, o.path, batch, o.ids);
  if (f) openFailures.push(f);
}
for (const p of prefixes) {
  const answers = p.ids.map((id) => batch.answer(id));
  const denied = answers.findIndex((a) => a.verdict !== 'allow');
  if (denied >= 0 && denied < p.prefix) {
    openFailures.push({ kind: 'open', s: p.j.s, path: p.path, journey: p.journey, reason: `(the first ${p.prefix} hop(s) of a closed way, which the model lets through)`, problem: `Istio ${answers[denied]!.verdict === 'deny' ? 'denies' : 'fails on'} the prefix's witness at hop ${denied} (${p.journey.hops[denied]!.label})`, hop: denied, istio: answers[denied] });
  }
  // Every hop let it through: as much a hole as a sampled one.
  if (denied < 0) attacks.push({ j: p.j, path: p.path, journey: p.journey, ids: p.ids });
}
const closedFailures: ClosedFailure[] = [];
const closedVerdicts = new Set<string>();
let passedFirst = 0;
let oracleErrors = 0;
for (const a of attacks) {
  closedVerdicts.add(`${a.j.s.id}|${a.path}`);
  const answers = a.ids.map((id) => batch.answer(id));
  if (answers.some((x) => x.verdict === 'error')) oracleErrors++;
  if (answers[0]!.verdict === 'allow') passedFirst++;
  if (answers.length === a.journey.hops.length && answers.every((x) => x.verdict === 'allow')) {
    closedFailures.push({ kind: 'closed', s: a.j.s, path: a.path, journey: a.journey, reason: a.j.verdicts.get(a.path)!.reason, answers });
  }
}

let passed = 0;
let failed = 0;
const check = (ok: boolean, name: string, detail = '') => {
  ok ? passed++ : failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - reach-diff: ${name}${detail ? ` # ${detail}` : ''}`);
};
const byPath = (xs: { path: DataPath }[]) => DATA_PATHS.map((p) => `${p} ${xs.filter((x) => x.path === p).length}`).join(', ');

console.log(
  `reach-diff: seed ${SEED}, ${SCENARIOS} policy sets (${invalid.length} refused by istiod's validation, ${unreadable} unreadable by the model, ${errors.length} model errors), ` +
    `${judged.length} judged on ${DATA_PATHS.length} paths in ${tJudge - t0} ms; ${oracleCases} oracle cases in ${oracleRuns} oracle runs, ${tOracle - tJudge} ms`,
);
console.log(`reach-diff: ${opens.length} open verdicts replayed (${byPath(opens)}), and ${prefixes.length} witnesses of the open first hops of closed ways`);
console.log(
  `reach-diff: ${closedVerdicts.size} closed verdicts attacked with ${attacks.length} foreign requests (${ATTACKS} sampled each; ${aimed * VARIANTS} variants of ${aimed} aimed past the first hops, ${aimedOwn * VARIANTS} of ${aimedOwn} requests of the target's tenant or the platform re-sent by foreign callers; ${passedFirst} got past the first hop)`,
);
check(errors.length === 0, 'the model judges every policy set', errors.map((e) => `${e.s.id}: ${e.error}`).slice(0, 3).join('; '));
check(judged.length >= SCENARIOS / 2, 'at least half of the policy sets are judged (istiod accepts them, the model reads them)', `${judged.length}/${SCENARIOS}`);
check(opens.length > 0 && closedVerdicts.size > 0, 'both verdicts occur', `${opens.length} open, ${closedVerdicts.size} closed`);
check(oracleErrors === 0, 'the oracle answers every request', `${oracleErrors} errors`);
check(openFailures.length === 0, "every open verdict's witness (and every open prefix's) is a request of its path that Istio allows at every hop it was found for", `${openFailures.length} of ${opens.length + prefixes.length} fail`);
check(closedFailures.length === 0, "no sampled or aimed foreign request passes every hop of a closed path", `${closedFailures.length} of ${attacks.length} pass`);

// The smallest counterexample of each kind (first few distinct scenarios/paths).
const seen = new Set<string>();
for (const f of [...openFailures, ...closedFailures]) {
  const key = `${f.kind}|${f.s.id}|${f.path}`;
  if (seen.has(key) || seen.size >= 4) continue;
  seen.add(key);
  const small =
    f.kind === 'open' ? shrink(f, (s) => checkOpen(s, f.path)) : shrink(f as ClosedFailure, (s) => checkClosed(s, f.path, (f as ClosedFailure).journey));
  console.log(show(small));
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
