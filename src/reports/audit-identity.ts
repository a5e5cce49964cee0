import type { TenancyConfig } from '../config/types.js';
import type { Tenancy } from '../tenancy/tenancy.js';
import type { UserInfo } from '../kube/admission.js';
import type { KubeObject } from '../kube/objects.js';

const AUTHENTICATED = 'system:authenticated';

/** Used when the config names no platform admin at all: actor "other", judged by every object rule. */
export const AUDIT_USER = 'tenant-guard:audit';

/**
 * Who `audit` submits an object as. Audit judges objects, not their authors
 * (the author is unknown for a cluster that predates the webhook), so each
 * object is submitted by the identity that would normally write it there:
 *
 * - in a tenant's namespace: that tenant's admin (its first configured admin
 *   group, else its first admin user); for a tenant known only from a
 *   namespace label, the namespace's `default` service account, which the
 *   engine maps to that tenant. Every tenant-facing rule then applies,
 *   including those naming "another tenant";
 * - cluster-scoped objects (Namespaces), the platform's namespaces and
 *   namespaces no tenant owns: a platform admin (first configured group, else
 *   user), the only role expected to write there.
 *
 * A service account is a tenant writer but not an admin: rules that only
 * admins may waive stay enforced, which errs on the side of reporting.
 */
export function auditIdentity(config: TenancyConfig, tenancy: Tenancy, namespace: string | undefined): UserInfo {
  const tenant = namespace ? tenancy.tenantOf(namespace) : undefined;
  if (tenant && namespace) {
    const admins = tenancy.tenant(tenant)?.admins;
    const group = admins?.groups[0];
    if (group) return { username: AUDIT_USER, groups: [group, AUTHENTICATED] };
    const user = admins?.users[0];
    if (user) return { username: user, groups: [AUTHENTICATED] };
    return {
      username: `system:serviceaccount:${namespace}:default`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, AUTHENTICATED],
    };
  }
  const group = config.platformAdmins.groups[0];
  if (group) return { username: AUDIT_USER, groups: [group, AUTHENTICATED] };
  const user = config.platformAdmins.users[0];
  if (user) return { username: user, groups: [AUTHENTICATED] };
  return { username: AUDIT_USER, groups: [AUTHENTICATED] };
}

/** EndpointSlice managers that are Kubernetes' own controllers (discovery.k8s.io LabelManagedBy values). */
const K8S_SLICE_MANAGERS = new Set(['endpointslice-controller.k8s.io', 'endpointslicemirroring-controller.k8s.io']);

/**
 * Services, Endpoints and EndpointSlices that controllers maintain in tenant
 * namespaces (Knative's route Services and revision Endpoints, owned through
 * a controller ownerReference; the slices of the endpointslice controllers;
 * the Endpoints of every Service with a selector) hold pod IPs and platform
 * hosts by design: audit submits them as a platform controller, which the
 * rules do not judge, instead of reporting every Service of the cluster. The
 * webhook still judges every tenant write of them.
 */
export function writtenByController(object: KubeObject, serviceOf: (ns: string, name: string) => KubeObject | undefined): boolean {
  const kind = object.kind;
  if (kind !== 'Service' && kind !== 'Endpoints' && kind !== 'EndpointSlice') return false;
  if (object.apiVersion !== 'v1' && object.apiVersion !== 'discovery.k8s.io/v1') return false;
  const owners = object.metadata.ownerReferences;
  if (Array.isArray(owners) && owners.some((o) => (o as { controller?: unknown }).controller === true)) return true;
  if (kind === 'EndpointSlice') return K8S_SLICE_MANAGERS.has(object.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] ?? '');
  if (kind === 'Endpoints') {
    const svc = serviceOf(object.metadata.namespace ?? '', object.metadata.name ?? '');
    const selector: unknown = svc?.spec?.selector;
    return !!selector && typeof selector === 'object' && Object.keys(selector).length > 0;
  }
  return false;
}

/** A platform controller identity of the config, for objects controllers write. */
export function controllerIdentity(config: TenancyConfig): UserInfo | undefined {
  const user = config.platformControllers.users[0];
  if (user) return { username: user, groups: [AUTHENTICATED] };
  const group = config.platformControllers.groups[0];
  return group ? { username: 'tenant-guard:audit-controller', groups: [group, AUTHENTICATED] } : undefined;
}
