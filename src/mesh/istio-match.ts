import { parseGoCidr, parseGoIp, rangeWithin, type IpRange } from '../net/ip-ranges.js';
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

// Regexes built from policy patterns, kept across reviews; cleared when full,
// since tenants write the patterns and the cache must not grow with them.
const REGEX_CACHE_LIMIT = 50_000;
const regexCache = new Map<string, RegExp>();

function cachedRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
    re = new RegExp(source);
    regexCache.set(source, re);
  }
  return re;
}

/** Go's regexp.QuoteMeta: the value as a literal inside a regex. */
export function quoteMeta(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Istio's namespace matcher: the regex `.*/ns/<value>/.*` over the principal,
// every `*` in the value becoming `.*` and the rest quoted (generator.go
// srcNamespaceGenerator, regexp.QuoteMeta since istio/istio#59992; earlier
// releases pasted the value unquoted, which is why new writes with regex
// characters are refused, see policy-validation.ts).
export function namespaceMatch(pattern: string, principal: string | undefined): boolean {
  if (principal === undefined) return false;
  let re = namespaceRegexes.get(pattern);
  if (!re) {
    if (namespaceRegexes.size >= REGEX_CACHE_LIMIT) namespaceRegexes.clear();
    namespaceRegexes.set(pattern, (re = new RegExp(`^.*/ns/${pattern.split('*').map(quoteMeta).join('.*')}/.*$`)));
  }
  return re.test(principal);
}

/** Per namespace pattern, so a search step does not rebuild the regex source (bounded: patterns come from tenants' policies). */
const namespaceRegexes = new Map<string, RegExp>();

/**
 * `serviceAccounts: ["<ns>/<sa>"]` (or `"<sa>"`: the policy's own namespace):
 * istiod's regex `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?` over the peer's
 * URI SAN, both parts quoted (authz/model/generator.go serviceAccountRegex).
 */
export function serviceAccountMatch(pattern: string, principal: string | undefined, policyNamespace = ''): boolean {
  if (principal === undefined) return false;
  const slash = pattern.indexOf('/');
  const ns = slash < 0 ? policyNamespace : pattern.slice(0, slash);
  const sa = slash < 0 ? pattern : pattern.slice(slash + 1);
  return cachedRegex(`^spiffe://.+/ns/${quoteMeta(ns)}/(.+/|)sa/${quoteMeta(sa)}(/.+)?$`).test(`spiffe://${principal}`);
}

/**
 * `source.trustDomains` / `when: source.trustDomain` (authz/model/generator.go
 * srcTrustDomainGenerator, over the peer's URI SAN): `*` is any mTLS peer;
 * a value without `*` is the prefix `spiffe://<value>/`; otherwise the first
 * `*` matches within the trust domain (`[^/]*`) and the rest is literal.
 * Without trust-domain aliases, istiod expands nothing (ExpandTrustDomainAliases).
 */
export function trustDomainMatch(pattern: string, principal: string | undefined): boolean {
  if (principal === undefined) return false;
  const uri = `spiffe://${principal}`;
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return uri.startsWith(`spiffe://${pattern}/`);
  const star = pattern.indexOf('*');
  return cachedRegex(`^spiffe://${quoteMeta(pattern.slice(0, star))}[^/]*${quoteMeta(pattern.slice(star + 1))}/.*$`).test(uri);
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

/** Go's netip.ParsePrefix (`addr/bits`, decimal bits without leading zeros) or a single address, as istiod reads it. */
export function parseCidr(s: string): IpRange | undefined {
  return parseGoCidr(s);
}

/** Whether `ip` lies in the block (`1.2.3.0/24`, or a single address). Unparsable blocks match nothing. */
export function cidrContains(block: string, ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const c = parseCidr(block);
  const a = parseGoIp(ip);
  return c !== undefined && a !== undefined && rangeWithin(a, c);
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

// --- values istiod cannot translate ----------------------------------------

/** Why istiod cannot turn an ipBlocks / source.ip / remote.ip / destination.ip value into a CIDR (networking/util AddrStrToPrefix). */
export function ipValueError(v: string): string | undefined {
  if (v === '') return 'empty address';
  return parseCidr(v) ? undefined : `bad IP address or CIDR range ${JSON.stringify(v)}`;
}

/** Why istiod cannot read a port value (authz/model/util.go convertToPort: ParseUint, at most 65535). */
export function portValueError(v: string): string | undefined {
  return /^[0-9]+$/.test(v) && Number(v) <= 65535 ? undefined : `invalid port ${JSON.stringify(v)}`;
}

export type ConditionKeyKind = 'header' | 'ip' | 'port' | 'sni' | 'envoyFilter' | 'namespace' | 'trustDomain' | 'serviceAccount' | 'principal' | 'requestPrincipal' | 'claim' | 'unknown';

/** How istiod reads a `when` key, in the order of authz/model/model.go New's switch. */
export function conditionKeyKind(key: string): ConditionKeyKind {
  if (key === 'destination.ip') return 'ip';
  if (key === 'destination.port') return 'port';
  if (key === 'connection.sni') return 'sni';
  if (key.startsWith('experimental.envoy.filters.')) return 'envoyFilter';
  if (key === 'source.ip' || key === 'remote.ip') return 'ip';
  if (key === 'source.namespace') return 'namespace';
  if (key === 'source.trustDomain') return 'trustDomain';
  if (key === 'source.serviceAccount') return 'serviceAccount';
  if (key === 'source.principal') return 'principal';
  if (key === 'request.auth.principal') return 'requestPrincipal';
  if (key === 'request.auth.audiences' || key === 'request.auth.presenter') return 'claim';
  if (key.startsWith('request.headers')) return 'header';
  if (key.startsWith('request.auth.claims')) return 'claim';
  return 'unknown';
}

/** `[name]` -> name (authz/model/util.go extractNameInBrackets). */
function nameInBrackets(s: string): string | undefined {
  return s.startsWith('[') && s.endsWith(']') && s.length >= 2 ? s.slice(1, -1) : undefined;
}

/** `[a][b]` -> [a, b], else `[x]` -> [x] (authz/model/util.go extractNameInNestedBrackets). */
function namesInNestedBrackets(s: string): string[] | undefined {
  const out: string[] = [];
  for (let begin = 0; begin < s.length; ) {
    let end = -1;
    if (s[begin] === '[') {
      for (let i = begin + 1; i < s.length; i++) {
        if (s[i] === '[') break;
        if (s[i] === ']') {
          end = i;
          break;
        }
      }
    }
    if (end === -1) {
      const one = nameInBrackets(s);
      return one === undefined ? undefined : [one];
    }
    out.push(s.slice(begin + 1, end));
    begin = end + 1;
  }
  return out;
}

/** The header a `request.headers[...]` key reads, lower-case (Envoy header names are case-insensitive). */
export function headerOfKey(key: string): string | undefined {
  return nameInBrackets(key.slice('request.headers'.length))?.toLowerCase();
}

/** The JWT payload path a claims key reads: `request.auth.claims[a][b]` -> [a, b]; audiences -> [aud]; presenter -> [azp]. */
export function claimPathOfKey(key: string): string[] | undefined {
  if (key === 'request.auth.audiences') return ['aud'];
  if (key === 'request.auth.presenter') return ['azp'];
  return namesInNestedBrackets(key.slice('request.auth.claims'.length));
}

/** Why istiod cannot translate a value of this `when` key (the key itself is malformed), if so. */
export function conditionKeyError(key: string): string | undefined {
  const kind = conditionKeyKind(key);
  if (kind === 'header' && headerOfKey(key) === undefined) return `expecting format request.headers[<NAME>], found ${JSON.stringify(key)}`;
  if (kind === 'claim' && claimPathOfKey(key) === undefined) return `expecting format request.auth.claims[<NAME>], found ${JSON.stringify(key)}`;
  if (kind === 'envoyFilter' && !key.slice('experimental.'.length).replace(/\]$/, '').includes('[')) return `invalid key: ${key}`;
  return undefined;
}

// --- Envoy string, path and JWT matching ------------------------------------

/**
 * Istio's StringMatcher (authz/matcher/string.go StringMatcherWithPrefix with
 * no prefix) as Envoy runs it: `*` is the regex `.+` (any non-empty value),
 * `*x` a suffix, `x*` a prefix, anything else exact. Used for paths, SNI and
 * JWT claims; headers, methods and hosts use HeaderMatcher (`*`: present).
 */
export function envoyStringMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return value.length > 0;
  return istioStringMatch(pattern, value);
}

/** Envoy's Http::PathUtil::removeQueryAndFragment: RBAC url_path and uri_template see the path without `?query` and `#fragment`. */
export function stripQueryAndFragment(path: string): string {
  const i = path.search(/[?#]/);
  return i < 0 ? path : path.slice(0, i);
}

/** `{*}` / `{**}` in a path value make istiod emit a uri_template matcher (pkg/config/security ContainsPathTemplate). */
export function isPathTemplate(p: string): boolean {
  return p.includes('{*}') || p.includes('{**}');
}

// Envoy's uri_template (source/extensions/path/uri_template_lib/uri_template_internal.cc):
// segments of RFC 3986 pchars; `*` one segment, `**` the rest (only last).
const PCHAR = "a-zA-Z0-9\\-._~%!$&'()+,;:@";
const PATH_GLOB = `[${PCHAR}]+`;
const TEXT_GLOB = `[${PCHAR}/]*`;
const LITERAL = new RegExp(`^[${PCHAR}]+$`);

/** The RE2 pattern Envoy builds from an Istio path template (after istiod's `{*}` -> `*`, `{**}` -> `**`), or undefined where Envoy rejects it. */
export function pathTemplateRegex(template: string): string | undefined {
  const t = template.replace(/\{\*\*\}|\{\*\}/g, (m) => (m === '{**}' ? '**' : '*'));
  if (!/^\/[\x21-\x7e]*$/.test(t)) return undefined;
  const lit = (x: string) => x.replace(/[$()+.]/g, '\\$&');
  let rest = t.slice(1);
  const segs: string[] = [];
  let suffix = '';
  let seenText = false;
  while (rest !== '') {
    if (rest.startsWith('**') || rest.startsWith('*')) {
      if (seenText) return undefined;
      const text = rest.startsWith('**');
      seenText = text;
      segs.push(text ? TEXT_GLOB : PATH_GLOB);
      rest = rest.slice(text ? 2 : 1);
    } else if (rest.startsWith('{')) {
      return undefined; // named variables never come out of istiod's sanitising
    } else {
      const slash = rest.indexOf('/');
      const l = slash < 0 ? rest : rest.slice(0, slash);
      if (!LITERAL.test(l)) return undefined;
      segs.push(lit(l));
      rest = rest.slice(l.length);
    }
    if (rest !== '') {
      if (rest === '/') {
        segs.push('');
        break;
      } else if (rest[0] === '/') rest = rest.slice(1);
      else {
        const slash = rest.indexOf('/');
        const l = slash < 0 ? rest : rest.slice(0, slash);
        if (!LITERAL.test(l) || l.length !== rest.length) return undefined;
        suffix = lit(l);
        break;
      }
    }
  }
  return `/${segs.join('/')}${suffix}`;
}

/**
 * A `paths` value against the request path as Envoy's RBAC matches it: a
 * template (`{*}`, `{**}`) as uri_template, anything else as url_path with
 * istiod's StringMatcher; both see the path without query and fragment
 * (authz/model/generator.go pathGenerator; Envoy url_path / uri_template).
 * A template Envoy rejects matches nothing here (istiod's validation refuses it).
 */
export function pathMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const path = stripQueryAndFragment(value);
  if (isPathTemplate(pattern)) {
    const rx = pathTemplateRegex(pattern);
    return rx !== undefined && cachedRegex(`^(?:${rx})$`).test(path);
  }
  return envoyStringMatch(pattern, path);
}

/** One half (issuer or subject) of a requestPrincipals value, as an Istio-style pattern: `*` here means non-empty. */
export interface JwtPart {
  pattern: string;
  match: (v: string | undefined) => boolean;
}

const anyPart: JwtPart = { pattern: '*', match: (v) => v !== undefined && v.length > 0 };
const exactPart = (s: string): JwtPart => ({ pattern: s, match: (v) => v === s });
const prefixPart = (s: string): JwtPart => ({ pattern: `${s}*`, match: (v) => v !== undefined && v.startsWith(s) });
const suffixPart = (s: string): JwtPart => ({ pattern: `*${s}`, match: (v) => v !== undefined && v.endsWith(s) });

/**
 * A `requestPrincipals` / `request.auth.principal` value as istiod splits it:
 * at the LAST `/` into issuer and subject, each matched against the JWT's
 * `iss` and `sub` string claims (authz/model/generator.go
 * requestPrincipalGenerator.extendedPrincipal, `.+` for `*`).
 */
export function requestPrincipalParts(value: string): { iss: JwtPart; sub: JwtPart } {
  const idx = value.lastIndexOf('/');
  const found = idx >= 0;
  const iss = found ? value.slice(0, idx) : value;
  const sub = found ? value.slice(idx + 1) : '';
  if (value === '*') return { iss: anyPart, sub: anyPart };
  if (value.startsWith('*')) {
    if (found) return { iss: iss === '*' ? anyPart : suffixPart(iss.slice(1)), sub: exactPart(sub) };
    return { iss: anyPart, sub: suffixPart(value.slice(1)) };
  }
  if (value.endsWith('*')) {
    if (found) return { iss: exactPart(iss), sub: sub === '*' ? anyPart : prefixPart(sub.slice(0, -1)) };
    return { iss: prefixPart(value.slice(0, -1)), sub: anyPart };
  }
  return { iss: exactPart(iss), sub: exactPart(sub) };
}

/**
 * JWT claims in the model are strings; a list claim is its string elements
 * joined with NUL. istiod matches claims, audiences and presenter "one of the
 * list, or the string itself" (matcher/metadata.go MetadataListValueMatcher
 * with extended JWT), each element with StringMatcher.
 */
export const CLAIM_LIST_SEPARATOR = '\u0000';

export function claimMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return value.split(CLAIM_LIST_SEPARATOR).some((x) => envoyStringMatch(pattern, x));
}
