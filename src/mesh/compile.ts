import { and, not, or, TRUE, type Formula, type PatternKind, type Value } from './formula.js';
import { cidrContains, hostMatch, istioStringMatch, namespaceMatch, principalPatternFor, serviceAccountMatch } from './istio-match.js';
import type { ParsedCondition, ParsedOperation, ParsedRule, ParsedSource } from './policy.js';

/**
 * Where a hop finds each request attribute. Attributes chosen once for the
 * whole request (host, path, method, headers, JWT) share a key across hops;
 * those of the connection (peer principal, port, IPs) are per hop.
 */
export interface HopKeys {
  principal: string;
  port: string;
  sourceIp: string;
  remoteIp: string;
  destinationIp: string;
  sni: string;
  /** Key of a request header (lower-case name) as this hop sees it. */
  header: (name: string) => string;
  /** Mesh trust domain: istiod rewrites `cluster.local` principals to it. */
  trustDomain: string;
}

export const SHARED = {
  host: 'host',
  method: 'method',
  path: 'path',
  requestPrincipal: 'request.auth.principal',
};

export function hopKeys(hop: number, headerOverrides: ReadonlySet<string> = new Set(), trustDomain = 'cluster.local'): HopKeys {
  return {
    trustDomain,
    principal: `principal@${hop}`,
    port: `port@${hop}`,
    sourceIp: `source.ip@${hop}`,
    remoteIp: `remote.ip@${hop}`,
    destinationIp: `destination.ip@${hop}`,
    sni: `connection.sni@${hop}`,
    header: (name) => (headerOverrides.has(name) ? `header@${hop}:${name}` : `header:${name}`),
  };
}

function leaf(key: string, kind: PatternKind, patterns: string[], match: (p: string, v: Value) => boolean): Formula {
  return { t: 'leaf', key, kind, patterns, pred: (v) => patterns.some((p) => match(p, v)) };
}

/** Principal patterns as istiod enforces them (trust domain substituted). */
function principalLeaf(k: HopKeys, patterns: string[]): Formula {
  return leaf(k.principal, 'principal', patterns.map((p) => principalPatternFor(p, k.trustDomain)), istioStringMatch);
}

function serviceAccountLeaf(k: HopKeys, patterns: string[], policyNamespace: string): Formula {
  // Candidates read `<ns>/<sa>`: qualify the short form with the policy's namespace.
  const qualified = patterns.map((p) => (p.includes('/') ? p : `${policyNamespace}/${p}`));
  return leaf(k.principal, 'serviceAccount', qualified, (p, v) => serviceAccountMatch(p, v, policyNamespace));
}

function exactMatch(p: string, v: Value): boolean {
  return v !== undefined && v === p;
}

/** One field with its positive list (any matches) and negative list (none matches). */
function field(pos: string[] | undefined, neg: string[] | undefined, mk: (patterns: string[]) => Formula): Formula {
  const parts: Formula[] = [];
  if (pos !== undefined) parts.push(mk(pos));
  if (neg !== undefined) parts.push(not(mk(neg)));
  return and(parts);
}

// Negative source fields are NOT(match): a plaintext caller has no principal,
// so `notNamespaces`/`notPrincipals` match it (Istio docs, "Source": a
// request without identity matches every `not*` identity field).
export function compileSource(s: ParsedSource, k: HopKeys): Formula {
  const f = s.fields;
  return and([
    field(f.principals, f.notPrincipals, (ps) => principalLeaf(k, ps)),
    field(f.namespaces, f.notNamespaces, (ps) => leaf(k.principal, 'namespace', ps, namespaceMatch)),
    field(f.serviceAccounts, f.notServiceAccounts, (ps) => serviceAccountLeaf(k, ps, s.policyNamespace)),
    field(f.requestPrincipals, f.notRequestPrincipals, (ps) => leaf(SHARED.requestPrincipal, 'string', ps, istioStringMatch)),
    field(f.ipBlocks, f.notIpBlocks, (ps) => leaf(k.sourceIp, 'ip', ps, cidrContains)),
    field(f.remoteIpBlocks, f.notRemoteIpBlocks, (ps) => leaf(k.remoteIp, 'ip', ps, cidrContains)),
  ]);
}

export function compileOperation(o: ParsedOperation, k: HopKeys): Formula {
  const f = o.fields;
  return and([
    field(f.hosts, f.notHosts, (ps) => leaf(SHARED.host, 'host', ps, hostMatch)),
    field(f.ports, f.notPorts, (ps) => leaf(k.port, 'port', ps, exactMatch)),
    field(f.methods, f.notMethods, (ps) => leaf(SHARED.method, 'string', ps, istioStringMatch)),
    field(f.paths, f.notPaths, (ps) => leaf(SHARED.path, 'string', ps, istioStringMatch)),
  ]);
}

/** The variable a `when` key reads (https://istio.io/latest/docs/reference/config/security/conditions/). */
export function conditionTarget(key: string, k: HopKeys): { key: string; kind: PatternKind; match: (p: string, v: Value) => boolean } {
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) return { key: k.header(header[1]!.toLowerCase()), kind: 'string', match: istioStringMatch };
  switch (key) {
    case 'source.ip':
      return { key: k.sourceIp, kind: 'ip', match: cidrContains };
    case 'remote.ip':
      return { key: k.remoteIp, kind: 'ip', match: cidrContains };
    case 'destination.ip':
      return { key: k.destinationIp, kind: 'ip', match: cidrContains };
    case 'source.namespace':
      return { key: k.principal, kind: 'namespace', match: namespaceMatch };
    case 'source.principal':
      return { key: k.principal, kind: 'principal', match: istioStringMatch };
    case 'source.serviceAccount':
      return { key: k.principal, kind: 'serviceAccount', match: serviceAccountMatch };
    case 'destination.port':
      return { key: k.port, kind: 'port', match: exactMatch };
    case 'connection.sni':
      return { key: k.sni, kind: 'string', match: istioStringMatch };
    case 'request.auth.principal':
      return { key: SHARED.requestPrincipal, kind: 'string', match: istioStringMatch };
    default:
      // request.auth.audiences/presenter/claims[...] come from a JWT the
      // caller brings; experimental.* and anything else are treated as
      // caller-chosen strings too (the search may pick any value).
      return { key: `attr:${key}`, kind: 'string', match: istioStringMatch };
  }
}

export function compileCondition(c: ParsedCondition, k: HopKeys): Formula {
  if (c.key === 'source.principal') return field(c.values, c.notValues, (ps) => principalLeaf(k, ps));
  if (c.key === 'source.serviceAccount') return field(c.values, c.notValues, (ps) => serviceAccountLeaf(k, ps, c.policyNamespace));
  const t = conditionTarget(c.key, k);
  return field(c.values, c.notValues, (ps) => leaf(t.key, t.kind, ps, t.match));
}

/** A rule matches when some `from` AND some `to` AND every `when` match; absent lists match anything. */
export function compileRule(r: ParsedRule, k: HopKeys): Formula {
  return and([
    r.from ? or(r.from.map((s) => compileSource(s, k))) : TRUE,
    r.to ? or(r.to.map((o) => compileOperation(o, k))) : TRUE,
    ...r.when.map((c) => compileCondition(c, k)),
  ]);
}
