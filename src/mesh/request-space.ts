import {
  freshTokenAvoiding,
  ipCandidates,
  namespaceCandidates,
  portCandidates,
  serviceAccountCandidates,
  stringCandidates,
  withAbsent,
} from './candidates.js';
import { compileRule, hopKeys, SHARED, type HopKeys } from './compile.js';
import { and, leaves, not, or, solve, TRUE, type Assignment, type Formula, type Leaf, type SearchVar, type Value } from './formula.js';
import { hostCandidatesFor } from './host-ports.js';
import { principalOf } from './istio-match.js';
import type { MeshState } from './mesh-state.js';
import { NAMESPACE_HEADER } from './platform.js';
import type { ParsedPolicy } from './policy.js';
import type { CallerSet, Hop, Route } from './routes.js';

// A route as one formula over the request's attributes, and the finite set of
// attacker choices that is enough to satisfy it whenever any request can:
// every pattern is exact, `prefix*`, `*suffix` or `*`, so the patterns' own
// constants plus a fresh piece no constant contains cover every way of
// matching some patterns and avoiding the others (candidates.ts).

/** Istio's order at one hop: DENY first; then, if any ALLOW policy applies, some ALLOW rule must match. */
export function hopFormula(h: Hop, k: HopKeys): Formula {
  const deny = or(h.deny.flatMap((p) => p.rules.map((r) => compileRule(r, k))));
  // An ALLOW policy without rules matches nothing (`spec: {}` denies all); a
  // workload without ALLOW policies allows the request.
  const allow = h.allow.length === 0 ? TRUE : or(h.allow.flatMap((p) => p.rules.map((r) => compileRule(r, k))));
  return and([not(deny), allow]);
}

export function keysOf(route: Route, i: number): HopKeys {
  return hopKeys(i, new Set(route.hops[i]!.headerOverrides.keys()), route.trustDomain);
}

const hopMemo = new WeakMap<ParsedPolicy[], Map<string, { deny: ParsedPolicy[]; f: Formula }>>();

/** hopFormula, once per hop's policy lists (kept across reviews where the lists are: MeshState.activatorEnforced) and keys. */
function sharedHopFormula(h: Hop, k: HopKeys): Formula {
  let byKeys = hopMemo.get(h.allow);
  if (!byKeys) hopMemo.set(h.allow, (byKeys = new Map()));
  const hit = byKeys.get(k.id);
  if (hit && hit.deny === h.deny) return hit.f;
  const f = hopFormula(h, k);
  byKeys.set(k.id, { deny: h.deny, f });
  return f;
}

function routeFormula(route: Route): { f: Formula; hops: Formula[] } {
  const hops = route.hops.map((h, i) => sharedHopFormula(h, keysOf(route, i)));
  return { f: and(hops), hops };
}

interface FormulaFacts {
  leaves: readonly Leaf[];
  /** Pattern kinds per variable. */
  kinds: Map<string, Set<string>>;
  /** Characters the patterns use (lower-case). */
  used: Set<string>;
}

const factsMemo = new WeakMap<Formula, FormulaFacts>();

/** What the search space needs to know of a hop's formula, once per formula. */
function factsOf(f: Formula): FormulaFacts {
  let facts = factsMemo.get(f);
  if (facts) return facts;
  const all = leaves(f);
  const kinds = new Map<string, Set<string>>();
  const used = new Set<string>();
  for (const l of all) {
    const ks = kinds.get(l.key) ?? new Set<string>();
    ks.add(l.kind);
    kinds.set(l.key, ks);
    for (const ch of charsOf(l)) used.add(ch);
  }
  factsMemo.set(f, (facts = { leaves: all, kinds, used }));
  return facts;
}

/**
 * Namespaces a caller of the set may call from, given the namespace patterns
 * the route tests, and the token the invented ones are made of. The invented
 * names stand for every name nobody holds: if one of them is taken (someone
 * created it, say to hide it from this check), another token is used, so
 * each class of names keeps a representative nobody holds.
 */
function callerNamespaces(
  m: MeshState,
  callers: CallerSet,
  patterns: { namespace: string[]; principal: string[]; serviceAccount: string[] },
  used: ReadonlySet<string>,
  constants: () => string[],
  fresh: string,
): { namespaces: string[]; tokens: string[] } {
  if (callers.kind === 'namespaces') return { namespaces: callers.namespaces, tokens: [fresh] };
  const own = m.ownership;
  const candidates = new Set<string>();
  const tokens: string[] = [];
  for (let variant = 0; variant < 64; variant++) {
    const token = variant === 0 ? fresh : freshTokenAvoiding(used, constants, variant);
    tokens.push(token);
    const cands = namespaceCandidates(patterns.namespace, patterns.principal, patterns.serviceAccount, token);
    for (const c of cands) candidates.add(c);
    if (cands.filter((c) => c.includes(token)).every((c) => own.ownerOf(c).kind === 'free')) break;
  }
  const namespaces = [...candidates].filter((ns) => {
    if (!own.isForeignTo(ns, callers.tenant)) return false;
    // A matrix row for "everyone else": names no tenant holds today.
    return !callers.onlyUnlisted || own.ownerOf(ns).kind !== 'tenant';
  });
  return { namespaces, tokens };
}

const patternsMemo = new WeakMap<readonly Leaf[], Map<string, string[]>>();

/** The patterns of some leaves (of one kind), kept per leaf array: the search hands the same shared arrays to every candidate call. */
function patternsOf(ls: readonly Leaf[], kind?: string): string[] {
  let byKind = patternsMemo.get(ls);
  if (!byKind) patternsMemo.set(ls, (byKind = new Map()));
  const k = kind ?? '';
  let out = byKind.get(k);
  if (!out) byKind.set(k, (out = ls.filter((l) => !kind || l.kind === kind).flatMap((l) => l.patterns)));
  return out;
}

const charsMemo = new WeakMap<Leaf, string>();

/** The characters (lower-case) a leaf's patterns use, once per compiled leaf: the fresh token avoids them. */
function charsOf(l: Leaf): string {
  let cs = charsMemo.get(l);
  if (cs === undefined) {
    const set = new Set<string>();
    for (const p of l.patterns) for (const ch of p.toLowerCase()) set.add(ch);
    charsMemo.set(l, (cs = [...set].join('')));
  }
  return cs;
}

/**
 * The search space of attacker choices for one route. Each variable's
 * candidates are built from the patterns of the leaves that still test it
 * where the search stands (formula.ts solve), never from every policy at once.
 */
function searchSpace(m: MeshState, route: Route, hopFormulas: Formula[]): { vars: SearchVar[]; fixed: Assignment; tokens: () => string[] } {
  const keys = new Map<string, Set<string>>();
  const used = new Set<string>();
  const facts = hopFormulas.map(factsOf);
  for (const x of facts) {
    for (const [key, ks] of x.kinds) {
      const kinds = keys.get(key) ?? new Set<string>();
      for (const kind of ks) kinds.add(kind);
      keys.set(key, kinds);
    }
    for (const ch of x.used) used.add(ch);
  }
  let constantsMemo: string[] | undefined;
  const constants = () => (constantsMemo ??= facts.flatMap((x) => x.leaves.flatMap((l) => l.patterns)));
  const pats = patternsOf;
  const fresh = freshTokenAvoiding(used, constants);
  // Every token an invented namespace name was made of, in any part of the search.
  const namespaceTokens = new Set<string>([fresh]);
  const fixed: Assignment = new Map();
  const vars: SearchVar[] = [];
  const drain = m.config.drainPorts;

  route.hops.forEach((h, i) => {
    const k = keysOf(route, i);
    vars.push({ key: k.port, values: (_a, ls) => (h.freePort ? portCandidates(h.ports, pats(ls), drain) : h.ports) });
    for (const [name, value] of h.headerOverrides) fixed.set(k.header(name), value);
    const modeAt = (a: Assignment) => (h.sidecar ? m.mtlsMode(h.workload, String(a.get(k.port))) : 'STRICT');
    if (h.caller.kind === 'forwarder') {
      const principal = h.caller.principal;
      // Platform proxies call with mTLS; a DISABLE hop drops the identity.
      vars.push({ key: k.principal, dependsOn: [k.port], values: (a) => [modeAt(a) === 'DISABLE' ? undefined : principal] });
    } else {
      const caller = h.caller;
      vars.push({
        key: k.principal,
        dependsOn: [k.port],
        values: (a, ls): Value[] => {
          if (caller.noIdentityOnly) return [undefined];
          const sas = serviceAccountCandidates(pats(ls, 'principal'), pats(ls, 'serviceAccount'), fresh);
          const { namespaces, tokens } = callerNamespaces(
            m,
            caller.callers,
            { namespace: pats(ls, 'namespace'), principal: pats(ls, 'principal'), serviceAccount: pats(ls, 'serviceAccount') },
            used,
            constants,
            fresh,
          );
          for (const t of tokens) namespaceTokens.add(t);
          const ids = namespaces.flatMap((ns) => sas.map((sa) => principalOf(m.config.trustDomain, ns, sa)));
          const mode = modeAt(a);
          if (mode === 'DISABLE') return ids.length > 0 ? [undefined] : [];
          return mode === 'PERMISSIVE' && ids.length > 0 ? [...ids, undefined] : ids;
        },
      });
    }
  });
  for (const [name, value] of route.callerHeaders) {
    const key = keysOf(route, 0).header(name);
    if (name === NAMESPACE_HEADER) vars.push({ key, values: (_a, ls) => routingHeaderValues(value, pats(ls), fresh) });
    else fixed.set(key, value);
  }

  const target = route.hops.at(-1)!.workload.namespace;
  vars.push({ key: SHARED.host, values: (_a, ls) => hostCandidatesFor(route, target, pats(ls), fresh) });

  const rest = [...keys.keys()].filter((key) => !vars.some((v) => v.key === key) && !fixed.has(key)).sort((a, b) => {
    // The routing header first: it is what per-tenant activator rules pin.
    const pa = a === `header:${NAMESPACE_HEADER}` ? 0 : 1;
    const pb = b === `header:${NAMESPACE_HEADER}` ? 0 : 1;
    return pa - pb || a.localeCompare(b);
  });
  for (const key of rest) {
    const kinds = keys.get(key)!;
    let values: (ls: readonly Leaf[]) => Value[];
    if (kinds.has('ip')) values = (ls) => ipCandidates(pats(ls));
    else if (key === SHARED.method) values = (ls) => stringCandidates(pats(ls), ['GET', 'POST'], fresh.toUpperCase());
    else if (key === SHARED.path) values = (ls) => stringCandidates(pats(ls), ['/', `/${fresh}`], fresh);
    else if (key.startsWith('header:')) values = (ls) => withAbsent(stringCandidates(pats(ls), [target], fresh));
    else values = (ls) => withAbsent(stringCandidates(pats(ls), [], fresh));
    vars.push({ key, values: (_a, ls) => values(ls) });
  }
  return { vars, fixed, tokens: () => [...namespaceTokens] };
}

/**
 * What the policies see of a `knative-serving-namespace` that routes to `ns`
 * (or, `ns` undefined, that leaves the activator to route by the Host: absent,
 * or an empty routing value). The caller may repeat the header; the activator
 * routes by its last value (or its first, in releases reading it with
 * Header.Get) and falls back to the Host when that value is empty, and Envoy
 * before its fix for CVE-2026-26308 matches the comma-joined values. So
 * besides the value alone: `c,ns` and `ns,c` for `c` a witness of the
 * patterns that can match a joined string (with `*`, or holding a comma;
 * another exact value never equals a string with a comma, whatever `c` is),
 * and each such witness that already ends in `,ns` or starts with `ns,`.
 * (Envoy since that fix matches value by value, any value matching; the model
 * does not read that yet: docs/authorization-policy.md, "Repeated routing
 * headers".)
 */
function routingHeaderValues(ns: string | undefined, patterns: string[], fresh: string): Value[] {
  const joinable = patterns.filter((p) => p.includes('*') || p.includes(','));
  const witnesses = stringCandidates(joinable, [], fresh);
  const r = ns ?? '';
  const out = new Set<Value>(ns === undefined ? [undefined, ''] : [ns]);
  for (const c of witnesses) {
    out.add(`${c},${r}`).add(`${r},${c}`);
    if (c.endsWith(`,${r}`) || c.startsWith(`${r},`)) out.add(c);
  }
  return [...out];
}

export interface Witness {
  assignment: Assignment;
  /** The tokens invented namespace names are made of: such a name stands for "any namespace created later". */
  tokens: string[];
}

/** A request a caller can send along the route that every hop lets through, if any. */
export function solveRoute(m: MeshState, route: Route): Witness | undefined {
  const { f, hops } = routeFormula(route);
  const space = searchSpace(m, route, hops);
  const a = solve(f, space.vars, space.fixed);
  if (!a) return undefined;
  // A routing header no policy tests is never branched on: the caller sends the target's name alone.
  for (const [name, value] of route.callerHeaders) {
    const key = keysOf(route, 0).header(name);
    if (!a.has(key)) a.set(key, value);
  }
  return { assignment: a, tokens: space.tokens() };
}
