import type { UserInfo } from '../engine/types.js';
import { TenantGuardError } from '../errors.js';

/**
 * Who `check` submits as when no --as is given: the identity kubeadm writes
 * into admin.conf (kubernetes-admin in system:masters), i.e. a platform admin
 * under the default config's `platformAdmins.groups`.
 */
export const DEFAULT_IDENTITY: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

const AUTHENTICATED = 'system:authenticated';
const UNAUTHENTICATED = 'system:unauthenticated';
const ANONYMOUS = 'system:anonymous';
const SA_PREFIX = 'system:serviceaccount:';

/**
 * The UserInfo the API server builds for `kubectl --as USER --as-group G...`,
 * following k8s.io/apiserver/pkg/endpoints/filters/impersonation.go: a
 * service account user impersonated without groups gets its service account
 * groups; every non-anonymous user gets system:authenticated unless
 * system:(un)authenticated was given explicitly.
 */
export function impersonate(username: string | undefined, groups: string[]): UserInfo {
  if (username === undefined) {
    if (groups.length > 0) throw new TenantGuardError('TG_ERR_USAGE', '--as-group needs --as (kubectl refuses groups without a user to impersonate, too)');
    return structuredClone(DEFAULT_IDENTITY);
  }
  if (username.trim() === '') throw new TenantGuardError('TG_ERR_USAGE', '--as must name a user');
  const out = [...new Set(groups)];
  if (username.startsWith(SA_PREFIX) && out.length === 0) {
    const ns = username.slice(SA_PREFIX.length).split(':')[0];
    if (ns) out.push('system:serviceaccounts', `system:serviceaccounts:${ns}`);
  }
  if (username !== ANONYMOUS && !out.includes(AUTHENTICATED) && !out.includes(UNAUTHENTICATED)) out.push(AUTHENTICATED);
  return { username, groups: out };
}
