import type { RuleContext } from './context.js';
import type { DecisionBuilder } from './decision.js';

/** One problem found in a workload, before the actor decides whether it denies or warns. */
export interface Finding {
  rule: string;
  /** Field path, e.g. `spec.template.metadata.annotations["sidecar.istio.io/inject"]`. */
  path: string;
  message: string;
  /** Admitted with a warning whoever writes it (the finding opens no path, but the user should know what it does). */
  warning?: boolean;
}

/** Stable ids of the rules shared by Pods, pod-template workloads and Knative kinds. */
export const WORKLOAD_RULE = {
  injectOptOut: 'TG-WORKLOAD-INJECT-OPTOUT',
  captureBypass: 'TG-WORKLOAD-CAPTURE-BYPASS',
  proxyOverride: 'TG-WORKLOAD-PROXY-OVERRIDE',
  reservedContainer: 'TG-WORKLOAD-RESERVED-CONTAINER',
  proxyIdentity: 'TG-WORKLOAD-PROXY-UID',
  netAdmin: 'TG-WORKLOAD-NET-ADMIN',
  hostNetwork: 'TG-WORKLOAD-HOST-NETWORK',
  foreignRevision: 'TG-WORKLOAD-FOREIGN-REVISION',
  gatewayLabel: 'TG-WORKLOAD-GATEWAY-LABEL',
  hostPath: 'TG-WORKLOAD-HOST-PATH',
  hostNamespaces: 'TG-WORKLOAD-HOST-NAMESPACES',
  capabilities: 'TG-WORKLOAD-CAPABILITIES',
  setuid: 'TG-WORKLOAD-SETUID',
} as const;

/** `metadata.annotations["key"]`, the path style of every violation. */
export function mapEntryPath(metaPath: string, map: 'labels' | 'annotations', key: string): string {
  return `${metaPath}.${map}[${JSON.stringify(key)}]`;
}

/**
 * How the workload rules apply to the request, decided once per request from
 * the namespace owner and the actor:
 * - `enforce`: a tenant namespace; findings deny the request and the tenant
 *   label is added. Platform admins are judged like everyone else here: the
 *   sidecar is what keeps the tenant's workloads inside its policies, and no
 *   identity may open a cross-tenant path.
 * - `warn`: findings become warnings and nothing is mutated. Platform
 *   controllers (Knative's, kube-controller-manager's) only write what an
 *   admitted object asked for; blocking them would leave a half-reconciled
 *   object behind, and mutating them would make their reconcilers fight our
 *   patch (Knative compares the desired Deployment with the live one and would
 *   update it on every pass). A tenant writing into a namespace no tenant owns
 *   also gets warnings: nothing there is guarded, and the tenant should know.
 * - `skip`: system namespaces (the common rule keeps tenants out of them) and
 *   namespaces owned by nobody, written by anyone but a tenant.
 */
export type WorkloadScope = { mode: 'enforce'; tenant: string } | { mode: 'warn'; tenant?: string; reason: string } | { mode: 'skip' };

const SKIP: WorkloadScope = { mode: 'skip' };

export function workloadScope(ctx: RuleContext): WorkloadScope {
  // ownerOf(), without building the owner: this runs for every workload review.
  const ns = ctx.input.namespace;
  if (ns && ctx.tenancy.isSystemNamespace(ns)) return SKIP;
  const tenant = ctx.tenancy.tenantOf(ns);
  if (tenant === undefined) {
    if (ctx.actor.role !== 'tenant') return SKIP;
    return {
      mode: 'warn',
      reason: `namespace "${ctx.input.namespace ?? ''}" belongs to no tenant, so tenant-guard does not enforce sidecar rules there`,
    };
  }
  if (ctx.actor.role === 'platform-controller') {
    return {
      mode: 'warn',
      tenant,
      reason: `${ctx.actor.username} is a platform controller and is never blocked; the object it writes was derived from one that should have been rejected`,
    };
  }
  return { mode: 'enforce', tenant };
}

/** Record findings as violations (enforce) or warnings (warn). */
export function reportFindings(b: DecisionBuilder, scope: WorkloadScope, findings: Finding[]): void {
  if (scope.mode === 'skip') return;
  for (const f of findings) {
    if (f.warning) b.warn(`${f.rule} at ${f.path} (admitted): ${f.message}`);
    else if (scope.mode === 'enforce') b.violate(f.rule, f.path, f.message);
    else b.warn(`${f.rule} at ${f.path} (not enforced: ${scope.reason}): ${f.message}`);
  }
}
