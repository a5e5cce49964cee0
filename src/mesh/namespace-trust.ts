import { GK, type ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { freshToken } from './candidates.js';
import { istioStringMatch, namespaceMatch, principalOf, principalPatternFor } from './istio-match.js';
import { policyMayApply } from './label-sets.js';
import { Ownership } from '../tenancy/ownership.js';
import { ACTIVATOR, NAMESPACE_HEADER } from './platform.js';
import { PolicyShapeError, type ParsedPolicy, type ParsedRule } from './policy.js';
import { parsedPolicy } from './policy-cache.js';
import { isManaged } from '../tenancy/baseline-objects.js';
import type { KubeObject } from '../kube/objects.js';

// Which enforced ALLOW rules trust a namespace NAME, whoever holds it: the
// trust an AuthorizationPolicy gives by namespace, principal or service
// account (exactly, by pattern, or by a deny-list the name is not on) goes to
// whoever creates or relabels a namespace of that name. Creating, relabelling
// and deleting namespaces is judged against this (TG-NS-TRUSTED-NAME).

/** Every tenant: what a mesh-root or unpinned activator rule protects. */
export const EVERY_TENANT = '*';

export interface NameTrust {
  /** The policy: a message names it (or, to another tenant, only its tenant) from these. */
  policy: { namespace: string; name: string };
  /** `rules[0].from[1].source.namespaces[2] = "x"`, or the when condition. */
  field: string;
  /** The tenant whose workloads the rule admits callers into, or EVERY_TENANT. */
  protects: string;
  /** A baseline object tenant-guard keeps (its reconciler drops a deleted namespace's name itself). */
  managed: boolean;
  /**
   * For an activator rule that routes to the name (its knative-serving-namespace
   * pin matches it): the namespaces whose callers it sends there, or '*' for
   * any caller. Whoever holds the name receives those callers.
   */
  routesFrom?: string[] | '*';
}

const SOURCE_IDENTITY = [
  ['namespaces', 'notNamespaces'],
  ['principals', 'notPrincipals'],
  ['serviceAccounts', 'notServiceAccounts'],
] as const;

const CONDITION_KIND: Record<string, 'namespaces' | 'principals' | 'serviceAccounts'> = {
  'source.namespace': 'namespaces',
  'source.principal': 'principals',
  'source.serviceAccount': 'serviceAccounts',
};

/** Whether an identity value admits some workload of namespace `name`. */
function admitsNamespace(kind: 'namespaces' | 'principals' | 'serviceAccounts', value: string, name: string, policyNamespace: string, td: string): boolean {
  if (kind === 'namespaces') return namespaceMatch(value, principalOf(td, name, 'default'));
  if (kind === 'serviceAccounts') {
    const slash = value.indexOf('/');
    return (slash < 0 ? policyNamespace : value.slice(0, slash)) === name;
  }
  // A principal pattern admits the namespace if it admits some service account there.
  const pattern = principalPatternFor(value, td);
  const tail = pattern.slice(pattern.lastIndexOf('/') + 1).replace(/\*/g, '');
  const fresh = freshToken([pattern]);
  return ['default', tail, fresh, tail + fresh, fresh + tail].some((sa) => sa !== '' && istioStringMatch(pattern, principalOf(td, name, sa)));
}

function ruleTrusts(r: ParsedRule, name: string, p: ParsedPolicy, td: string): string[] {
  const out: string[] = [];
  const base = `rules[${r.index}]`;
  for (const s of r.from ?? []) {
    const at = `${base}.from[${s.index}].source`;
    let positive = false;
    let excluded = false;
    const negatives: string[] = [];
    for (const [pos, neg] of SOURCE_IDENTITY) {
      const vals = s.fields[pos];
      if (vals) {
        positive = true;
        vals.forEach((v, i) => {
          if (admitsNamespace(pos, v, name, p.namespace, td)) out.push(`${at}.${pos}[${i}] = ${JSON.stringify(v)}`);
        });
      }
      const nots = s.fields[neg];
      if (nots) {
        negatives.push(neg);
        if (nots.some((v) => admitsNamespace(pos, v, name, p.namespace, td))) excluded = true;
      }
    }
    // A deny-list trusts every name it does not list.
    if (!positive && negatives.length > 0 && !excluded) out.push(`${at}.${negatives.join('/')} does not list it`);
  }
  for (const c of r.when) {
    const kind = CONDITION_KIND[c.key];
    if (!kind) continue;
    c.values?.forEach((v, i) => {
      if (admitsNamespace(kind, v, name, p.namespace, td)) out.push(`${base}.when[${c.index}] ${c.key} = ${JSON.stringify(v)}`);
    });
    if (!c.values && c.notValues && !c.notValues.some((v) => admitsNamespace(kind, v, name, p.namespace, td))) out.push(`${base}.when[${c.index}] ${c.key} notValues does not list it`);
  }
  return out;
}

/** The tenants a rule of `p` admits callers into. */
function protectedBy(own: Ownership, root: string, p: ParsedPolicy, r: ParsedRule): string[] {
  const owner = own.ownerOf(p.namespace);
  if (owner.kind === 'tenant') return [owner.tenant];
  if (p.namespace === root) return [EVERY_TENANT];
  if (policyMayApply(p, ACTIVATOR, root)) {
    const pins = r.when.filter((c) => c.key.toLowerCase() === `request.headers[${NAMESPACE_HEADER}]` && c.values).flatMap((c) => c.values!);
    if (pins.length === 0 || pins.some((v) => v.includes('*'))) return [EVERY_TENANT];
    return [...new Set(pins.map((ns) => own.tenancy.tenantOf(ns)).filter((t): t is string => t !== undefined))];
  }
  return []; // a policy of a non-tenant, non-platform workload protects no tenant
}

interface TrustEntry {
  policy: ParsedPolicy;
  rule: ParsedRule;
  managed: boolean;
}

/** A namespace's enforced ALLOW rules by the exact namespace names they trust, plus those trusting by pattern or deny-list. */
interface TrustIndex {
  exact: Map<string, TrustEntry[]>;
  general: TrustEntry[];
}

function exactName(kind: 'namespaces' | 'principals' | 'serviceAccounts', v: string, policyNamespace: string): string | undefined {
  if (v.includes('*')) return undefined;
  if (kind === 'namespaces') return v;
  if (kind === 'serviceAccounts') return v.includes('/') ? v.slice(0, v.indexOf('/')) : policyNamespace;
  return /^[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(v)?.[1];
}

function indexTrust(objects: KubeObject[]): TrustIndex {
  const index: TrustIndex = { exact: new Map(), general: [] };
  for (const obj of objects) {
    const p = parsedPolicy(obj);
    if (p instanceof PolicyShapeError) continue;
    const managed = isManaged(obj);
    if (p.action !== 'ALLOW' || p.dryRun) continue;
    for (const r of p.rules) {
      const names = new Set<string>();
      let general = false;
      for (const s of r.from ?? []) {
        for (const [pos, neg] of SOURCE_IDENTITY) {
          for (const v of s.fields[pos] ?? []) {
            const n = exactName(pos, v, p.namespace);
            if (n === undefined) general = true;
            else names.add(n);
          }
          if (s.fields[neg]) general = true;
        }
      }
      if (r.when.some((c) => CONDITION_KIND[c.key])) general = true;
      for (const n of names) index.exact.set(n, [...(index.exact.get(n) ?? []), { policy: p, rule: r, managed }]);
      if (general) index.general.push({ policy: p, rule: r, managed });
    }
  }
  return index;
}

/** The namespaces whose callers a rule admits, by exact name, or '*' when it admits others too (patterns, deny-lists, no source). */
function admittedNamespaces(r: ParsedRule, policyNamespace: string): string[] | '*' {
  if (!r.from) return '*';
  const out: string[] = [];
  for (const s of r.from) {
    let named = false;
    for (const [pos, neg] of SOURCE_IDENTITY) {
      if (s.fields[neg]) return '*';
      for (const v of s.fields[pos] ?? []) {
        const n = exactName(pos, v, policyNamespace);
        if (n === undefined) return '*';
        out.push(n);
        named = true;
      }
    }
    if (!named) return '*';
  }
  return out;
}

/**
 * Activator rules that route to namespace `name`: a rule pinning
 * `knative-serving-namespace` to a value matching it sends its sources'
 * requests there, and the activator calls the revision with its own identity.
 */
/**
 * The enforced ALLOW policies of `ns` that may apply to the activator. They do
 * not depend on the name asked about, so they are derived once per change of
 * the namespace's policies (selector matching is the costly part of a
 * Namespace review).
 */
function activatorPolicies(state: ClusterState, ns: string, root: string): { obj: KubeObject; p: ParsedPolicy }[] {
  return state.derived(`mesh:activator-policies:${root}`, GK.AuthorizationPolicy, ns, () => {
    const out: { obj: KubeObject; p: ParsedPolicy }[] = [];
    for (const obj of state.list(GK.AuthorizationPolicy, ns)) {
      const p = parsedPolicy(obj);
      if (p instanceof PolicyShapeError || p.action !== 'ALLOW' || p.dryRun || !policyMayApply(p, ACTIVATOR, root)) continue;
      out.push({ obj, p });
    }
    return out;
  });
}

function routesToName(state: ClusterState, config: TenancyConfig, name: string): NameTrust[] {
  const out: NameTrust[] = [];
  const root = config.meshRootNamespace;
  for (const ns of new Set([ACTIVATOR.namespace, root])) {
    for (const { obj, p } of activatorPolicies(state, ns, root)) {
      for (const r of p.rules) {
        const pin = r.when.find((c) => c.key.toLowerCase() === `request.headers[${NAMESPACE_HEADER}]` && c.values?.some((v) => istioStringMatch(v, name)));
        if (!pin) continue;
        const i = pin.values!.findIndex((v) => istioStringMatch(v, name));
        out.push({
          policy: { namespace: p.namespace, name: p.name },
          field: `rules[${r.index}].when[${pin.index}] ${pin.key} = ${JSON.stringify(pin.values![i])}`,
          protects: EVERY_TENANT,
          managed: isManaged(obj),
          routesFrom: admittedNamespaces(r, p.namespace),
        });
      }
    }
  }
  return out;
}

function trustIndexOf(state: ClusterState, ns: string): TrustIndex {
  return state.derived('mesh:trust-index', GK.AuthorizationPolicy, ns, () => indexTrust(state.list(GK.AuthorizationPolicy, ns)));
}

/**
 * Which namespaces hold a rule naming a given namespace exactly, and which
 * hold rules trusting by pattern or deny-list: rebuilt after a policy change
 * from the per-namespace indexes (only the changed namespace's is
 * recomputed), so a Namespace review probes one map instead of every
 * namespace of the cluster.
 */
function indexTrustAcross(state: ClusterState): { byName: Map<string, string[]>; general: string[] } {
  const byName = new Map<string, string[]>();
  const general: string[] = [];
  for (const ns of state.namespacesOf(GK.AuthorizationPolicy)) {
    const index = trustIndexOf(state, ns);
    for (const name of index.exact.keys()) {
      const list = byName.get(name);
      if (list) list.push(ns);
      else byName.set(name, [ns]);
    }
    if (index.general.length > 0) general.push(ns);
  }
  return { byName, general };
}

/**
 * Every enforced ALLOW rule that trusts namespace `name`, with the tenant it
 * protects, and every activator rule that routes callers to it. Each namespace's rules are indexed once per change of its
 * policies (ClusterState.derived); a lookup is one map probe per namespace
 * plus the rules that trust by pattern.
 */
export function trustsOfName(state: ClusterState, config: TenancyConfig, name: string): NameTrust[] {
  const own = new Ownership(state, config);
  const out: NameTrust[] = [];
  const across = state.derivedAcross('mesh:trust-names', GK.AuthorizationPolicy, () => indexTrustAcross(state));
  const candidates = new Set([...(across.byName.get(name) ?? []), ...across.general]);
  for (const ns of candidates) {
    if (ns === name) continue; // a namespace's own policies come and go with it
    const index = trustIndexOf(state, ns);
    const exact = index.exact.get(name);
    const entries = [...(exact ?? []), ...index.general];
    const seen = new Set<ParsedRule>();
    for (const { policy: p, rule: r, managed } of entries) {
      if (seen.has(r)) continue;
      seen.add(r);
      const fields = ruleTrusts(r, name, p, config.trustDomain);
      if (fields.length === 0) continue;
      for (const protects of protectedBy(own, config.meshRootNamespace, p, r)) out.push({ policy: { namespace: p.namespace, name: p.name }, field: fields[0]!, protects, managed });
    }
  }
  return [...out, ...routesToName(state, config, name)];
}
