import type { ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { isPeered, Tenancy } from './tenancy.js';

// Who owns a namespace NAME, for judging callers symbolically. A name is a
// tenant's only while the namespace exists with that tenant's label (or the
// tenancy config lists it under the tenant, which the namespace rules keep);
// a name nobody holds can be created tomorrow by any tenant, and an existing
// namespace without a tenant is nobody's to vouch for. tenant-guard keeps
// these facts true at admission (TG-NS-TRUSTED-NAME refuses creating or
// relabelling a name another tenant's policies trust).

export type NameOwner =
  | { kind: 'tenant'; tenant: string }
  /** systemNamespaces and the mesh root: the platform's own callers (activator, gateways). */
  | { kind: 'platform' }
  /** Exists, but carries no tenant. */
  | { kind: 'unowned' }
  /** Does not exist: whoever may create namespaces can create it later. */
  | { kind: 'free' };

export class Ownership {
  readonly tenancy: Tenancy;

  constructor(
    readonly state: ClusterState,
    readonly config: TenancyConfig,
    /** Symbolic namespaces the model adds (name -> their symbolic tenant). */
    virtualOwners?: ReadonlyMap<string, string>,
  ) {
    this.tenancy = new Tenancy(config, state, virtualOwners);
  }

  ownerOf(name: string): NameOwner {
    const o = this.tenancy.ownerOf(name);
    if (o.type === 'system') return { kind: 'platform' };
    if (o.type === 'tenant') return { kind: 'tenant', tenant: o.tenant };
    return this.state.get('/Namespace', undefined, name) ? { kind: 'unowned' } : { kind: 'free' };
  }

  /**
   * Whether a workload in namespace `name` is a caller tenant `target` must
   * be protected from: anything but the tenant itself, the tenants it peers
   * with (config `peerings`, from -> target) and the platform.
   */
  isForeignTo(name: string, target: string): boolean {
    const o = this.ownerOf(name);
    if (o.kind === 'platform') return false;
    if (o.kind === 'tenant') return o.tenant !== target && !isPeered(this.config, o.tenant, target);
    return true;
  }

  /** Who a caller from `name` is, in words for a message. */
  describeCaller(name: string): string {
    const o = this.ownerOf(name);
    switch (o.kind) {
      case 'tenant':
        return o.tenant;
      case 'platform':
        return `platform namespace ${name}`;
      case 'unowned':
        return `namespace ${name} (exists, belongs to no tenant)`;
      case 'free':
        return `namespace ${name}, which does not exist yet (any tenant may create it later)`;
    }
  }

  tenants(): string[] {
    const names = new Set(this.tenancy.tenantNames());
    for (const t of this.tenancy.allTenantNamespaces().values()) names.add(t);
    return [...names].sort();
  }

  namespacesOf(tenant: string): string[] {
    return this.tenancy.namespacesOf(tenant);
  }
}
