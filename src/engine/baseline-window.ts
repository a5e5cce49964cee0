import { GK, groupKind, type GroupKind } from '../cluster/state.js';
import { baselineForNamespace } from '../controllers/baseline-objects.js';
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
    kinds: ['Pod', 'serving.knative.dev/Service', 'serving.knative.dev/Configuration', 'apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job', 'batch/CronJob', 'ReplicationController'],
    stops:
      'With `baseline.enabled`: a tenant (or unknown user) creating or updating a workload in a tenant namespace that has no enforced namespace-wide ALLOW AuthorizationPolicy yet (neither its baseline nor another one, nor one in the mesh root namespace).',
    why:
      'Istio admits every caller into a workload that no ALLOW policy selects, so until the baseline of a new namespace exists its workloads are reachable from every tenant. ' +
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
  if (closed(ctx, ns) || closed(ctx, config.meshRootNamespace)) return;
  const missing = baselineForNamespace(config, tenant, ns, ctx.tenancy.namespacesOf(tenant))
    .filter((o) => !ctx.state.get(o.kind === 'PeerAuthentication' ? GK.PeerAuthentication : GK.AuthorizationPolicy, ns, o.metadata.name!))
    .map((o) => `${o.kind} ${ns}/${o.metadata.name}`);
  const what = missing.length > 0 ? `its baseline (${missing.join(', ')})` : 'an enforced namespace-wide ALLOW AuthorizationPolicy';
  b.violate(
    RULE_OPEN_WINDOW,
    'metadata.namespace',
    `namespace "${ns}" (tenant ${tenant}) does not have ${what} yet: tenant-guard is creating it. ` +
      `Until an ALLOW policy selects its workloads, Istio admits every caller into them, including other tenants' workloads. ` +
      `Retry in a few seconds; if this persists, ask a platform admin to check that tenant-guard's controllers are running.`,
  );
}
