// Boolean formulas over request attributes, evaluated in three-valued
// (Kleene) logic so the search can prune a partial request as soon as some
// hop is certainly denied.

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

/** Every leaf of a formula, for collecting the patterns each variable is tested against. */
export function leaves(f: Formula, out: Extract<Formula, { t: 'leaf' }>[] = []): Extract<Formula, { t: 'leaf' }>[] {
  switch (f.t) {
    case 'leaf':
      out.push(f);
      break;
    case 'not':
      leaves(f.x, out);
      break;
    case 'and':
    case 'or':
      for (const x of f.xs) leaves(x, out);
      break;
    default:
      break;
  }
  return out;
}

/** A variable of the search: its key and the candidate values given earlier choices. */
export interface SearchVar {
  key: string;
  values: (a: Assignment) => Value[];
  /** Variables whose values `values` reads: they are chosen first. */
  dependsOn?: string[];
}

/** Replace assigned leaves by their truth value and fold constants. */
export function simplify(f: Formula, a: Assignment): Formula {
  switch (f.t) {
    case 'const':
      return f;
    case 'leaf':
      return a.has(f.key) ? { t: 'const', v: f.pred(a.get(f.key)) } : f;
    case 'not':
      return not(simplify(f.x, a));
    case 'and':
      return and(f.xs.map((x) => simplify(x, a)));
    case 'or':
      return or(f.xs.map((x) => simplify(x, a)));
  }
}

function keysOf(f: Formula, deps: Map<string, string[]>, out = new Set<string>()): Set<string> {
  for (const l of leaves(f)) {
    out.add(l.key);
    for (const d of deps.get(l.key) ?? []) out.add(d);
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
 * Search for an assignment making `f` true. The formula is simplified after
 * every choice; a disjunction is solved one disjunct at a time, and a
 * conjunction whose parts share no variable part by part, so unrelated
 * attributes (say, a path condition and an IP condition) are searched side
 * by side instead of as a product. Variables are branched on in the order
 * given (a variable's `dependsOn` first). `budget` bounds the nodes visited:
 * exhausting it throws, so a caller never mistakes "gave up" for "denied".
 */
export function solve(f: Formula, vars: SearchVar[], fixed: Assignment, budget = 200_000): Assignment | undefined {
  const order = new Map(vars.map((v, i) => [v.key, i]));
  const byKey = new Map(vars.map((v) => [v.key, v]));
  const deps = new Map(vars.filter((v) => v.dependsOn).map((v) => [v.key, v.dependsOn!]));
  let nodes = 0;
  const rec = (g: Formula, a: Assignment): Assignment | undefined => {
    if (++nodes > budget) throw new Error(`reachability search exceeded ${budget} steps; the policy set is too large to judge`);
    const h = simplify(g, a);
    if (h.t === 'const') return h.v ? a : undefined;
    if (h.t === 'or') {
      for (const x of h.xs) {
        const r = rec(x, a);
        if (r) return r;
      }
      return undefined;
    }
    if (h.t === 'and') {
      const comps = components(h.xs, deps);
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
    const pending = [...keysOf(h, deps)].filter((k) => !a.has(k)).sort((x, y) => (order.get(x) ?? 1e9) - (order.get(y) ?? 1e9));
    let key = pending[0];
    if (key === undefined) return undefined;
    for (const d of deps.get(key) ?? []) if (!a.has(d)) key = d;
    const v = byKey.get(key);
    if (!v) throw new Error(`no candidate values for request attribute ${key}`);
    for (const val of v.values(a)) {
      const a2 = new Map(a);
      a2.set(key, val);
      const r = rec(h, a2);
      if (r) return r;
    }
    return undefined;
  };
  return rec(f, new Map(fixed));
}
