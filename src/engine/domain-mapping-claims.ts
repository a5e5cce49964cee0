// The Namespace side of TG-KNATIVE-DOMAINMAPPING-NAME (knative.ts): a
// DomainMapping admitted while nobody held the namespace its name points into
// (`hello.newns.example.com` under Knative's default domain template
// {{.Name}}.{{.Namespace}}.{{.Domain}}, or `hello.newns`) keeps its
// ClusterDomainClaim when the namespace is created later: giving the name to
// another tenant would hand the mapping's tenant that namespace's Hosts.
import type { ClusterState } from '../cluster/state.js';
import { GK } from '../cluster/state.js';
import type { RuleContext } from './context.js';

export const DOMAIN_MAPPING_NAME_RULE = 'TG-KNATIVE-DOMAINMAPPING-NAME';

interface Claim {
  namespace: string;
  name: string;
}

/** DomainMappings by the namespace name their domain's second label names; rebuilt when a DomainMapping changes. */
function claimsByNamespace(state: ClusterState): ReadonlyMap<string, Claim[]> {
  return state.derivedAcross('engine:domain-mapping-claims', GK.KnativeDomainMapping, () => {
    const out = new Map<string, Claim[]>();
    for (const dm of state.list(GK.KnativeDomainMapping)) {
      const name = (dm.metadata.name ?? '').toLowerCase().replace(/\.$/, '');
      const labels = name.split('.');
      if (labels.length < 2) continue;
      const list = out.get(labels[1]!) ?? [];
      list.push({ namespace: dm.metadata.namespace ?? '', name });
      out.set(labels[1]!, list);
    }
    return out;
  });
}

/** Refuse giving namespace `name` to `tenant` while another tenant's DomainMapping claims its Hosts. */
export function checkMappedName(ctx: RuleContext, name: string, tenant: string | undefined, deny: (rule: string, path: string, message: string) => void): void {
  for (const c of claimsByNamespace(ctx.state).get(name) ?? []) {
    const holder = ctx.tenancy.tenantOf(c.namespace);
    if (holder !== undefined && tenant !== undefined && (holder === tenant || ctx.tenancy.isPeered(holder, tenant))) continue;
    if (holder === undefined && c.namespace === name) continue;
    // Tenants learn another tenant's claim, not its object's name (issue 20).
    const what = ctx.actor.role === 'tenant' ? `a DomainMapping of ${holder ? `tenant ${holder}` : `namespace ${c.namespace}`}` : `DomainMapping ${c.namespace}/${c.name}`;
    deny(
      DOMAIN_MAPPING_NAME_RULE,
      'metadata.name',
      `${what} already claims the Hosts of namespace "${name}" (its name's second label: Knative's default domain template {{.Name}}.{{.Namespace}}.{{.Domain}}): ` +
        `giving the name to ${tenant ? `tenant ${tenant}` : 'no tenant'} would hand that mapping its services' Hosts. The mapping's tenant (or a platform admin) deletes it first, or pick another name.`,
    );
  }
}
