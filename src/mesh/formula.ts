// Boolean formulas over request attributes, evaluated in three-valued
// (Kleene) logic so the search can prune a partial request as soon as some
// hop is certainly denied.

import { objectIds } from './object-ids.js';

export type Value = string | undefined; // undefined: the attribute is absent

/** How candidate values for a variable are derived from the patterns that test it. */
export type PatternKind = 'string' | 'host' | 'principal' | 'namespace' | 'serviceAccount' | 'trustDomain' | 'ip' | 'port';

export type Formula =
  | { t: 'leaf'; key: string; kind: PatternKind; patterns: string[]; pred: (v: Value) => boolean }
  | { t: 'and'; xs: Formula[] }
  | { t: 'or'; xs: Formula[] }
  | { t: 'not'; x: Formula }
  | { t: 'const'; v: boolean };

export const TRUE: Formula = { t: 'const', v: true };
export const FALSE: Formula = { t: 'const', v: false };

export function and(xs: Formula[]): Formula {
  const ys = xs.filter((x) => !(x.t === 'const' && x.v));
  if (ys.some((x) => x.t === 'const' && !x.v)) return FALSE;
  if (ys.length === 0) return TRUE;
  return ys.length === 1 ? ys[0]! : { t: 'and', xs: ys };
}

export function or(xs: Formula[]): Formula {
  const ys = xs.filter((x) => !(x.t === 'const' && !x.v));
  if (ys.some((x) => x.t === 'const' && x.v)) return TRUE;
  if (ys.length === 0) return FALSE;
  return ys.length === 1 ? ys[0]! : { t: 'or', xs: ys };
}

export function not(x: Formula): Formula {
  if (x.t === 'const') return { t: 'const', v: !x.v };
  if (x.t === 'not') return x.x;
  return { t: 'not', x };
}

export type Assignment = Map<string, Value>;

/** 1 = true, 0 = false, 2 = unknown (some variable it reads is unassigned). */
export type Tri = 0 | 1 | 2;

export function evaluate(f: Formula, a: Assignment): Tri {
  switch (f.t) {
    case 'const':
      return f.v ? 1 : 0;
    case 'leaf':
      if (!a.has(f.key)) return 2;
      return f.pred(a.get(f.key)) ? 1 : 0;
    case 'not': {
      const v = evaluate(f.x, a);
      return v === 2 ? 2 : v === 1 ? 0 : 1;
    }
    case 'and': {
      let unknown = false;
      for (const x of f.xs) {
        const v = evaluate(x, a);
        if (v === 0) return 0;
        if (v === 2) unknown = true;
      }
      return unknown ? 2 : 1;
    }
    case 'or': {
      let unknown = false;
      for (const x of f.xs) {
        const v = evaluate(x, a);
        if (v === 1) return 1;
        if (v === 2) unknown = true;
      }
      return unknown ? 2 : 0;
    }
  }
}

const leavesMemo = new WeakMap<Formula, readonly Leaf[]>();
const NO_LEAVES: readonly Leaf[] = [];

/**
 * Every leaf of a formula, for collecting the patterns each variable is
 * tested against. Kept per formula node (formulas are never changed, and
 * simplify returns an untouched part as is): the search reads the leaves of
 * the same large hop formulas at every step, and a shared activator or
 * gateway hop holds one rule per tenant.
 */
export function leaves(f: Formula): readonly Leaf[] {
  if (f.t === 'leaf') return [f];
  if (f.t === 'const') return NO_LEAVES;
  let memo = leavesMemo.get(f);
  if (memo) return memo;
  if (f.t === 'not') memo = leaves(f.x);
  else if (f.xs.length === 1) memo = leaves(f.xs[0]!);
  else {
    const out: Leaf[] = [];
    for (const x of f.xs) for (const l of leaves(x)) out.push(l);
    memo = out;
  }
  leavesMemo.set(f, memo);
  return memo;
}

const keysMemo = new WeakMap<Formula, ReadonlySet<string>>();

/**
 * The variables a formula tests, kept per node and built from the children's
 * sets: a node simplify makes anew over a hop with one rule per tenant costs
 * its children, not its leaves.
 */
function keySet(f: Formula): ReadonlySet<string> {
  if (f.t === 'leaf') return new Set([f.key]);
  if (f.t === 'const') return NO_KEYS;
  let memo = keysMemo.get(f);
  if (!memo) {
    if (f.t === 'not') memo = keySet(f.x);
    else if (f.xs.length === 1) memo = keySet(f.xs[0]!);
    else {
      const ks = new Set<string>();
      for (const x of f.xs) for (const k of keySet(x)) ks.add(k);
      memo = ks;
    }
    keysMemo.set(f, memo);
  }
  return memo;
}

const NO_KEYS: ReadonlySet<string> = new Set();
const keyLeavesMemo = new WeakMap<Formula, Map<string, readonly Leaf[]>>();

/**
 * The leaves of a formula that test one variable, kept per node and key:
 * the arrays are shared, so the search's candidate cache can key on them.
 */
function leavesOfKey(f: Formula, key: string): readonly Leaf[] {
  if (f.t === 'leaf') return f.key === key ? [f] : NO_LEAVES;
  if (f.t === 'const' || !keySet(f).has(key)) return NO_LEAVES;
  if (f.t === 'not') return leavesOfKey(f.x, key);
  if (f.xs.length === 1) return leavesOfKey(f.xs[0]!, key);
  let byKey = keyLeavesMemo.get(f);
  if (!byKey) keyLeavesMemo.set(f, (byKey = new Map()));
  let memo = byKey.get(key);
  if (!memo) {
    const out: Leaf[] = [];
    for (const x of f.xs) for (const l of leavesOfKey(x, key)) out.push(l);
    byKey.set(key, (memo = out));
  }
  return memo;
}

export type Leaf = Extract<Formula, { t: 'leaf' }>;

/** A variable of the search: its key and the candidate values given earlier choices. */
export interface SearchVar {
  key: string;
  /**
   * Candidate values, given the values of `dependsOn` in `a` and the leaves
   * that still test this variable in the part of the formula being solved:
   * candidates are built from those leaves' patterns only (candidates.ts), so
   * one rule's choices never carry every other rule's constants.
   */
  values: (a: Assignment, leaves: readonly Leaf[]) => Value[];
  /** Variables whose values `values` reads: they are chosen first. */
  dependsOn?: string[];
}

/** Replace assigned leaves by their truth value and fold constants. A part with nothing to replace is returned as is. */
export function simplify(f: Formula, a: Assignment): Formula {
  switch (f.t) {
    case 'const':
      return f;
    case 'leaf':
      return a.has(f.key) ? (f.pred(a.get(f.key)) ? TRUE : FALSE) : f;
    case 'not': {
      const x = simplify(f.x, a);
      return x === f.x ? f : not(x);
    }
    case 'and':
    case 'or': {
      // A part testing no assigned variable is left as is, without walking it.
      let touched = false;
      for (const k of keySet(f)) if (a.has(k)) { touched = true; break; }
      if (!touched) return f;
      let ys: Formula[] | undefined;
      for (let i = 0; i < f.xs.length; i++) {
        const y = simplify(f.xs[i]!, a);
        if (y !== f.xs[i] && !ys) ys = f.xs.slice(0, i);
        if (ys) ys.push(y);
      }
      if (!ys) return f;
      return f.t === 'and' ? and(ys) : or(ys);
    }
  }
}

function keysOf(f: Formula, deps: Map<string, string[]>, out = new Set<string>()): Set<string> {
  for (const k of keySet(f)) {
    out.add(k);
    for (const d of deps.get(k) ?? []) out.add(d);
  }
  return out;
}

/** Split conjuncts into groups that share no variable: each group is solved on its own. */
function components(xs: Formula[], deps: Map<string, string[]>): Formula[][] {
  const groups: { keys: Set<string>; xs: Formula[] }[] = [];
  for (const x of xs) {
    const keys = keysOf(x, deps);
    const touching = groups.filter((g) => [...keys].some((k) => g.keys.has(k)));
    const merged = { keys, xs: [x] };
    for (const g of touching) {
      for (const k of g.keys) merged.keys.add(k);
      merged.xs.push(...g.xs);
      groups.splice(groups.indexOf(g), 1);
    }
    groups.push(merged);
  }
  return groups.map((g) => g.xs);
}

/**
 * The conjuncts of a conjunction, nested conjunctions flattened and a negated
 * disjunction read as the conjunction of the negations (De Morgan), so every
 * test a request must pass or fail outright stands at the top.
 */
function conjuncts(f: Formula, out: Formula[] = []): Formula[] {
  if (f.t === 'and') for (const x of f.xs) conjuncts(x, out);
  else if (f.t === 'not' && f.x.t === 'or') for (const x of f.x.xs) conjuncts(not(x), out);
  else if (f.t === 'not' && f.x.t === 'not') conjuncts(f.x.x, out);
  else out.push(f);
  return out;
}

interface Literal {
  leaf: Leaf;
  /** The request must NOT match the leaf. */
  negated: boolean;
}

function literalOf(f: Formula): Literal | undefined {
  if (f.t === 'leaf') return { leaf: f, negated: false };
  if (f.t === 'not' && f.x.t === 'leaf') return { leaf: f.x, negated: true };
  return undefined;
}

const holds = (lits: Literal[], v: Value) => lits.every((l) => l.leaf.pred(v) !== l.negated);

/** A number per compiled leaf, for cache keys (leaves are shared across reviews through the formula memos). */
const leafId = objectIds<Leaf>();

const leafSetSigs = new WeakMap<readonly Leaf[], string>();

/** A cache key for a set of leaves, by identity; kept per array (leavesOfKey's arrays are shared). */
function leafSetSig(ls: readonly Leaf[]): string {
  let sig = leafSetSigs.get(ls);
  if (sig === undefined) {
    sig = '';
    for (const id of ls.map(leafId).sort((x, y) => x - y)) sig += `${id},`;
    leafSetSigs.set(ls, sig);
  }
  return sig;
}

/**
 * Search for an assignment making `f` true: a DPLL-style search over the
 * rules, with per-attribute constraint checks (docs/authorization-policy.md,
 * "How the search works"). At each step the formula is simplified by the
 * values chosen so far and read as a conjunction:
 * 1. every test the request must pass or fail outright (a literal: a leaf, or
 *    a negated leaf) is grouped by attribute, and each attribute's literals
 *    are checked together against that attribute's candidates, built from
 *    the patterns still testing it: one attribute with no candidate
 *    satisfying its literals ends the branch;
 * 2. conjuncts that share no variable are solved apart;
 * 3. a disjunction among the conjuncts (some rule of a policy, some source of
 *    a rule) is split, the one with the fewest alternatives first: each
 *    alternative is solved with the rest, so a rule is tried with its own
 *    constraints and never multiplied with another rule's candidates;
 * 4. only when no disjunction is left is a variable given a value, among the
 *    candidates that pass its literals (a variable's `dependsOn` first).
 * Negated rules (DENY, `not*` fields) are never split: they are decided by
 * the values chosen for the attributes they test. `budget` bounds the steps:
 * exhausting it throws, so a caller never mistakes "gave up" for "denied".
 */
export function solve(f: Formula, vars: SearchVar[], fixed: Assignment, budget = 200_000): Assignment | undefined {
  const order = new Map(vars.map((v, i) => [v.key, i]));
  const byKey = new Map(vars.map((v) => [v.key, v]));
  const deps = new Map(vars.filter((v) => v.dependsOn).map((v) => [v.key, v.dependsOn!]));
  const cache = new Map<string, Value[]>();
  let nodes = 0;
  const step = () => {
    if (++nodes > budget) throw new Error(`reachability search exceeded ${budget} steps; the policy set is too large to judge`);
  };

  /**
   * Candidates of `key` for the leaves `own` (its dependencies assigned in
   * `a`, or else each of their candidates for their leaves in `all` tried).
   */
  const domain = (key: string, a: Assignment, own: readonly Leaf[], of: Formula): Value[] => {
    const v = byKey.get(key);
    if (!v) throw new Error(`no candidate values for request attribute ${key}`);
    const ds = v.dependsOn ?? [];
    const open = ds.find((d) => !a.has(d));
    if (open !== undefined) {
      const out = new Set<Value>();
      for (const dv of domain(open, a, leavesOfKey(of, open), of)) for (const x of domain(key, new Map(a).set(open, dv), own, of)) out.add(x);
      return [...out];
    }
    // Keyed by the leaves' identities, not their patterns: a pinned hop's
    // leaves carry long pattern lists, and joining them cost more than the
    // candidates they spare.
    let sig = key;
    for (const d of ds) sig += `\u0001${String(a.get(d))}`;
    sig += `\u0002${leafSetSig(own)}`;
    let hit = cache.get(sig);
    if (!hit) {
      hit = v.values(a, own);
      cache.set(sig, hit);
    }
    return hit;
  };

  const rec = (g: Formula, a: Assignment): Assignment | undefined => {
    step();
    const h = simplify(g, a);
    if (h.t === 'const') return h.v ? a : undefined;
    if (h.t === 'or') {
      for (const x of h.xs) {
        const r = rec(x, a);
        if (r) return r;
      }
      return undefined;
    }
    // (Constants left in a formula built without the and/or/not constructors.)
    const xs = conjuncts(h).filter((x) => !(x.t === 'const' && x.v));
    if (xs.some((x) => x.t === 'const')) return undefined;
    if (xs.length === 0) return a;
    // 1. Per-attribute constraint check of the literals.
    const lits = new Map<string, Literal[]>();
    for (const x of xs) {
      const l = literalOf(x);
      if (!l) continue;
      const list = lits.get(l.leaf.key);
      if (list) list.push(l);
      else lits.set(l.leaf.key, [l]);
    }
    // The literals' own patterns are enough to witness them (candidates.ts).
    for (const [key, ls] of lits) if (!domain(key, a, ls.map((l) => l.leaf), h).some((v) => holds(ls, v))) return undefined;
    // 2. Independent parts.
    if (xs.length > 1) {
      const comps = components(xs, deps);
      if (comps.length > 1) {
        let acc = a;
        for (const c of comps) {
          const r = rec(and(c), acc);
          if (!r) return undefined;
          acc = r;
        }
        return acc;
      }
    }
    // 3. Split the narrowest disjunction.
    let split: Extract<Formula, { t: 'or' }> | undefined;
    for (const x of xs) if (x.t === 'or' && (!split || x.xs.length < split.xs.length)) split = x;
    if (split) {
      const rest = xs.filter((x) => x !== split);
      for (const d of split.xs) {
        const r = rec(and([...rest, d]), a);
        if (r) return r;
      }
      return undefined;
    }
    // 4. Choose a value.
    const pending = [...keysOf(h, deps)].filter((k) => !a.has(k)).sort((x, y) => (order.get(x) ?? 1e9) - (order.get(y) ?? 1e9));
    let key = pending[0];
    if (key === undefined) return undefined;
    for (const d of deps.get(key) ?? []) if (!a.has(d)) key = d;
    const own = lits.get(key) ?? [];
    for (const val of domain(key, a, leavesOfKey(h, key), h)) {
      if (!holds(own, val)) continue;
      const r = rec(h, new Map(a).set(key, val));
      if (r) return r;
    }
    return undefined;
  };
  return rec(f, new Map(fixed));
}
