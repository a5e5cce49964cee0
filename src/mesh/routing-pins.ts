import { istioStringMatch } from './istio-match.js';
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
  /** One pinned ALLOW policy per distinct selector, to tell whether an ALLOW policy applies at all. */
  pinnedSelectors: ParsedPolicy[];
}

export function indexByRoutingPin(policies: ParsedPolicy[]): PinIndex {
  const index: PinIndex = { byPin: new Map(), wildcardPinned: [], denyByPin: new Map(), denyWildcardPinned: [], general: [], pinnedSelectors: [] };
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
