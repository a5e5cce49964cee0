import { GK, type ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { Tenancy } from '../engine/tenancy.js';
import { localGateway, type LocalGateway } from './platform.js';
import { GATEWAY_NAME_LABEL, parsePolicy, policyApplies, PolicyShapeError, type ParsedPolicy, type Workload } from './policy.js';

/** Everything the reachability model reads from one cluster state, parsed once. */
export interface MeshView {
  state: ClusterState;
  config: TenancyConfig;
  root: string;
  policies: ParsedPolicy[];
  gateway: LocalGateway;
  /** tenant -> its namespaces (config plus tenant-labelled Namespace objects). */
  tenantNamespaces: Map<string, string[]>;
  /** AuthorizationPolicies in the state that could not be read (left out of the model). */
  unreadable: string[];
}

export function buildView(state: ClusterState, config: TenancyConfig): MeshView {
  const tenancy = new Tenancy(config, state);
  const tenantNamespaces = new Map<string, string[]>();
  for (const t of tenancy.tenantNames()) tenantNamespaces.set(t, tenancy.namespacesOf(t));
  for (const [ns, t] of tenancy.allTenantNamespaces()) {
    const list = tenantNamespaces.get(t) ?? [];
    if (!list.includes(ns)) list.push(ns);
    tenantNamespaces.set(t, list.sort());
  }
  const policies: ParsedPolicy[] = [];
  const unreadable: string[] = [];
  for (const obj of state.list(GK.AuthorizationPolicy)) {
    try {
      policies.push(parsePolicy(obj));
    } catch (e) {
      if (!(e instanceof PolicyShapeError)) throw e;
      unreadable.push(`${obj.metadata.namespace}/${obj.metadata.name}: ${e.message}`);
    }
  }
  policies.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return { state, config, root: config.meshRootNamespace, policies, gateway: localGateway(state), tenantNamespaces, unreadable };
}

export function tenantsOf(view: MeshView): string[] {
  return [...view.tenantNamespaces.keys()].sort();
}

/**
 * Policies Istio enforces on a workload, in evaluation classes. Dry-run
 * policies (`istio.io/dry-run: "true"`) are only logged, AUDIT never decides,
 * and CUSTOM is delegated to an external authorizer that can only deny more,
 * so none of them can let a request in; they are reported, not evaluated.
 */
export function enforcedPolicies(view: MeshView, w: Workload): { allow: ParsedPolicy[]; deny: ParsedPolicy[]; ignored: ParsedPolicy[] } {
  const allow: ParsedPolicy[] = [];
  const deny: ParsedPolicy[] = [];
  const ignored: ParsedPolicy[] = [];
  for (const p of view.policies) {
    if (!policyApplies(p, w, view.root)) continue;
    if (p.dryRun || p.action === 'AUDIT' || p.action === 'CUSTOM') ignored.push(p);
    else if (p.action === 'DENY') deny.push(p);
    else allow.push(p);
  }
  return { allow, deny, ignored };
}

function mergeLabels(a: Record<string, string>, b: Record<string, string>): Record<string, string> | undefined {
  for (const [k, v] of Object.entries(b)) if (k in a && a[k] !== v) return undefined;
  return { ...a, ...b };
}

/**
 * Label sets a tenant's revision pod may carry, as far as the policies can
 * tell them apart. A tenant sets its pods' labels freely, so the model tries:
 * no labels; the labels of each AuthorizationPolicy selector (or the
 * Gateway API gateway-name label a `targetRefs: Gateway` policy attaches by)
 * in the namespace or the root namespace; each of those joined with the
 * selector of each workload PeerAuthentication of the namespace, whose mode
 * (PERMISSIVE, DISABLE) decides whether plaintext callers get in.
 * That is enough: if some labels let a request in, the labels of the ALLOW
 * policy that admits it plus those of the PeerAuthentication in force let it
 * in too, with no more DENY policies and the same mTLS mode (Istio picks the
 * oldest matching workload PeerAuthentication, and fewer labels match fewer).
 */
export function podLabelCandidates(view: MeshView, ns: string): Record<string, string>[] {
  const policySets: Record<string, string>[] = [{}];
  for (const p of view.policies) {
    if (p.namespace !== ns && p.namespace !== view.root) continue;
    if (p.targetRefs) {
      if (p.namespace !== ns) continue;
      for (const r of p.targetRefs) if (r.kind === 'Gateway') policySets.push({ [GATEWAY_NAME_LABEL]: r.name });
    } else if (p.selector) policySets.push(p.selector);
  }
  const paSets: Record<string, string>[] = [{}];
  for (const pa of view.state.list(GK.PeerAuthentication, ns)) {
    const ml: unknown = pa.spec?.selector?.matchLabels;
    if (ml && typeof ml === 'object' && Object.keys(ml).length > 0) {
      paSets.push(Object.fromEntries(Object.entries(ml as Record<string, unknown>).map(([k, v]) => [k, String(v)])));
    }
  }
  const out = new Map<string, Record<string, string>>();
  for (const a of policySets) {
    for (const b of paSets) {
      const m = mergeLabels(a, b);
      if (!m) continue;
      const key = JSON.stringify(Object.entries(m).sort());
      if (!out.has(key)) out.set(key, m);
    }
  }
  return [...out.values()];
}

export function policyRef(p: ParsedPolicy): string {
  return `${p.namespace}/${p.name}`;
}
