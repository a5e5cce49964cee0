import type { Value } from './formula.js';
import { parseCidr, parsePrincipal } from './istio-match.js';

// Finite sets of attacker choices that are enough to find a witness request
// whenever one exists. Every pattern is exact, `prefix*`, `*suffix` or `*`,
// so a value that satisfies some patterns and avoids others can always be
// built from the patterns' own constants plus a "fresh" piece made of
// characters none of the constants contain (it cannot accidentally complete
// a pattern it should avoid).

// Every character a namespace name may hold, the unusual ones first so the
// usual token reads as invented.
const FRESH_POOL = 'qjxzvkwyfgbhmpu0123456789acdeilnorst';

/** The `n`-th string over `alphabet` of at least `min` characters, in length-then-lexicographic order. */
function nthString(alphabet: string[], min: number, n: number): string {
  let len = min;
  let count = alphabet.length ** len;
  while (n >= count) {
    n -= count;
    len++;
    count = alphabet.length ** len;
  }
  // Position i reads the alphabet rotated by i, so the first token has distinct letters (`qjx`).
  const digits: number[] = [];
  for (let i = 0; i < len; i++) {
    digits.unshift(n % alphabet.length);
    n = Math.floor(n / alphabet.length);
  }
  return digits.map((d, i) => alphabet[(d + i) % alphabet.length]!).join('');
}

/**
 * A fresh token: the `variant`-th string of 3 or more characters absent from
 * every constant (case-insensitively), so no pattern can match any part of
 * it. Callers that need a name nobody has taken ask for further variants. If
 * the constants use every character a name may hold, a token longer than
 * every constant that holds none of them and is held by none of them
 * (a fallback: a pattern could still match across its boundary).
 */
export function freshToken(constants: Iterable<string>, variant = 0): string {
  const consts = [...constants];
  const used = new Set<string>();
  for (const c of consts) for (const ch of c.toLowerCase()) used.add(ch);
  return freshTokenAvoiding(used, () => consts, variant);
}

/** freshToken, given the characters the constants use (lower-case) and, for the rare fallback, the constants. */
export function freshTokenAvoiding(used: ReadonlySet<string>, constants: () => string[], variant = 0): string {
  const free = [...FRESH_POOL].filter((ch) => !used.has(ch));
  if (free.length > 0) return nthString(free, 3, variant);
  const consts = constants().map((c) => c.toLowerCase());
  const min = Math.max(3, ...consts.map((c) => c.length + 1));
  for (let n = variant; ; n++) {
    const t = nthString([...FRESH_POOL], Math.min(min, 12), n);
    if (!consts.some((c) => c.includes(t) || (c.length > 0 && t.includes(c)))) return t;
  }
}

function parts(p: string): { kind: 'any' | 'prefix' | 'suffix' | 'exact'; s: string } {
  if (p === '*') return { kind: 'any', s: '' };
  if (p.length > 1 && p.startsWith('*')) return { kind: 'suffix', s: p.slice(1) };
  if (p.length > 1 && p.endsWith('*')) return { kind: 'prefix', s: p.slice(0, -1) };
  return { kind: 'exact', s: p };
}

/** Witness strings for Istio string patterns (plus `extra` values the domain needs). */
export function stringCandidates(patterns: string[], extra: string[], fresh: string): string[] {
  const out = new Set<string>(extra);
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  for (const p of patterns) {
    // A path template (`{*}` one segment, `{**}` the rest) is matched as a
    // URI template, not literally: its witness fills each operator with the fresh token.
    if (p.includes('{*}') || p.includes('{**}')) out.add(p.replaceAll('{**}', fresh).replaceAll('{*}', fresh));
    const x = parts(p);
    if (x.kind === 'exact') out.add(x.s);
    if (x.kind === 'prefix') {
      prefixes.push(x.s);
      out.add(x.s);
      out.add(x.s + fresh);
    }
    if (x.kind === 'suffix') {
      suffixes.push(x.s);
      // A label before the suffix first: `*.ns.svc.cluster.local` is witnessed by a real host name.
      out.add(fresh + x.s);
      out.add(x.s);
    }
  }
  for (const p of prefixes.slice(0, 8)) for (const s of suffixes.slice(0, 8)) out.add(p + fresh + s);
  out.add(fresh);
  return [...out];
}

/**
 * Hosts that route to namespace `ns`: `<svc>.<ns>.svc.cluster.local`,
 * `<svc>.<ns>.svc`, `<svc>.<ns>` (net-istio's cluster-local VirtualService
 * hosts), each also with `:80` (routing ignores the port, policies may not).
 * Service names come from the patterns' leading labels and a fresh name.
 */
export function routedHostCandidates(ns: string, patterns: string[], fresh: string): string[] {
  const names = new Set<string>([fresh]);
  for (const p of patterns) {
    const x = parts(p);
    const s = x.s.toLowerCase();
    const cut = s.indexOf(`.${ns}`);
    const label = (cut > 0 ? s.slice(0, cut) : s.split('.')[0] ?? '').replace(/[^a-z0-9-]/g, '');
    if (!label) continue;
    if (x.kind === 'exact' || x.kind === 'suffix') names.add(label);
    if (x.kind === 'prefix') names.add(label + fresh);
    if (x.kind === 'suffix') names.add(fresh + label);
    if (x.kind === 'prefix' && cut > 0) names.add(label);
  }
  const out: string[] = [];
  for (const n of names) {
    for (const h of [`${n}.${ns}.svc.cluster.local`, `${n}.${ns}.svc`, `${n}.${ns}`]) out.push(h, `${h}:80`);
  }
  return out;
}

/** Any Host a caller may send to a pod directly: routed hosts plus every pattern's witnesses. */
export function freeHostCandidates(ns: string, patterns: string[], fresh: string): string[] {
  return [...new Set([...routedHostCandidates(ns, patterns, fresh), ...stringCandidates(patterns, [], fresh)])];
}

/** Service-account names a caller may use in its own namespaces (it can create any). */
export function serviceAccountCandidates(principalPatterns: string[], saPatterns: string[], fresh: string): string[] {
  const out = new Set<string>(['default', fresh]);
  for (const p of principalPatterns) {
    const x = parts(p);
    const id = parsePrincipal(x.s);
    if (id) out.add(id.serviceAccount);
    const tail = x.s.slice(x.s.lastIndexOf('/') + 1);
    if (!tail || tail.includes('*')) continue;
    if (x.kind === 'prefix') out.add(tail + fresh);
    if (x.kind === 'suffix') {
      out.add(tail);
      out.add(fresh + tail);
    }
    if (x.kind === 'exact' && !id) out.add(tail);
  }
  for (const p of saPatterns) {
    const sa = p.slice(p.indexOf('/') + 1);
    if (sa && !sa.includes('/')) out.add(sa);
  }
  return [...out];
}

/** An address as a string (IPv6 as eight groups, which Go's netip reads like any other spelling). */
function formatIp(v6: boolean, n: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

/**
 * Witness addresses. A block is an interval of one family's addresses, so
 * every way of lying in some blocks and outside the others is met where some
 * interval starts: the first address of each block, the first address after
 * it, and the family's first address (0.0.0.0, ::) where blocks of that
 * family exist; plus an address of each family in none of the usual ranges,
 * which stands for every address of a family no block names. (Found by the
 * reachability differential test, test/oracle/reach: with the first
 * addresses and the two usual ones only, `notRemoteIpBlocks: [0.0.0.0/0,
 * 2001:db8::/32]` looked unsatisfiable, while any other IPv6 address meets it.)
 */
export function ipCandidates(blocks: string[]): string[] {
  const starts = new Set<string>();
  const afters: string[] = [];
  const families = new Set<boolean>();
  for (const b of blocks) {
    const c = parseCidr(b);
    if (!c) continue;
    const width = c.v6 ? 128n : 32n;
    const host = width - BigInt(c.bits);
    const start = (c.base >> host) << host;
    const after = start + (1n << host);
    starts.add(formatIp(c.v6, start));
    if (after < 1n << width) afters.push(formatIp(c.v6, after));
    families.add(c.v6);
  }
  return [...new Set([...starts, '198.51.100.23', '2001:db8::17', ...afters, ...[...families].map((v6) => formatIp(v6, 0n))])];
}

/** Ports: the hop's own plus every port a pattern names, and one nobody names. */
export function portCandidates(base: string[], patterns: string[], exclude: string[]): string[] {
  const out = new Set<string>([...base, ...patterns.filter((p) => /^[0-9]+$/.test(p)), '31337']);
  for (const e of exclude) out.delete(e);
  return [...out];
}

export function withAbsent(values: string[]): Value[] {
  return [undefined, ...values];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The namespace part a principal pattern constrains, as an Istio pattern over namespace names (or undefined: none). */
function namespacePatternOfPrincipal(pattern: string): string | undefined {
  const x = parts(pattern);
  if (x.kind === 'any') return undefined;
  const s = x.s;
  const at = s.indexOf('/ns/');
  if (at >= 0) {
    const rest = s.slice(at + 4);
    const slash = rest.indexOf('/');
    if (slash >= 0) return rest.slice(0, slash); // the whole namespace is spelled out
    if (x.kind === 'prefix') return `${rest}*`; // `.../ns/tenant-1*`
    return rest; // exact or `*.../ns/<ns>`
  }
  if (x.kind === 'suffix') {
    // `*-1/sa/default`: the namespace ends with the part before `/sa/`.
    const sa = s.indexOf('/sa/');
    if (sa > 0 && !s.slice(0, sa).includes('/')) return `*${s.slice(0, sa)}`;
  }
  return undefined;
}

/**
 * Namespace names a caller could call from, enough to meet or avoid every
 * namespace constraint the policies spell (namespaces, principals,
 * service accounts): each constant, each prefix and suffix extended by the
 * fresh token, prefix+fresh+suffix, and the fresh token alone (a namespace
 * that no pattern mentions, such as one created tomorrow). Only valid
 * namespace names (DNS labels) are kept: nothing else can carry a principal.
 */
export function namespaceCandidates(namespacePatterns: string[], principalPatterns: string[], serviceAccountPatterns: string[], fresh: string): string[] {
  const pats = [...namespacePatterns];
  for (const p of principalPatterns) {
    const ns = namespacePatternOfPrincipal(p);
    if (ns !== undefined) pats.push(ns);
  }
  for (const p of serviceAccountPatterns) {
    const slash = p.indexOf('/');
    if (slash > 0) pats.push(p.slice(0, slash));
  }
  return stringCandidates(pats, [], fresh).filter((n) => n.length <= 63 && DNS_LABEL.test(n));
}
