import { compileCondition, compileOperation, compileRule, compileSource, SHARED, type HopKeys } from './compile.js';
import { evaluate, type Assignment } from './formula.js';
import { parsePrincipal } from './istio-match.js';
import { policyRef, type MeshState } from './mesh-state.js';
import { NAMESPACE_HEADER } from './platform.js';
import { SOURCE_FIELDS, type OperationField, type ParsedPolicy, type ParsedRule, type SourceField } from './policy.js';
import { keysOf, solveRoute, type Witness } from './request-space.js';
import type { Hop, Route } from './routes.js';

// The last stage of the pipeline: a found request (or the hop where every
// request stops) in words, naming the policy fields responsible.

const POSITIVE_SOURCE: SourceField[] = ['namespaces', 'principals', 'serviceAccounts', 'trustDomains', 'requestPrincipals', 'ipBlocks', 'remoteIpBlocks'];
const POSITIVE_OP: OperationField[] = ['hosts', 'ports', 'paths', 'methods'];

/**
 * Which parts of `rule` (spec.rules[i]) a request satisfies, as field paths
 * with the matching value, e.g. `rules[0].from[0].source.namespaces[1] = "tenant-2"`.
 */
export function explainRuleMatch(rule: ParsedRule, k: HopKeys, a: Assignment): string {
  const base = `rules[${rule.index}]`;
  const out: string[] = [];
  if (!rule.from) out.push(`${base} has no from, so it admits any caller`);
  else {
    const src = rule.from.find((s) => evaluate(compileSource(s, k), a) === 1);
    if (src) {
      const p = `${base}.from[${src.index}].source`;
      let named = false;
      for (const f of POSITIVE_SOURCE) {
        const vals = src.fields[f];
        if (!vals) continue;
        const i = vals.findIndex((v) => evaluate(compileSource({ ...src, fields: { [f]: [v] } }, k), a) === 1);
        if (i >= 0) {
          out.push(`${p}.${f}[${i}] = ${JSON.stringify(vals[i])}`);
          named = true;
        }
      }
      if (!named) {
        const negs = SOURCE_FIELDS.filter((f) => f.startsWith('not') && src.fields[f]);
        out.push(
          negs.length > 0
            ? `${p} has only ${negs.map((f) => `${f} = ${JSON.stringify(src.fields[f])}`).join(', ')}, which every other caller (and plaintext) passes`
            : `${p} is empty, so it admits any caller`,
        );
      }
    }
  }
  const op = rule.to?.find((o) => evaluate(compileOperation(o, k), a) === 1);
  if (op) {
    for (const f of POSITIVE_OP) {
      const vals = op.fields[f];
      if (!vals) continue;
      const i = vals.findIndex((v) => evaluate(compileOperation({ index: 0, fields: { [f]: [v] } }, k), a) === 1);
      if (i >= 0) out.push(`${base}.to[${op.index}].operation.${f}[${i}] = ${JSON.stringify(vals[i])}`);
    }
  }
  for (const c of rule.when) {
    if (!c.values) continue;
    const i = c.values.findIndex((v) => evaluate(compileCondition({ ...c, notValues: undefined, values: [v] }, k), a) === 1);
    if (i >= 0) out.push(`${base}.when[${c.index}] ${c.key} = ${JSON.stringify(c.values[i])}`);
  }
  return out.length > 0 ? out.join(', ') : base;
}

/** The first rule of the hop's ALLOW policies that the request satisfies. */
export function matchingAllowRule(h: Hop, k: HopKeys, a: Assignment): { policy: ParsedPolicy; rule: number } | undefined {
  for (const p of h.allow) {
    for (const r of p.rules) if (evaluate(compileRule(r, k), a) === 1) return { policy: p, rule: r.index };
  }
  return undefined;
}

/**
 * Who the found caller is: a tenant, a namespace that exists without a
 * tenant, a named namespace nobody holds yet, or (the fresh name) any
 * namespace created later.
 */
export function describeCaller(m: MeshState, route: Route, w: Witness): string {
  const principal = w.assignment.get(keysOf(route, 0).principal);
  // No policy on the way tests the caller's identity: any caller at all gets in.
  if (!w.assignment.has(keysOf(route, 0).principal)) return 'any caller (of any tenant, or created later)';
  if (principal === undefined) return 'a caller without mesh identity (plaintext)';
  const ns = parsePrincipal(principal)?.namespace;
  if (ns === undefined) return `spiffe://${principal}`;
  if (m.ownership.ownerOf(ns).kind === 'free' && w.tokens.some((t) => ns.includes(t))) {
    return w.tokens.includes(ns) ? `any namespace created later (for example "${ns}")` : `a namespace created later whose name fits the pattern (for example "${ns}")`;
  }
  return m.ownership.describeCaller(ns);
}

/** The routing header sent several times: what Envoy before its CVE-2026-26308 fix matched, and which value routes. */
function repeatedRoutingHeader(name: string, joined: string, routedTo: string | undefined): string {
  const values = joined.split(',');
  const which = values.at(-1) === (routedTo ?? '') ? 'last' : 'first';
  const routes = routedTo === undefined ? `its ${which} value is empty, so the activator routes by the Host` : `the activator routes by the ${which} one`;
  return `header ${name} sent as ${values.length} values (${values.map((x) => JSON.stringify(x)).join(', ')}), which Envoy before its CVE-2026-26308 fix matches joined as "${joined}"; ${routes}`;
}

export function describeRequest(route: Route, w: Witness): string {
  const a = w.assignment;
  const k0 = keysOf(route, 0);
  const who = a.get(k0.principal);
  const caller = !a.has(k0.principal) ? 'any workload of the caller' : who === undefined ? 'a caller without mesh identity (plaintext)' : `spiffe://${who}`;
  const parts = [`from ${caller}`];
  if (a.has(SHARED.host)) parts.push(`Host ${a.get(SHARED.host)}`);
  if (a.has(k0.port)) parts.push(`port ${a.get(k0.port)}`);
  for (const [key, v] of a) {
    if (key.startsWith('header:') && v !== undefined) {
      const name = key.slice(7);
      parts.push(name === NAMESPACE_HEADER && route.callerHeaders.has(name) && v.includes(',') ? repeatedRoutingHeader(name, v, route.callerHeaders.get(name)) : `header ${name}: ${v}`);
    }
    if ((key === SHARED.path || key === SHARED.method) && v !== undefined) parts.push(`${key} ${v}`);
  }
  return parts.join(', ');
}

export function describeAllowed(m: MeshState, route: Route, w: Witness): string {
  const hops = route.hops.map((h, i) => {
    const match = matchingAllowRule(h, keysOf(route, i), w.assignment);
    const why = h.allow.length === 0 ? 'no ALLOW policy applies' : match ? `${policyRef(match.policy)} rules[${match.rule}]` : 'allowed';
    return `${h.label}: ${why}`;
  });
  const close = route.closeWith ? `; closed by ${route.closeWith}` : '';
  return `${route.note}; ${describeCaller(m, route, w)}: ${describeRequest(route, w)}; ${hops.join('; ')}${close}`;
}

/** The first hop where no request of the caller gets through, with the policies there. */
export function describeDenied(m: MeshState, route: Route): string {
  for (let n = 1; n <= route.hops.length; n++) {
    const prefix: Route = { ...route, hops: route.hops.slice(0, n) };
    if (solveRoute(m, prefix)) continue;
    const h = route.hops[n - 1]!;
    const who = h.caller.kind === 'forwarder' ? `${h.caller.name} (spiffe://${h.caller.principal})` : h.caller.noIdentityOnly ? 'a plaintext caller' : 'the caller';
    const allow = h.allow.length ? `ALLOW ${refList(h.allow)}` : 'no ALLOW policy';
    const deny = h.deny.length ? `; DENY ${refList(h.deny)}` : '';
    return `${route.note}: denied at ${h.label}: no request from ${who} passes (${allow}${deny})`;
  }
  return `${route.note}: denied`;
}

/** Policy names for a message: a hop with one policy per tenant names the first few. */
function refList(ps: ParsedPolicy[], max = 5): string {
  const names = ps.slice(0, max).map(policyRef).join(', ');
  return ps.length > max ? `${names} and ${ps.length - max} more` : names;
}
