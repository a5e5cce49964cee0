import { baselineRoleOf, isManaged, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../tenancy/baseline-objects.js';
import type { RuleContext, RuleDoc } from './context.js';
import type { DecisionBuilder } from './decision.js';

// The baseline objects tenant-guard keeps (src/tenancy/baseline-objects.ts)
// are the tenant namespaces' isolation: a tenant loosening or deleting them
// would reopen the namespace until the reconciler puts them back.

export const RULE_MANAGED = 'TG-BASELINE-MANAGED';

export const baselineManagedRules: RuleDoc[] = [
  {
    id: RULE_MANAGED,
    kinds: ['security.istio.io/PeerAuthentication', 'security.istio.io/AuthorizationPolicy'],
    stops: `A tenant (or unknown user) updating or deleting a baseline object tenant-guard keeps (label \`${MANAGED_BY_LABEL}: ${MANAGED_BY_VALUE}\`), or creating an object that carries that label.`,
    why:
      "The baseline's STRICT PeerAuthentication and ALLOW AuthorizationPolicy are what closes a tenant namespace to other tenants; a tenant's change would " +
      'open it until the reconciler repairs the drift. An object a tenant labels as managed would be shielded from its own admins and removed by the reconciler. ' +
      "Platform admins and platform controllers (tenant-guard's own service account among them) may write them; tenants write their own policies next to them.",
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: tenant-guard-strict
  namespace: tenant-1
  labels: {tenant-guard.dev/managed-by: tenant-guard, tenant-guard.dev/baseline: peer-authentication}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: tenant-guard-strict
  namespace: tenant-1
  labels: {tenant-guard.dev/managed-by: tenant-guard, tenant-guard.dev/baseline: peer-authentication}
spec: {mtls: {mode: STRICT}, portLevelMtls: {"8080": {mode: PERMISSIVE}}}`,
  },
];

/** Applied before the PeerAuthentication and AuthorizationPolicy handlers. */
export function checkManagedBaselineWrite(ctx: RuleContext, b: DecisionBuilder): void {
  const { input } = ctx;
  if (input.kind.group !== 'security.istio.io' || (input.kind.kind !== 'PeerAuthentication' && input.kind.kind !== 'AuthorizationPolicy')) return;
  if (ctx.actor.role !== 'tenant' && ctx.actor.role !== 'other') return;
  const target = `${input.kind.kind} ${input.namespace ? `${input.namespace}/` : ''}${input.name ?? input.object?.metadata.name ?? ''}`;
  const old = input.oldObject;
  if (old && isManaged(old) && input.operation !== 'CREATE') {
    const role = baselineRoleOf(old);
    b.violate(
      RULE_MANAGED,
      `metadata.labels["${MANAGED_BY_LABEL}"]`,
      `${target} is ${role ? `the ${role} baseline object` : 'an object'} tenant-guard keeps for this namespace; ${ctx.actor.username} may not ${input.operation.toLowerCase()} it ` +
        `(tenant-guard would put it back, and until then the namespace could be open to other tenants). Write your own ${input.kind.kind} next to it instead, or ask a platform admin.`,
    );
    return;
  }
  if (input.operation !== 'DELETE' && input.object && isManaged(input.object)) {
    b.violate(
      RULE_MANAGED,
      `metadata.labels["${MANAGED_BY_LABEL}"]`,
      `${target} carries ${MANAGED_BY_LABEL}: ${MANAGED_BY_VALUE}, which marks the objects tenant-guard keeps; ${ctx.actor.username} may not set it. Remove the label.`,
    );
  }
}
