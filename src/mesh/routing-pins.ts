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
 * A rule whose `when` pins `knative-serving-namespace` to values none of
 * which match `ns` never admits a request routed to `ns` (the header is then
 * `ns`, or absent and the condition fails). Dropping those rules keeps the
 * policy itself: an ALLOW policy with no matching rule still denies.
 */
export function rulesRoutableTo(p: ParsedPolicy, ns: string): ParsedPolicy {
  const rules = p.rules.filter((r) => !r.when.some((c) => c.key.toLowerCase() === NAMESPACE_HEADER_KEY && c.values !== undefined && !c.values.some((v) => istioStringMatch(v, ns))));
  return rules.length === p.rules.length ? p : { ...p, rules };
}

export interface PinIndex {
  /** ALLOW policies every rule of which pins exact namespaces, by namespace. */
  byPin: Map<string, ParsedPolicy[]>;
  /** ALLOW policies pinned only by patterns (`tenant-*`). */
  wildcardPinned: ParsedPolicy[];
  /** Everything else: unpinned or rule-less ALLOW policies, DENY/AUDIT/CUSTOM, dry-run. */
  general: ParsedPolicy[];
  /** One pinned ALLOW policy per distinct selector, to tell whether an ALLOW policy applies at all. */
  pinnedSelectors: ParsedPolicy[];
}

export function indexByRoutingPin(policies: ParsedPolicy[]): PinIndex {
  const index: PinIndex = { byPin: new Map(), wildcardPinned: [], general: [], pinnedSelectors: [] };
  const selectors = new Map<string, ParsedPolicy>();
  for (const p of policies) {
    const pins = p.action === 'ALLOW' && p.rules.length > 0 ? p.rules.map(pinsOf) : [undefined];
    if (pins.some((x) => x === undefined)) {
      index.general.push(p);
      continue;
    }
    const values = [...new Set(pins.flat() as string[])];
    if (values.some((v) => v.includes('*'))) index.wildcardPinned.push(p);
    else for (const v of values) index.byPin.set(v, [...(index.byPin.get(v) ?? []), p]);
    const key = JSON.stringify([p.selector ?? null, p.targetRefs ?? null]);
    if (!p.dryRun && !selectors.has(key)) selectors.set(key, p);
  }
  index.pinnedSelectors = [...selectors.values()];
  return index;
}
