// Trust given by name: the config trusts namespaces by name (system
// namespaces, the mesh root, the namespaces behind platform identities —
// `system:serviceaccounts:<ns>` groups and `system:serviceaccount:<ns>:<sa>`
// users —, the activator's, the chart's excluded ones). Whoever creates such a
// namespace before the platform does holds that trust: its service accounts
// count as platform controllers (never blocked, skipped by the chart's
// matchConditions), or its objects sit where every tenant's policies admit
// callers. Only platform admins may create, relabel or adopt these names.

import type { TenancyConfig } from '../config/types.js';
import type { RuleDoc } from './context.js';

export const RESERVED_NAME_RULE = 'TG-NS-RESERVED-NAME';

const SA_GROUP = 'system:serviceaccounts:';
const SA_USER = 'system:serviceaccount:';

const cache = new WeakMap<TenancyConfig, ReadonlyMap<string, string>>();

/** Every namespace the config trusts by name, with why (computed once per config object). */
export function reservedNamespaces(config: TenancyConfig): ReadonlyMap<string, string> {
  let out = cache.get(config) as Map<string, string> | undefined;
  if (out) return out;
  out = new Map<string, string>();
  const add = (ns: string, why: string) => {
    if (ns !== '' && !out!.has(ns)) out!.set(ns, why);
  };
  for (const ns of config.systemNamespaces) add(ns, 'a system namespace of the tenancy config (trusted by every tenant)');
  add(config.meshRootNamespace, 'the mesh root namespace (its policies apply to every workload)');
  add(config.baseline.activatorPolicy.namespace, "the activator's namespace (the baseline's activator policies live there)");
  for (const [who, s] of [['platformControllers', config.platformControllers], ['platformAdmins', config.platformAdmins]] as const) {
    for (const g of s.groups) if (g.startsWith(SA_GROUP)) add(g.slice(SA_GROUP.length), `its service accounts are ${who} (group ${g})`);
    for (const u of s.users) if (u.startsWith(SA_USER)) add(u.slice(SA_USER.length).split(':')[0]!, `its service account is one of the ${who} (${u})`);
  }
  for (const h of config.sharedHops ?? []) add(h.namespace, `the namespace of the shared hop ${h.name} (sharedHops): its identity is trusted on every path through it`);
  for (const ns of config.reservedNamespaces ?? []) add(ns, 'reserved by the tenancy config (reservedNamespaces; the chart adds the namespaces its webhooks skip)');
  cache.set(config, out);
  return out;
}

export const reservedNameRules: RuleDoc[] = [
  {
    id: RESERVED_NAME_RULE,
    kinds: ['Namespace'],
    stops:
      'Anyone but a platform admin creating, or changing the labels of, a namespace the config trusts by name: systemNamespaces, meshRootNamespace, the activator\'s namespace, ' +
      'the namespaces of platformControllers/platformAdmins service-account groups (`system:serviceaccounts:<ns>`) and users (`system:serviceaccount:<ns>:<sa>`), those of sharedHops, and reservedNamespaces ' +
      '(the chart adds the namespaces its webhooks skip). Platform controllers get a warning.',
    why:
      'Trust given by name goes to whoever holds the name. A tenant admin creating a namespace named in platformControllers before the platform does makes its own service accounts platform controllers: ' +
      'never blocked by tenant-guard, and skipped by the chart\'s matchConditions. `serve` logs and `audit` reports every such name that does not exist (it may have been taken before install).',
    cite: 'https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/ (system:serviceaccounts:<namespace> groups)',
    example: `apiVersion: v1
kind: Namespace
metadata: {name: knative-serving}`,
  },
];

/**
 * The reserved names no namespace holds yet: whoever creates one first holds
 * its trust (`serve` logs them, `audit` reports them). One that exists may
 * have been created by someone else before tenant-guard was installed; that
 * is for `audit` to show, with who holds it (its labels), not decidable here.
 */
export function missingReservedNamespaces(config: TenancyConfig, exists: (ns: string) => boolean): { namespace: string; why: string }[] {
  return [...reservedNamespaces(config)].filter(([ns]) => !exists(ns)).map(([namespace, why]) => ({ namespace, why }));
}
