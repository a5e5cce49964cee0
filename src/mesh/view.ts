import { GK, type ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { Tenancy } from '../engine/tenancy.js';
import { localGateway, type LocalGateway } from './platform.js';
import { parsePolicy, policyApplies, PolicyShapeError, type ParsedPolicy, type Workload } from './policy.js';

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

/**
 * Label sets a tenant's revision pod may carry, as far as policies can tell
 * them apart: none, or exactly the labels of some policy's selector (a tenant
 * sets its pods' labels freely, and a pod selected by a policy with the fewest
 * extra labels is selected by the fewest extra DENY policies).
 */
export function podLabelCandidates(view: MeshView, ns: string): Record<string, string>[] {
  const out = new Map<string, Record<string, string>>([['{}', {}]]);
  for (const p of view.policies) {
    if ((p.namespace !== ns && p.namespace !== view.root) || !p.selector || p.targetRefs) continue;
    const key = JSON.stringify(Object.entries(p.selector).sort());
    if (!out.has(key)) out.set(key, p.selector);
  }
  return [...out.values()];
}

export function policyRef(p: ParsedPolicy): string {
  return `${p.namespace}/${p.name}`;
}
