import { DecisionBuilder } from './decision.js';
import type { RuleContext, RuleDoc } from './context.js';

export const commonRules: RuleDoc[] = [
  {
    id: 'TG-SYSTEM-NAMESPACE-WRITE',
    kinds: ['*'],
    stops: 'A tenant (admin or service account), or a user the config does not know, writing any intercepted object into a system namespace or the mesh root namespace.',
    why:
      'Objects in knative-serving and istio-system configure the shared activator and gateways that every tenant trusts; ' +
      'policies in the mesh root namespace apply to every workload of the mesh. A tenant writing there can open a path into any other tenant.',
    cite: 'https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/ (rootNamespace)',
    example: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-me, namespace: knative-serving}
spec:
  rules: [{from: [{source: {namespaces: [tenant-1]}}]}]`,
  },
  {
    id: 'TG-TENANT-FOREIGN-NAMESPACE',
    kinds: ['*'],
    stops: "A tenant (admin or service account) writing any intercepted object into another tenant's namespace.",
    why:
      "Kubernetes RBAC is meant to confine tenant admins to their own namespaces; a RoleBinding granted by mistake would let one tenant " +
      "place workloads or policies inside another tenant's isolation boundary. The webhook refuses it as a second line of defence.",
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tenant-2}
spec: {mtls: {mode: STRICT}}`,
  },
  {
    id: 'TG-ENGINE-ERROR',
    kinds: ['*'],
    stops: 'Any request the engine cannot judge (malformed object, unexpected field type, internal error).',
    why: 'A guardrail that allows what it cannot read is no guardrail: such requests are denied with the reason (fail closed).',
  },
];

/**
 * Applied before every kind handler: a tenant writes only into its own
 * namespaces (Namespace objects themselves are judged by the namespace rules).
 */
export function checkForeignNamespaceWrite(ctx: RuleContext, b: DecisionBuilder): void {
  const ns = ctx.input.namespace;
  if (!ns || ctx.actor.role !== 'tenant' || ctx.input.kind.kind === 'Namespace') return;
  const owner = ctx.tenancy.tenantOf(ns);
  if (!owner || ctx.actor.tenants.includes(owner)) return;
  b.violate(
    'TG-TENANT-FOREIGN-NAMESPACE',
    'metadata.namespace',
    `${ctx.actor.username} (tenant ${ctx.actor.tenants.join(', ')}) may not ${ctx.input.operation.toLowerCase()} ${ctx.input.kind.kind} objects in "${ns}", ` +
      `which belongs to tenant ${owner}; objects there are inside ${owner}'s isolation boundary. Deploy into your own namespaces, or ask a platform admin.`,
  );
}

/**
 * Applied before every kind handler: tenants never write into the platform's
 * namespaces. Platform admins and controllers may.
 */
export function checkSystemNamespaceWrite(ctx: RuleContext, b: DecisionBuilder): void {
  const ns = ctx.input.namespace;
  // Users the config does not know (neither platform nor tenant) are held to
  // the tenants' rule: the platform's namespaces are written by its admins only.
  if (!ns || (ctx.actor.role !== 'tenant' && ctx.actor.role !== 'other') || !ctx.tenancy.isSystemNamespace(ns)) return;
  const who = ctx.actor.role === 'tenant' ? `tenant ${ctx.actor.tenants.join(', ')}` : 'neither a platform admin nor a platform controller';
  const what = ns === ctx.config.meshRootNamespace ? 'the mesh root namespace, whose policies apply to every workload' : 'a system namespace shared by every tenant';
  b.violate(
    'TG-SYSTEM-NAMESPACE-WRITE',
    'metadata.namespace',
    `${ctx.actor.username} (${who}) may not ${ctx.input.operation.toLowerCase()} ${ctx.input.kind.kind} objects in "${ns}", ` +
      `${what}; ask a platform admin to make this change.`,
  );
}
