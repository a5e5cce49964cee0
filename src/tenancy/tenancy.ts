import type { ClusterState } from '../cluster/state.js';
import { GK } from '../cluster/state.js';
import type { Subjects, TenancyConfig, TenantSpec } from '../config/types.js';
import type { UserInfo } from '../kube/admission.js';

/** Who is asking, as far as tenancy rules care. */
export type Actor =
  | { role: 'platform-admin'; username: string }
  | { role: 'platform-controller'; username: string }
  | { role: 'tenant'; username: string; tenants: string[]; admin: boolean }
  | { role: 'other'; username: string };

/** Owner of a namespace: a tenant, the platform itself, or nobody. */
export type NamespaceOwner = { type: 'tenant'; tenant: string } | { type: 'system' } | { type: 'none' };

function matches(s: Subjects, user: UserInfo): boolean {
  return s.users.includes(user.username) || user.groups.some((g) => s.groups.includes(g));
}

/** The config's tenants indexed by name and by explicit namespace. */
interface TenantIndex {
  byName: Map<string, TenantSpec>;
  explicitOwner: Map<string, string>;
}

// Built once per config object rather than per decision: a config is
// replaced, never edited, when the file is reloaded.
const tenantIndexes = new WeakMap<TenancyConfig, TenantIndex>();

function tenantIndex(config: TenancyConfig): TenantIndex {
  let ix = tenantIndexes.get(config);
  if (!ix) {
    const explicitOwner = new Map<string, string>();
    for (const t of config.tenants) for (const ns of t.namespaces) explicitOwner.set(ns, t.name);
    ix = { byName: new Map(config.tenants.map((t) => [t.name, t])), explicitOwner };
    tenantIndexes.set(config, ix);
  }
  return ix;
}

// Service account usernames: system:serviceaccount:<namespace>:<name>
// (k8s.io/apiserver/pkg/authentication/serviceaccount).
const SA_PREFIX = 'system:serviceaccount:';

/** A cross-tenant path the platform wants (config `peerings`, from -> to). */
export function isPeered(config: TenancyConfig, from: string, to: string): boolean {
  return config.peerings.some((p) => p.from === from && p.to === to);
}

const NO_VIRTUAL_OWNERS: ReadonlyMap<string, string> = new Map();

/**
 * Tenancy questions answered from the config and the cluster state. Pure:
 * built per decision, holds no I/O.
 */
export class Tenancy {
  private readonly byName: ReadonlyMap<string, TenantSpec>;
  private readonly explicitOwner: ReadonlyMap<string, string>;

  constructor(
    readonly config: TenancyConfig,
    readonly state: ClusterState,
    /** Symbolic namespaces the reachability model adds (name -> their symbolic tenant); none at admission. */
    private readonly virtualOwners: ReadonlyMap<string, string> = NO_VIRTUAL_OWNERS,
  ) {
    const index = tenantIndex(config);
    this.byName = index.byName;
    this.explicitOwner = index.explicitOwner;
  }

  tenant(name: string): TenantSpec | undefined {
    return this.byName.get(name);
  }

  tenantNames(): string[] {
    return [...this.byName.keys()];
  }

  isSystemNamespace(ns: string): boolean {
    return this.config.systemNamespaces.includes(ns) || ns === this.config.meshRootNamespace;
  }

  /**
   * The tenant owning `ns`: the config's explicit list first, then the tenant
   * label on the Namespace object in the state. Labels naming an unknown
   * tenant still count: the namespace is tenant-owned, and rules treat the
   * unknown tenant as a tenant of its own.
   */
  ownerOf(ns: string | undefined): NamespaceOwner {
    if (!ns) return { type: 'none' };
    const v = this.virtualOwners.size > 0 ? this.virtualOwners.get(ns) : undefined;
    if (v !== undefined) return { type: 'tenant', tenant: v };
    if (this.isSystemNamespace(ns)) return { type: 'system' };
    const explicit = this.explicitOwner.get(ns);
    if (explicit) return { type: 'tenant', tenant: explicit };
    const label = this.state.get(GK.Namespace, undefined, ns)?.metadata.labels?.[this.config.tenantLabel];
    if (label) return { type: 'tenant', tenant: label };
    return { type: 'none' };
  }

  /** `ownerOf(ns).tenant`, without building the owner (asked several times per review). */
  tenantOf(ns: string | undefined): string | undefined {
    if (!ns) return undefined;
    if (this.virtualOwners.size > 0) {
      const v = this.virtualOwners.get(ns);
      if (v !== undefined) return v;
    }
    if (this.isSystemNamespace(ns)) return undefined;
    return this.explicitOwner.get(ns) || this.state.get(GK.Namespace, undefined, ns)?.metadata.labels?.[this.config.tenantLabel] || undefined;
  }

  /** Every namespace of a tenant: explicit ones and labelled ones in the state. */
  namespacesOf(tenant: string): string[] {
    const set = new Set(this.byName.get(tenant)?.namespaces ?? []);
    for (const ns of this.state.namespacesWithLabel(this.config.tenantLabel, tenant)) set.add(ns);
    return [...set].sort();
  }

  /** All tenant-owned namespaces with their tenant. */
  allTenantNamespaces(): Map<string, string> {
    const out = new Map<string, string>();
    for (const t of this.tenantNames()) for (const ns of this.namespacesOf(t)) out.set(ns, t);
    for (const nsObj of this.state.list(GK.Namespace)) {
      const name = nsObj.metadata.name;
      const label = nsObj.metadata.labels?.[this.config.tenantLabel];
      if (name && label && !out.has(name) && !this.isSystemNamespace(name)) out.set(name, label);
    }
    return out;
  }

  /** Whether the platform wants callers of tenant `from` to reach tenant `to` (config `peerings`). */
  isPeered(from: string, to: string): boolean {
    return isPeered(this.config, from, to);
  }

  /** The Istio revision a tenant must use, if it has its own control plane. */
  revisionOf(tenant: string | undefined): string | undefined {
    return tenant ? this.byName.get(tenant)?.revision : undefined;
  }

  /** The tenant whose control plane is `revision`, if any. */
  tenantOfRevision(revision: string): string | undefined {
    return this.config.tenants.find((t) => t.revision === revision)?.name;
  }

  actor(user: UserInfo): Actor {
    const username = user.username;
    if (matches(this.config.platformAdmins, user)) return { role: 'platform-admin', username };
    if (matches(this.config.platformControllers, user)) return { role: 'platform-controller', username };
    // Usually one tenant: a literal, not an empty array grown by push (which reserves spare room).
    let adminOf: string[] | undefined;
    for (const t of this.config.tenants) {
      if (!matches(t.admins, user)) continue;
      if (adminOf) adminOf.push(t.name);
      else adminOf = [t.name];
    }
    if (adminOf) return { role: 'tenant', username, tenants: adminOf, admin: true };
    // A service account acts for the tenant that owns its namespace.
    if (username.startsWith(SA_PREFIX)) {
      const ns = username.slice(SA_PREFIX.length).split(':')[0];
      const t = this.tenantOf(ns);
      if (t) return { role: 'tenant', username, tenants: [t], admin: false };
    }
    return { role: 'other', username };
  }
}
