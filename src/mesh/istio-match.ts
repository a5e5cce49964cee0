// Istio's string, host, namespace, principal and IP matching, as the
// AuthorizationPolicy API defines it and istiod compiles it to Envoy RBAC
// (istio/istio pkg/security/authz/model/generator.go, pkg/security/authz/matcher):
// - a value is an exact match, `prefix*`, `*suffix`, or `*` (the attribute is present);
// - principals are matched against the peer's SPIFFE id without `spiffe://`;
// - `namespaces` (and the `source.namespace` condition) become the regex
//   `.*/ns/<value>/.*` over the principal, with every `*` in the value turned
//   into `.*`: `tenant-*` names every namespace starting with `tenant-`;
// - hosts match case-insensitively (matcher.HostMatcher sets IgnoreCase,
//   CVE-2021-39155) and literally: `hello.ns` does not match `hello.ns:80`
//   (no port is stripped; Istio's own upgrade note tells users to add `host:*`);
// - principals get the mesh trust domain substituted (see principalPatternFor).

/** Istio's plain string match: exact, `prefix*`, `*suffix`, `*` (present). */
export function istioStringMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.length > 1 && pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.length > 1 && pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/**
 * Host match against `:authority`: Istio's string match, case-insensitive.
 * The port is part of the value: a DENY of `hello.ns` does not stop
 * `Host: hello.ns:80`, which routes all the same.
 */
export function hostMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return istioStringMatch(pattern.toLowerCase(), value.toLowerCase());
}

const regexCache = new Map<string, RegExp>();

// Istio's namespace matcher: the regex `.*/ns/<value>/.*` over the principal,
// every `*` in the value becoming `.*` (generator.go srcNamespaceGenerator).
// Other characters are kept literal here (namespace names are DNS labels, so
// only `*` matters).
export function namespaceMatch(pattern: string, principal: string | undefined): boolean {
  if (principal === undefined) return false;
  let re = regexCache.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^.*/ns/${body}/.*$`);
    regexCache.set(pattern, re);
  }
  return re.test(principal);
}

/**
 * `serviceAccounts: ["<ns>/<sa>"]` (or `"<sa>"`: the policy's own namespace,
 * generator.go serviceAccountRegex): the peer's namespace and service account,
 * any trust domain. Regex characters were refused when the policy was parsed.
 */
export function serviceAccountMatch(pattern: string, principal: string | undefined, policyNamespace = ''): boolean {
  if (principal === undefined) return false;
  const slash = pattern.indexOf('/');
  const ns = slash < 0 ? policyNamespace : pattern.slice(0, slash);
  const sa = slash < 0 ? pattern : pattern.slice(slash + 1);
  const id = parsePrincipal(principal);
  return id !== undefined && id.namespace === ns && id.serviceAccount === sa;
}

export interface PeerIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** `cluster.local/ns/<ns>/sa/<sa>` (with or without `spiffe://`). */
export function parsePrincipal(p: string): PeerIdentity | undefined {
  const m = /^(?:spiffe:\/\/)?([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(p);
  return m ? { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! } : undefined;
}

// The principal pattern istiod actually enforces for a policy value, given the
// mesh trust domain (pilot/pkg/security/trustdomain/bundle.go
// ReplaceTrustDomainAliases). For a value of exactly five `/`-parts whose
// trust-domain part is not `*`: if that part is `cluster.local` or matches the
// trust domain as an Istio pattern in either direction (`c*` matches
// `cluster.local`), it is replaced by the trust domain, unless it is a `*suffix`
// the trust domain ends with (then kept). So `c*/ns/tenant-2/sa/default`, a
// literal string as an Envoy matcher, becomes `cluster.local/ns/tenant-2/sa/default`.
// Trust-domain aliases are not modelled (the config has none).
export function principalPatternFor(pattern: string, trustDomain: string): string {
  const parts = pattern.split('/');
  if (parts.length !== 5 || parts[0] === '*') return pattern;
  const td = parts[0]!;
  const pmatch = (a: string, p: string) => p.endsWith('*') && a.startsWith(p.slice(0, -1));
  const smatch = (a: string, p: string) => p.startsWith('*') && a.endsWith(p.slice(1));
  const related = td === trustDomain || pmatch(td, trustDomain) || pmatch(trustDomain, td) || smatch(td, trustDomain) || smatch(trustDomain, td);
  if (!related && td !== 'cluster.local') return pattern;
  if (smatch(trustDomain, td)) return pattern;
  return [trustDomain, ...parts.slice(1)].join('/');
}

export function principalOf(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

// --- IP blocks -------------------------------------------------------------

interface Cidr {
  v6: boolean;
  base: bigint;
  bits: number;
}

function parseIp(s: string): { v6: boolean; n: bigint } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const parts = s.split('.').map(Number);
    if (parts.some((x) => x > 255)) return undefined;
    return { v6: false, n: parts.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n) };
  }
  if (s.includes(':')) {
    const [head, tail, extra] = s.split('::');
    if (extra !== undefined) return undefined;
    const h = head ? head.split(':') : [];
    const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
    const missing = 8 - h.length - t.length;
    if (tail === undefined ? h.length !== 8 : missing < 1) return undefined;
    const groups = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return { v6: true, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return undefined;
}

export function parseCidr(s: string): Cidr | undefined {
  const [addr, len] = s.split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) return undefined;
  const max = ip.v6 ? 128 : 32;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(max - bits);
  return { v6: ip.v6, base: ip.n & mask, bits };
}

/** Whether `ip` lies in the block (`1.2.3.0/24`, or a single address). Unparsable blocks match nothing. */
export function cidrContains(block: string, ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const c = parseCidr(block);
  const a = parseIp(ip);
  if (!c || !a || c.v6 !== a.v6) return false;
  const max = c.v6 ? 128 : 32;
  const mask = c.bits === 0 ? 0n : ((1n << BigInt(c.bits)) - 1n) << BigInt(max - c.bits);
  return (a.n & mask) === c.base;
}

/** The first address of a block, as a string: a witness inside it. */
export function cidrWitness(block: string): string | undefined {
  const c = parseCidr(block);
  if (!c) return undefined;
  if (!c.v6) return [24n, 16n, 8n, 0n].map((s) => String((c.base >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((c.base >> s) & 0xffffn).toString(16));
  return groups.join(':');
}
