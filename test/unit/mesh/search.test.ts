// The search (formula.ts solve) against two references on generated
// formulas: brute-force enumeration of every assignment over a small
// universe, and the search it replaced (value by value over candidates
// built from every pattern of the formula, kept below as it was), which
// must agree on whether a request exists. Replay a failure with
// TG_PROPERTY_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { stringCandidates, withAbsent } from '../../../src/mesh/candidates.js';
import { and, evaluate, leaves, not, or, simplify, type Assignment, type Formula, type Leaf, type SearchVar, type Value, solve } from '../../../src/mesh/formula.js';
import { istioStringMatch } from '../../../src/mesh/istio-match.js';

const NUM_RUNS = Number(process.env.TG_PROPERTY_RUNS ?? 300);
const SEED = Number(process.env.TG_PROPERTY_SEED ?? Date.now() % 2 ** 31);

const KEYS = ['a', 'b', 'c', 'port', 'principal'];
const PATTERNS = ['x', 'xy', 'y', 'x*', 'xy*', '*y', '*xy', '*', 'z', 'tenant-1', 'tenant-*', '*-1', '8012', '8013'];

function leaf(key: string, patterns: string[]): Formula {
  return { t: 'leaf', key, kind: 'string', patterns, pred: (v) => patterns.some((p) => istioStringMatch(p, v)) };
}

const leafArb = fc.record({ key: fc.constantFrom(...KEYS), patterns: fc.uniqueArray(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 3 }) }).map((l) => leaf(l.key, l.patterns));

// Shaped like compiled policies: ORs of ANDs (rules) of leaves and negations, nested a few levels.
const formulaArb: fc.Arbitrary<Formula> = fc.letrec<{ f: Formula }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    leafArb.map(not),
    fc.array(tie('f'), { minLength: 1, maxLength: 4 }).map(and),
    fc.array(tie('f'), { minLength: 1, maxLength: 4 }).map(or),
    tie('f').map(not),
  ),
})).f;

// --- brute force over a fixed universe ---------------------------------------

const UNIVERSE: Record<string, Value[]> = {
  a: [undefined, 'x', 'xy', 'y', 'xqy', 'q'],
  b: [undefined, 'x', 'y', 'z', 'q'],
  c: [undefined, 'tenant-1', 'tenant-2', 'other-1', 'q'],
  port: ['8012', '8013', '9'],
};
// The principal's candidates depend on the port, as a PERMISSIVE port adds "no identity".
const principalsAt = (port: Value): Value[] => (port === '8013' ? [undefined, 'tenant-1', 'tenant-2'] : ['tenant-1', 'tenant-2', 'x']);

function universeVars(): SearchVar[] {
  return [
    { key: 'port', values: () => UNIVERSE.port! },
    { key: 'principal', dependsOn: ['port'], values: (a) => principalsAt(a.get('port')) },
    ...['a', 'b', 'c'].map((key) => ({ key, values: () => UNIVERSE[key]! })),
  ];
}

function bruteForce(f: Formula): boolean {
  for (const port of UNIVERSE.port!)
    for (const principal of principalsAt(port))
      for (const a of UNIVERSE.a!)
        for (const b of UNIVERSE.b!)
          for (const c of UNIVERSE.c!) {
            const asg: Assignment = new Map<string, Value>([
              ['port', port],
              ['principal', principal],
              ['a', a],
              ['b', b],
              ['c', c],
            ]);
            if (evaluate(f, asg) === 1) return true;
          }
  return false;
}

/** A found assignment must make the formula true, whatever the variables it left unset. */
function witnesses(f: Formula, a: Assignment): boolean {
  const h = simplify(f, a);
  return h.t === 'const' && h.v;
}

t.test('solve agrees with brute-force enumeration over a small universe', async (t) => {
  fc.assert(
    fc.property(formulaArb, (f) => {
      const found = solve(f, universeVars(), new Map());
      const exists = bruteForce(f);
      if ((found !== undefined) !== exists) return false;
      if (found && !witnesses(f, found)) return false;
      // A dependent variable's value is one its dependency allows.
      if (found?.has('principal') && !principalsAt(found.get('port')).includes(found.get('principal'))) return false;
      return true;
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  t.pass(`seed ${SEED}, ${NUM_RUNS} runs`);
});

// --- the previous search, as a reference --------------------------------------

/** The search before issue 17: branch on variables in order, candidates from every pattern of the whole formula. */
function previousSolve(f: Formula, vars: { key: string; values: (a: Assignment) => Value[]; dependsOn?: string[] }[], fixed: Assignment, budget = 200_000): Assignment | undefined {
  const order = new Map(vars.map((v, i) => [v.key, i]));
  const byKey = new Map(vars.map((v) => [v.key, v]));
  const deps = new Map(vars.filter((v) => v.dependsOn).map((v) => [v.key, v.dependsOn!]));
  const keysOf = (g: Formula) => {
    const out = new Set<string>();
    for (const l of leaves(g)) {
      out.add(l.key);
      for (const d of deps.get(l.key) ?? []) out.add(d);
    }
    return out;
  };
  let nodes = 0;
  const rec = (g: Formula, a: Assignment): Assignment | undefined => {
    if (++nodes > budget) throw new Error('budget');
    const h = simplify(g, a);
    if (h.t === 'const') return h.v ? a : undefined;
    if (h.t === 'or') {
      for (const x of h.xs) {
        const r = rec(x, a);
        if (r) return r;
      }
      return undefined;
    }
    const pending = [...keysOf(h)].filter((k) => !a.has(k)).sort((x, y) => (order.get(x) ?? 1e9) - (order.get(y) ?? 1e9));
    let key = pending[0];
    if (key === undefined) return undefined;
    for (const d of deps.get(key) ?? []) if (!a.has(d)) key = d;
    for (const val of byKey.get(key)!.values(a)) {
      const r = rec(h, new Map(a).set(key, val));
      if (r) return r;
    }
    return undefined;
  };
  return rec(f, new Map(fixed));
}

const FRESH = 'qjx';
const pats = (ls: readonly Leaf[]) => ls.flatMap((l) => l.patterns);

t.test('solve, with candidates from the patterns still testing a variable, agrees with the previous search over every pattern', async (t) => {
  fc.assert(
    fc.property(formulaArb, (f) => {
      const all = leaves(f);
      const allOn = (key: string) => all.filter((l) => l.key === key);
      // The same generator both ways: the new search passes the leaves it still has, the previous one every leaf.
      const gen = (key: string, ls: readonly Leaf[]): Value[] => {
        if (key === 'port') return [...new Set(['8012', '8013', ...pats(ls).filter((p) => /^[0-9]+$/.test(p))])];
        return withAbsent(stringCandidates(pats(ls), [], FRESH));
      };
      const principal = (port: Value, ls: readonly Leaf[]): Value[] => {
        const ids = stringCandidates(pats(ls), ['tenant-2'], FRESH);
        return port === '8013' ? [undefined, ...ids] : ids;
      };
      const next: SearchVar[] = [
        { key: 'port', values: (_a, ls) => gen('port', ls) },
        { key: 'principal', dependsOn: ['port'], values: (a, ls) => principal(a.get('port'), ls) },
        ...['a', 'b', 'c'].map((key): SearchVar => ({ key, values: (_a, ls) => gen(key, ls) })),
      ];
      const previous = [
        { key: 'port', values: () => gen('port', allOn('port')) },
        { key: 'principal', dependsOn: ['port'], values: (a: Assignment) => principal(a.get('port'), allOn('principal')) },
        ...['a', 'b', 'c'].map((key) => ({ key, values: () => gen(key, allOn(key)) })),
      ];
      const n = solve(f, next, new Map());
      const p = previousSolve(f, previous, new Map());
      if ((n !== undefined) !== (p !== undefined)) return false;
      return !n || witnesses(f, n);
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  t.pass(`seed ${SEED}, ${NUM_RUNS} runs`);
});

t.test('one Host-scoped ALLOW per tenant: the steps grow linearly with the rules, far below the budget', async (t) => {
  // The seed reference's activator shape: rule i admits tenant i's namespaces with a Host of them.
  // No request passes (the Host must name tenant 0's namespace, the caller must not be tenant 0).
  const build = (n: number) => {
    const rules = Array.from({ length: n }, (_, i) => and([leaf('principal', [`tenant-${i}-ns1`, `tenant-${i}-ns2`]), leaf('a', [`*.tenant-${i}-ns1.svc`, `*.tenant-${i}-ns2.svc`])]));
    return and([or(rules), leaf('a', ['*.tenant-0-ns1.svc']), not(leaf('principal', ['tenant-0-*']))]);
  };
  const vars = (f: Formula): SearchVar[] => [
    { key: 'principal', values: (_a, ls) => stringCandidates(pats(ls), [], FRESH) },
    { key: 'a', values: (_a, ls) => stringCandidates(pats(ls), [], FRESH) },
  ];
  for (const n of [100, 1000, 3000]) {
    const f = build(n);
    // A budget just above 2 steps per rule: reaching it throws.
    t.equal(solve(f, vars(f), new Map(), 2 * n + 10), undefined, `${n} rules: no request, within ${2 * n + 10} steps`);
  }
  // The previous search needed a step per candidate principal and Host pair.
  t.throws(() => {
    const f = build(300);
    const all = leaves(f);
    const on = (key: string) => all.filter((l) => l.key === key);
    previousSolve(f, [{ key: 'principal', values: () => stringCandidates(pats(on('principal')), [], FRESH) }, { key: 'a', values: () => stringCandidates(pats(on('a')), [], FRESH) }], new Map());
  }, /budget/);
});
