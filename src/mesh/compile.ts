import { and, FALSE, not, or, TRUE, type Formula, type PatternKind, type Value } from './formula.js';
import {
  cidrContains,
  claimMatch,
  claimPathOfKey,
  conditionKeyKind,
  envoyStringMatch,
  headerOfKey,
  hostMatch,
  istioStringMatch,
  namespaceMatch,
  pathMatch,
  principalPatternFor,
  requestPrincipalParts,
  serviceAccountMatch,
  trustDomainMatch,
} from './istio-match.js';
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
  /** Names these keys: two HopKeys with the same id name the same variables (compiled rules are shared by id). */
  id: string;
}

export const SHARED = {
  host: 'host',
  method: 'method',
  path: 'path',
  /** The JWT's `iss` and `sub` claims when they are strings (what requestPrincipals match). */
  jwtIssuer: 'jwt:iss',
  jwtSubject: 'jwt:sub',
};

/** The key of a JWT claim at `path` (`request.auth.claims[a][b]` -> ["a","b"]): its string, or its string elements joined with NUL. */
export function claimKey(path: string[]): string {
  return `claim:${JSON.stringify(path)}`;
}

export function hopKeys(hop: number, headerOverrides: ReadonlySet<string> = new Set(), trustDomain = 'cluster.local'): HopKeys {
  return {
    trustDomain,
    id: `${hop}|${[...headerOverrides].sort().join(',')}|${trustDomain}`,
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

function trustDomainLeaf(k: HopKeys, patterns: string[]): Formula {
  return leaf(k.principal, 'trustDomain', patterns, trustDomainMatch);
}

/** requestPrincipals: each value is an issuer AND a subject pattern (split at the last `/`); values are ORed. */
function requestPrincipalFormula(patterns: string[]): Formula {
  return or(
    patterns.map((v) => {
      const { iss, sub } = requestPrincipalParts(v);
      return and([
        { t: 'leaf', key: SHARED.jwtIssuer, kind: 'string', patterns: [iss.pattern], pred: iss.match },
        { t: 'leaf', key: SHARED.jwtSubject, kind: 'string', patterns: [sub.pattern], pred: sub.match },
      ]);
    }),
  );
}

function exactMatch(p: string, v: Value): boolean {
  return v !== undefined && v === p;
}

/** connection.sni: StringMatcher over the requested server name, which is empty (not absent) without SNI. */
function sniMatch(p: string, v: Value): boolean {
  return envoyStringMatch(p, v ?? '');
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
    field(f.trustDomains, f.notTrustDomains, (ps) => trustDomainLeaf(k, ps)),
    field(f.requestPrincipals, f.notRequestPrincipals, requestPrincipalFormula),
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
    field(f.paths, f.notPaths, (ps) => leaf(SHARED.path, 'string', ps, pathMatch)),
  ]);
}

/**
 * The formula of one `when` condition (https://istio.io/latest/docs/reference/config/security/conditions/),
 * read as authz/model/model.go New does. Keys whose values istiod cannot
 * translate were dealt with by the parser (the rule is skipped, or the values dropped).
 */
export function compileCondition(c: ParsedCondition, k: HopKeys): Formula {
  const on = (mk: (patterns: string[]) => Formula) => field(c.values, c.notValues, mk);
  switch (conditionKeyKind(c.key)) {
    case 'header': {
      const name = headerOfKey(c.key);
      return name === undefined ? TRUE : on((ps) => leaf(k.header(name), 'string', ps, istioStringMatch));
    }
    case 'ip': {
      const key = c.key === 'source.ip' ? k.sourceIp : c.key === 'remote.ip' ? k.remoteIp : k.destinationIp;
      return on((ps) => leaf(key, 'ip', ps, cidrContains));
    }
    case 'port':
      return on((ps) => leaf(k.port, 'port', ps, exactMatch));
    case 'sni':
      return on((ps) => leaf(k.sni, 'string', ps, sniMatch));
    case 'namespace':
      return on((ps) => leaf(k.principal, 'namespace', ps, namespaceMatch));
    case 'trustDomain':
      return on((ps) => trustDomainLeaf(k, ps));
    case 'serviceAccount':
      return on((ps) => serviceAccountLeaf(k, ps, c.policyNamespace));
    case 'principal':
      return on((ps) => principalLeaf(k, ps));
    case 'requestPrincipal':
      return on(requestPrincipalFormula);
    case 'claim': {
      const path = claimPathOfKey(c.key);
      return path === undefined ? TRUE : on((ps) => leaf(claimKey(path), 'string', ps, claimMatch));
    }
    case 'envoyFilter':
      // Envoy dynamic metadata of another filter: the model lets the caller choose it.
      return on((ps) => leaf(`attr:${c.key}`, 'string', ps, istioStringMatch));
    case 'unknown':
      // istiod drops the whole rule (the parser marked it skipped).
      return FALSE;
  }
}

/**
 * A rule matches when some `from` AND some `to` AND every `when` match;
 * absent lists match anything. A rule istiod leaves out of the Envoy config
 * (ParsedRule.skipped) matches nothing.
 */
export function compileRule(r: ParsedRule, k: HopKeys): Formula {
  // A parsed rule lives as long as its policy object is unchanged (policy-cache.ts): its formula is compiled once per set of keys.
  let byKeys = compiled.get(r);
  if (!byKeys) compiled.set(r, (byKeys = new Map()));
  let f = byKeys.get(k.id);
  if (!f) byKeys.set(k.id, (f = compileRuleOnce(r, k)));
  return f;
}

const compiled = new WeakMap<ParsedRule, Map<string, Formula>>();

function compileRuleOnce(r: ParsedRule, k: HopKeys): Formula {
  if (r.skipped !== undefined) return FALSE;
  return and([
    r.from ? or(r.from.map((s) => compileSource(s, k))) : TRUE,
    r.to ? or(r.to.map((o) => compileOperation(o, k))) : TRUE,
    ...r.when.map((c) => compileCondition(c, k)),
  ]);
}
