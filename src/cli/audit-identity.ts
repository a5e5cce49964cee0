import type { TenancyConfig } from '../config/types.js';
import type { Tenancy } from '../engine/tenancy.js';
import type { UserInfo } from '../engine/types.js';

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
