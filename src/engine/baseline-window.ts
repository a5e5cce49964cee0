import { GK, groupKind, type GroupKind } from '../cluster/state.js';
import {
  ACTIVATOR_NAMESPACE_HEADER,
  activatorPinName,
  baselineForNamespace,
  gatewayAdmitsTenants,
  gatewayFenceName,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  tenantHostPatterns,
} from '../tenancy/baseline-objects.js';
import { isDryRunValue, DRY_RUN_ANNOTATION } from '../mesh/policy.js';
import type { RuleContext, RuleDoc } from './context.js';
import type { DecisionBuilder } from './decision.js';
import type { KubeObject } from './types.js';

// "No open window": Istio allows every caller into a workload that no ALLOW
// policy selects (https://istio.io/latest/docs/concepts/security/#implicit-enablement),
// so a fresh tenant namespace is open to every tenant until its baseline
// exists. Tenants may not put workloads there before that.

export const RULE_OPEN_WINDOW = 'TG-BASELINE-OPEN-WINDOW';

/** Kinds that run (or template) pods: the workloads a caller could reach. */
const WORKLOAD_KINDS: ReadonlySet<GroupKind> = new Set([
  GK.Pod,
  GK.KnativeService,
  GK.KnativeConfiguration,
  // Knative's controller makes a Revision's Deployment: a Revision written by a tenant makes pods too.
  GK.KnativeRevision,
  groupKind('', 'ReplicationController'),
  groupKind('apps', 'Deployment'),
  groupKind('apps', 'StatefulSet'),
  groupKind('apps', 'DaemonSet'),
  groupKind('apps', 'ReplicaSet'),
  groupKind('batch', 'Job'),
  groupKind('batch', 'CronJob'),
]);

export const baselineWindowRules: RuleDoc[] = [
  {
    id: RULE_OPEN_WINDOW,
    kinds: ['Pod', 'serving.knative.dev/Service', 'serving.knative.dev/Configuration', 'serving.knative.dev/Revision', 'apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job', 'batch/CronJob', 'ReplicationController'],
    stops:
      'With `baseline.enabled`: a tenant (or unknown user) creating or updating a workload in a tenant namespace that has no enforced namespace-wide ALLOW AuthorizationPolicy yet (neither its baseline nor another one, nor one in the mesh root namespace), ' +
      "or (with the activator pin on) that the tenant's pin policy on the activator does not fence yet, or (with the gateway fence on) that the tenant's fence on knative-local-gateway does not fence yet.",
    why:
      'Istio admits every caller into a workload that no ALLOW policy selects, so until the baseline of a new namespace exists its workloads are reachable from every tenant. ' +
      'The same holds for the activator path until the pin denies other tenants\' requests naming the namespace in `knative-serving-namespace` (a repeated header gets past value-pinned ALLOWs under Envoy\'s value-by-value matching), ' +
      'and for knative-local-gateway until the gateway fence denies other tenants the namespace\'s Hosts (every caller reaches the gateway with its own identity and any Host, and a tenant whose namespace is `svc` or a label of the cluster domain is admitted by its own ALLOW for them). ' +
      'tenant-guard creates the baseline within moments of the namespace; refusing workloads until then means the namespace is never reachable from another tenant, not even for a second. ' +
      'Platform admins and platform controllers are not held to it.',
    cite: 'https://istio.io/latest/docs/reference/config/security/authorization-policy/ ("If there are no ALLOW policies for the workload, allow the request")',
  },
];

/** An enforced ALLOW that selects every workload of its namespace: no selector (or an empty one), no targetRefs. */
function closesNamespace(p: KubeObject): boolean {
  const spec = p.spec;
  if (!spec || typeof spec !== 'object') return true; // `spec: {}` or none: an ALLOW that denies everything
  if ((spec.action ?? 'ALLOW') !== 'ALLOW') return false;
  if (isDryRunValue(p.metadata.annotations?.[DRY_RUN_ANNOTATION])) return false;
  if (spec.targetRef || (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0)) return false;
  const ml = spec.selector?.matchLabels;
  return !ml || (typeof ml === 'object' && Object.keys(ml).length === 0);
}

/**
 * Some policy of `ns` closes it. Asked on every workload write, answered from
 * the store's per-namespace cache (recomputed when that namespace's
 * AuthorizationPolicies change).
 */
function closed(ctx: RuleContext, ns: string): boolean {
  return ctx.state.derived('baseline:closes-namespace', GK.AuthorizationPolicy, ns, () => ctx.state.list(GK.AuthorizationPolicy, ns).some(closesNamespace));
}

/**
 * The tenant's pin policy on the activator fences `ns` (it denies other
 * tenants' requests whose knative-serving-namespace carries `ns`). Without
 * it, under Envoy's value-by-value header matching a caller of another
 * tenant reaches `ns` through the activator by sending its own namespace
 * next to `ns` (docs/baseline.md, "the fence"). No activator namespace, no
 * activator path: nothing to wait for.
 */
function fenced(ctx: RuleContext, tenant: string, ns: string): boolean {
  const a = ctx.config.baseline.activatorPolicy;
  if (!a.enabled || !ctx.config.baseline.activatorHeaderPin.enabled) return true;
  if (!ctx.state.get(GK.Namespace, undefined, a.namespace)) return true;
  const name = activatorPinName(ctx.config, tenant);
  const fences = ctx.state.derived(`baseline:activator-fence:${name}`, GK.AuthorizationPolicy, a.namespace, () => fencesOf(ctx.state.get(GK.AuthorizationPolicy, a.namespace, name), a.selector));
  const candidates = fences.filter((f) => f.values.has(ns));
  if (candidates.length === 0) return false;
  // Exempt callers: the tenant's own namespaces, the platform's and its peers' only (looked up, not listed: every tenant workload write asks).
  return candidates.some((f) => f.exempt.every((n) => mayBeExempt(ctx, tenant, n)));
}

/**
 * The tenant's fence on knative-local-gateway denies other tenants the Hosts
 * of `ns` (docs/baseline.md). No gateway namespace, no gateway: nothing to wait for.
 */
function gatewayFenced(ctx: RuleContext, tenant: string, ns: string): boolean {
  const g = ctx.config.baseline.gatewayPolicy;
  // No tenant ALLOW on the gateway (istiod keeps the Host's port): nothing a fence must stop.
  if (!gatewayAdmitsTenants(ctx.config) || !ctx.config.baseline.gatewayFence.enabled) return true;
  if (!ctx.state.get(GK.Namespace, undefined, g.namespace)) return true;
  const name = gatewayFenceName(ctx.config, tenant);
  const fences = ctx.state.derived(`baseline:gateway-fence:${name}`, GK.AuthorizationPolicy, g.namespace, () => gatewayFencesOf(ctx.state.get(GK.AuthorizationPolicy, g.namespace, name), g.selector));
  const needed = tenantHostPatterns(ctx.config, [ns], 'long');
  const candidates = fences.filter((f) => needed.every((h) => f.values.has(h)));
  return candidates.some((f) => f.exempt.every((n) => mayBeExempt(ctx, tenant, n)));
}

/** A caller a fence of `tenant` may leave out: the tenant's own namespaces, the platform's and its peers'. */
function mayBeExempt(ctx: RuleContext, tenant: string, n: string): boolean {
  if (ctx.tenancy.isSystemNamespace(n)) return true;
  const owner = ctx.tenancy.tenantOf(n);
  return owner !== undefined && (owner === tenant || ctx.tenancy.isPeered(owner, tenant));
}

/** An enforced DENY that applies to the workload selected by `labels` for sure, or undefined. */
function enforcedDenyOn(p: KubeObject | undefined, labels: Record<string, string>): any {
  const spec = p?.spec;
  if (!p || !spec || typeof spec !== 'object' || spec.action !== 'DENY') return undefined;
  if (isDryRunValue(p.metadata.annotations?.[DRY_RUN_ANNOTATION])) return undefined;
  if (p.metadata.labels?.['istio.io/rev'] !== undefined || spec.targetRef !== undefined || spec.targetRefs !== undefined) return undefined;
  if (spec.selector !== undefined) {
    const ml = spec.selector?.matchLabels;
    const keys = spec.selector && typeof spec.selector === 'object' ? Object.keys(spec.selector) : ['?'];
    if (keys.some((k) => k !== 'matchLabels') || (ml !== undefined && (typeof ml !== 'object' || ml === null))) return undefined;
    if (Object.entries(ml ?? {}).some(([k, v]) => labels[k] !== v)) return undefined;
  }
  return Array.isArray(spec.rules) ? spec : undefined;
}

/** `from: [{source: {notNamespaces}}]` (or no `from`): the callers a rule exempts, or undefined for any other shape. */
function exemptOf(r: any): string[] | undefined {
  if (r.from === undefined) return [];
  const src = Array.isArray(r.from) && r.from.length === 1 ? r.from[0]?.source : undefined;
  if (!src || typeof src !== 'object' || Object.keys(src).some((k) => k !== 'notNamespaces') || !Array.isArray(src.notNamespaces)) return undefined;
  return src.notNamespaces.every((n: unknown) => typeof n === 'string') ? src.notNamespaces : undefined;
}

/**
 * The rules of an enforced DENY on the gateway that deny by Host, whoever
 * calls: `to` one operation with `hosts` only (Istio matches them
 * case-insensitively), callers narrowed by notNamespaces at most.
 */
function gatewayFencesOf(p: KubeObject | undefined, gatewayLabels: Record<string, string>): Fence[] {
  const out: Fence[] = [];
  const spec = enforcedDenyOn(p, gatewayLabels);
  if (!spec) return out;
  for (const r of spec.rules) {
    if (r?.when !== undefined || !Array.isArray(r?.to) || r.to.length !== 1) continue;
    const op = r.to[0]?.operation;
    if (!op || typeof op !== 'object' || Object.keys(op).some((k) => k !== 'hosts') || !Array.isArray(op.hosts)) continue;
    const exempt = exemptOf(r);
    if (!exempt) continue;
    out.push({ values: new Set(op.hosts.filter((v: unknown): v is string => typeof v === 'string').map((v: string) => v.toLowerCase())), exempt });
  }
  return out;
}

interface Fence {
  /** Header values the rule denies. */
  values: ReadonlySet<string>;
  /** Callers it does not deny (`from.source.notNamespaces`). */
  exempt: string[];
}

/**
 * The rules of an enforced DENY on the activator that deny by value of its
 * routing header, whoever calls. The policy must apply to the activator for
 * sure: no targetRefs, no `istio.io/rev` (it would bind one control plane's
 * proxies only), a selector of labels the activator carries (config
 * `baseline.activatorPolicy.selector`) or none.
 */
function fencesOf(p: KubeObject | undefined, activatorLabels: Record<string, string>): Fence[] {
  const out: Fence[] = [];
  const spec = enforcedDenyOn(p, activatorLabels);
  if (!spec) return out;
  for (const r of spec.rules) {
    const when = Array.isArray(r?.when) ? r.when : [];
    // Only a rule with the header condition, callers narrowed by notNamespaces at most, and nothing else.
    if (when.length !== 1 || r?.to !== undefined) continue;
    const c = when[0];
    if (typeof c?.key !== 'string' || c.key.toLowerCase() !== ACTIVATOR_NAMESPACE_HEADER || !Array.isArray(c.values) || c.notValues !== undefined) continue;
    const exempt = exemptOf(r);
    if (!exempt) continue;
    out.push({ values: new Set(c.values.filter((v: unknown) => typeof v === 'string')), exempt });
  }
  return out;
}

/**
 * Applied before the kind handlers: a tenant workload write into a tenant
 * namespace that nothing closes yet is refused, naming what is missing.
 */
export function checkOpenWindow(ctx: RuleContext, b: DecisionBuilder): void {
  const { input, config } = ctx;
  if (!config.baseline.enabled) return;
  if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') return;
  if (ctx.actor.role !== 'tenant' && ctx.actor.role !== 'other') return;
  if (!WORKLOAD_KINDS.has(groupKind(input.kind.group, input.kind.kind))) return;
  const ns = input.namespace;
  if (!ns) return;
  const tenant = ctx.tenancy.tenantOf(ns);
  if (!tenant) {
    // A namespace the state has not seen yet (created a moment ago, its watch
    // event still in flight) may be a tenant's: judging it as nobody's would
    // let the first workload in before its baseline. Fail closed.
    if (!ctx.tenancy.isSystemNamespace(ns) && !ctx.state.get(GK.Namespace, undefined, ns)) {
      b.violate(
        RULE_OPEN_WINDOW,
        'metadata.namespace',
        `namespace "${ns}" is not known to tenant-guard yet (it was probably created a moment ago), so it cannot tell whether its baseline is in place; retry in a few seconds.`,
      );
    }
    return;
  }
  const isClosed = closed(ctx, ns) || closed(ctx, config.meshRootNamespace);
  const isFenced = fenced(ctx, tenant, ns);
  const isGatewayFenced = gatewayFenced(ctx, tenant, ns);
  if (isClosed && isFenced && isGatewayFenced) return;
  const retry = `Retry in a few seconds; if this persists, ask a platform admin to check that tenant-guard's controllers are running.`;
  if (!isClosed) {
    const missing = baselineForNamespace(config, tenant, ns, ctx.tenancy.namespacesOf(tenant))
      .filter((o) => !ctx.state.get(o.kind === 'PeerAuthentication' ? GK.PeerAuthentication : GK.AuthorizationPolicy, ns, o.metadata.name!))
      .map((o) => `${o.kind} ${ns}/${o.metadata.name}`);
    const what = missing.length > 0 ? `its baseline (${missing.join(', ')})` : 'an enforced namespace-wide ALLOW AuthorizationPolicy';
    b.violate(
      RULE_OPEN_WINDOW,
      'metadata.namespace',
      `namespace "${ns}" (tenant ${tenant}) does not have ${what} yet: tenant-guard is creating it. ` +
        `Until an ALLOW policy selects its workloads, Istio admits every caller into them, including other tenants' workloads. ${retry}`,
    );
    return;
  }
  const writing = (policyNs: string, name: string) => {
    const held = ctx.state.get(GK.AuthorizationPolicy, policyNs, name);
    return held && held.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE ? `an object tenant-guard does not manage holds that name, ask a platform admin to remove or rename it` : 'tenant-guard is writing it';
  };
  if (!isFenced) {
    const pinName = activatorPinName(config, tenant);
    const pin = `AuthorizationPolicy ${config.baseline.activatorPolicy.namespace}/${pinName}`;
    const state = writing(config.baseline.activatorPolicy.namespace, pinName);
    b.violate(
      RULE_OPEN_WINDOW,
      'metadata.namespace',
      `namespace "${ns}" (tenant ${tenant}) is not fenced on the activator yet (${pin} does not deny other tenants' requests whose knative-serving-namespace header names "${ns}"): ${state}. ` +
        `Until then another tenant's workload can reach "${ns}" through the activator by sending its own namespace and "${ns}" in a repeated header. ${retry}`,
    );
    return;
  }
  if (!isGatewayFenced) {
    const g = config.baseline.gatewayPolicy;
    const fence = `AuthorizationPolicy ${g.namespace}/${gatewayFenceName(config, tenant)}`;
    b.violate(
      RULE_OPEN_WINDOW,
      'metadata.namespace',
      `namespace "${ns}" (tenant ${tenant}) is not fenced on knative-local-gateway yet (${fence} does not deny other tenants the Hosts *.${ns}.svc and *.${ns}.svc.${config.baseline.clusterDomain}): ${writing(g.namespace, gatewayFenceName(config, tenant))}. ` +
        `Until then another tenant's workload can reach "${ns}" through the gateway, which forwards with its own identity. ${retry}`,
    );
  }
}
