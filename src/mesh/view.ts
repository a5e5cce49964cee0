import { GK, type ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { Tenancy } from '../engine/tenancy.js';
import { joinLabelSets, selectingLabels } from './label-sets.js';
import { ACTIVATOR, localGateway, type LocalGateway } from './platform.js';
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
  /** Label sets the activator may carry (see platformLabelCandidates), its manifest labels first. */
  activatorLabels: Record<string, string>[];
  /** Label sets the knative-local-gateway pod may carry, its known labels first. */
  gatewayLabels: Record<string, string>[];
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
  const root = config.meshRootNamespace;
  const gateway = localGateway(state);
  return {
    state,
    config,
    root,
    policies,
    gateway,
    tenantNamespaces,
    unreadable,
    activatorLabels: platformLabelCandidates(state, root, policies, ACTIVATOR, true),
    // The gateway terminates TLS per its Gateway servers; PeerAuthentication does not decide there.
    gatewayLabels: platformLabelCandidates(state, root, policies, gateway.workload, false),
  };
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

/** matchLabels of the workload-selecting PeerAuthentications of `ns`. */
function peerAuthenticationSelectors(state: ClusterState, ns: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const pa of state.list(GK.PeerAuthentication, ns)) {
    const ml: unknown = pa.spec?.selector?.matchLabels;
    if (ml && typeof ml === 'object' && Object.keys(ml).length > 0) {
      out.push(Object.fromEntries(Object.entries(ml as Record<string, unknown>).map(([k, v]) => [k, String(v)])));
    }
  }
  return out;
}

/**
 * Label sets a platform workload (the activator, the gateway) may carry. It is
 * one real pod whose labels are those of its manifest (`w.labels`) plus
 * others the model cannot know, fixed but unknown; the sound question for
 * "can a cross-tenant request get through" is whether SOME plausible label set
 * lets it through, each set deciding ALLOW, DENY and PeerAuthentication
 * selectors together. The candidates are: the known labels alone; the known
 * labels joined with the selector of each enforced ALLOW policy that can
 * select the workload (a key it does not know, or a known key with the same
 * value); each of those joined with the selector of each workload
 * PeerAuthentication of its namespace (`sidecar` workloads only).
 * That is enough: if labels L let a request in through ALLOW policy P (or
 * with no ALLOW policy applying), the known labels plus P's selector plus the
 * selector of the PeerAuthentication in force under L are a subset of L, so
 * they select P, no DENY policy L does not select, and the same
 * PeerAuthentication (Istio takes the oldest matching one). A DENY selector
 * is never assumed to match: that would hide an opening.
 */
export function platformLabelCandidates(state: ClusterState, root: string, policies: ParsedPolicy[], w: Workload, sidecar: boolean): Record<string, string>[] {
  const policySets: Record<string, string>[] = [w.labels];
  for (const p of policies) {
    if (p.action === 'ALLOW' && !p.dryRun) policySets.push(...selectingLabels(p, w, root));
  }
  const paSets: Record<string, string>[] = [{}, ...(sidecar ? peerAuthenticationSelectors(state, w.namespace) : [])];
  return joinLabelSets(policySets, paSets);
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
  const paSets: Record<string, string>[] = [{}, ...peerAuthenticationSelectors(view.state, ns)];
  return joinLabelSets(policySets, paSets);
}

export function policyRef(p: ParsedPolicy): string {
  return `${p.namespace}/${p.name}`;
}
