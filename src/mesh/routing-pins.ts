import { freshToken, routedHostCandidates } from './candidates.js';
import { hostMatch, istioStringMatch } from './istio-match.js';
import { NAMESPACE_HEADER } from './platform.js';
import type { ParsedPolicy, ParsedRule } from './policy.js';

// The activator sends a request to the revision its routing headers name
// (knative/serving pkg/activator/handler/context_handler.go), so an
// activator rule that pins `knative-serving-namespace` to some namespaces
// only ever admits requests routed to them. Indexing the activator's
// policies by those pins keeps a hop with one policy per tenant as small as
// the rules that can matter for one target.

const NAMESPACE_HEADER_KEY = `request.headers[${NAMESPACE_HEADER}]`;

function pinsOf(r: ParsedRule): string[] | undefined {
  const c = r.when.find((x) => x.key.toLowerCase() === NAMESPACE_HEADER_KEY && x.values !== undefined);
  return c?.values;
}

/**
 * A pinned value can admit a request routed to `ns`: it matches `ns`, or the
 * comma-joined values of a repeated header whose last (or first) value is
 * `ns` (Envoy before its CVE-2026-26308 fix matches the joined string): a
 * pattern always can (`p*` by `p…,ns`, `*s` by `ns,…s`), an exact value
 * holding a comma when `ns` is its last or first part.
 */
function routable(v: string, ns: string): boolean {
  if (istioStringMatch(v, ns) || v.includes('*')) return true;
  return v.includes(',') && (v.endsWith(`,${ns}`) || v.startsWith(`${ns},`));
}

/** Pinned by values each of which can only ever admit requests routed to itself. */
const exactPin = (v: string) => !v.includes('*') && !v.includes(',');

/**
 * A rule whose `when` pins `knative-serving-namespace` to values none of
 * which match `ns` never admits a request routed to `ns` (the header is then
 * `ns`, or absent and the condition fails). Dropping those rules keeps the
 * policy itself: an ALLOW policy with no matching rule still denies.
 */
export function rulesRoutableTo(p: ParsedPolicy, ns: string): ParsedPolicy {
  const rules = p.rules.filter((r) => !r.when.some((c) => c.key.toLowerCase() === NAMESPACE_HEADER_KEY && c.values !== undefined && !c.values.some((v) => routable(v, ns))));
  return rules.length === p.rules.length ? p : { ...p, rules };
}

// Likewise a rule whose every operation names Hosts of some namespaces (the
// seed reference's `hosts: ["*.tenant-1.svc.cluster.local"]`, or a gateway
// pin) never matches a request whose Host routes elsewhere: on a route where
// the Host decides the target (routes.ts hostRoutedTo), only the rules whose
// Hosts can route to the target, plus those not pinned by Host, can decide.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const hostPinMemo = new Map<string, string[] | undefined>();

/**
 * The namespaces a `hosts` value can route to, or undefined when it may
 * route to any: an exact host routes to one of its own labels, and so does
 * `*.<labels>` unless a host of a namespace it does not name can end with it
 * (`*.svc.cluster.local`), which the model's routed forms of a fresh
 * namespace name test (candidates.ts routedHostCandidates). Other patterns
 * (`hello.ten*`, `*-1.svc…`) route anywhere.
 */
export function hostPatternNamespaces(pattern: string): string[] | undefined {
  if (hostPinMemo.has(pattern)) return hostPinMemo.get(pattern);
  let out: string[] | undefined;
  const p = pattern.toLowerCase();
  const literal = p.startsWith('*.') ? p.slice(2) : p;
  if (!literal.includes('*') && literal !== '') {
    const fresh = freshToken([p]);
    const reachesAny = routedHostCandidates(fresh, [p], freshToken([p], 1)).some((h) => hostMatch(p, h));
    const labels = literal.replace(/:[0-9]*$/, '').split('.').filter((l) => DNS_LABEL.test(l));
    out = reachesAny ? undefined : labels;
  }
  if (hostPinMemo.size > 100_000) hostPinMemo.clear();
  hostPinMemo.set(pattern, out);
  return out;
}

/** The namespaces a rule's Hosts pin it to, or undefined: some operation matches a Host of any namespace. */
export function hostPinsOf(r: ParsedRule): Set<string> | undefined {
  if (r.skipped !== undefined || !r.to || r.to.length === 0) return undefined;
  const out = new Set<string>();
  for (const o of r.to) {
    const hosts = o.fields.hosts;
    if (hosts === undefined) return undefined;
    for (const h of hosts) {
      const ns = hostPatternNamespaces(h);
      if (ns === undefined) return undefined;
      for (const n of ns) out.add(n);
    }
  }
  return out;
}

/** The rules of `p` whose Hosts can route to `ns` (or that no Host pins). The policy itself stays. */
export function rulesHostRoutableTo(p: ParsedPolicy, ns: string): ParsedPolicy {
  const rules = p.rules.filter((r) => hostPinsOf(r)?.has(ns) !== false);
  return rules.length === p.rules.length ? p : { ...p, rules };
}

export interface PinIndex {
  /** ALLOW policies every rule of which pins exact namespaces, by namespace. */
  byPin: Map<string, ParsedPolicy[]>;
  /** ALLOW policies pinned only by patterns (`tenant-*`). */
  wildcardPinned: ParsedPolicy[];
  /**
   * DENY policies cut down to their rules pinning exact namespaces, by
   * namespace (a DENY denies if any rule of any DENY matches, so its rules
   * decide apart): the per-tenant fences of the baseline and of
   * examples/reference-hardened, one per tenant, of which a hop needs one.
   */
  denyByPin: Map<string, ParsedPolicy[]>;
  /** DENY policies cut down to their rules pinned by patterns. */
  denyWildcardPinned: ParsedPolicy[];
  /** Everything else: unpinned or rule-less ALLOW policies, DENY/AUDIT/CUSTOM, dry-run. */
  general: ParsedPolicy[];
  /** `general`'s ALLOW policies every rule of which is pinned by Host, by namespace (for routes where the Host routes). */
  generalByHostPin: Map<string, ParsedPolicy[]>;
  /** The rest of `general`. */
  generalNotHostPinned: ParsedPolicy[];
  /** One pinned ALLOW policy per distinct selector, to tell whether an ALLOW policy applies at all. */
  pinnedSelectors: ParsedPolicy[];
}

export function indexByRoutingPin(policies: ParsedPolicy[]): PinIndex {
  const index: PinIndex = {
    byPin: new Map(),
    wildcardPinned: [],
    denyByPin: new Map(),
    denyWildcardPinned: [],
    general: [],
    generalByHostPin: new Map(),
    generalNotHostPinned: [],
    pinnedSelectors: [],
  };
  const selectors = new Map<string, ParsedPolicy>();
  for (const p of policies) {
    if (p.action === 'DENY') {
      indexDeny(p, index);
      continue;
    }
    const pins = p.action === 'ALLOW' && p.rules.length > 0 ? p.rules.map(pinsOf) : [undefined];
    if (pins.some((x) => x === undefined)) {
      index.general.push(p);
      continue;
    }
    const values = [...new Set(pins.flat() as string[])];
    if (!values.every(exactPin)) index.wildcardPinned.push(p);
    else for (const v of values) index.byPin.set(v, [...(index.byPin.get(v) ?? []), p]);
    const key = JSON.stringify([p.selector ?? null, p.targetRefs ?? null]);
    if (!p.dryRun && !selectors.has(key)) selectors.set(key, p);
  }
  for (const p of index.general) {
    const pins = p.action === 'ALLOW' && !p.dryRun && p.rules.length > 0 ? p.rules.map(hostPinsOf) : [undefined];
    if (pins.some((x) => x === undefined)) {
      index.generalNotHostPinned.push(p);
      continue;
    }
    for (const ns of new Set(pins.flatMap((x) => [...x!]))) index.generalByHostPin.set(ns, [...(index.generalByHostPin.get(ns) ?? []), p]);
    const key = JSON.stringify([p.selector ?? null, p.targetRefs ?? null]);
    if (!selectors.has(key)) selectors.set(key, p);
  }
  index.pinnedSelectors = [...selectors.values()];
  return index;
}

function indexDeny(p: ParsedPolicy, index: PinIndex): void {
  const unpinned: ParsedRule[] = [];
  const wildcard: ParsedRule[] = [];
  const byValue = new Map<string, ParsedRule[]>();
  for (const r of p.rules) {
    const pins = pinsOf(r);
    if (pins === undefined) unpinned.push(r);
    else if (!pins.every(exactPin)) wildcard.push(r);
    else for (const v of new Set(pins)) byValue.set(v, [...(byValue.get(v) ?? []), r]);
  }
  if (unpinned.length === p.rules.length) {
    index.general.push(p);
    return;
  }
  if (unpinned.length > 0) index.general.push({ ...p, rules: unpinned });
  if (wildcard.length > 0) index.denyWildcardPinned.push({ ...p, rules: wildcard });
  for (const [v, rules] of byValue) index.denyByPin.set(v, [...(index.denyByPin.get(v) ?? []), { ...p, rules }]);
}
