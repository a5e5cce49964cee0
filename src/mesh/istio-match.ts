// Istio's string, host, namespace, principal and IP matching, as the
// AuthorizationPolicy API defines it and istiod compiles it to Envoy RBAC
// (istio/istio pkg/security/authz/model/generator.go, pkg/security/authz/matcher):
// - a value is an exact match, `prefix*`, `*suffix`, or `*` (the attribute is present);
// - principals are matched against the peer's SPIFFE id without `spiffe://`;
// - `namespaces` (and the `source.namespace` condition) become the regex
//   `.*/ns/<value>/.*` over the principal, with every `*` in the value turned
//   into `.*`: `tenant-*` names every namespace starting with `tenant-`;
// - hosts match case-insensitively; an exact host also matches `host:port`
//   (https://istio.io/latest/docs/reference/config/security/authorization-policy/#Operation).

/** Istio's plain string match: exact, `prefix*`, `*suffix`, `*` (present). */
export function istioStringMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.length > 1 && pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.length > 1 && pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/** Host match: case-insensitive; an exact host also matches with any `:port`. */
export function hostMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  if (p === '*') return true;
  if (p.length > 1 && p.startsWith('*')) return v.endsWith(p.slice(1));
  if (p.length > 1 && p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  if (v === p) return true;
  return v.startsWith(p + ':') && /^[0-9]+$/.test(v.slice(p.length + 1));
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

/** `serviceAccounts: ["<ns>/<sa>"]`: the peer's namespace and service account, any trust domain. */
export function serviceAccountMatch(pattern: string, principal: string | undefined): boolean {
  if (principal === undefined) return false;
  const slash = pattern.indexOf('/');
  if (slash < 0) return false;
  const ns = pattern.slice(0, slash);
  const sa = pattern.slice(slash + 1);
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
