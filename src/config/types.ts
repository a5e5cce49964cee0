export interface Subjects {
  users: string[];
  groups: string[];
}

export interface TenantSpec {
  name: string;
  admins: Subjects;
  /** Namespaces owned by the tenant besides those carrying the tenant label. */
  namespaces: string[];
  /** The tenant's own Istio control plane (istio.io/rev), for the per-tenant-control-plane model. */
  revision?: string;
}

export interface Peering {
  from: string;
  to: string;
}

/**
 * The cluster's own address ranges. Empty lists mean "not configured": every
 * private address (RFC 1918, CGNAT, link-local, ULA) is then treated as
 * possibly in-cluster.
 */
export interface ClusterNetwork {
  /** Service ClusterIP ranges (kube-apiserver --service-cluster-ip-range). */
  serviceCIDRs: string[];
  /** Pod ranges (kube-controller-manager --cluster-cidr, or the CNI's pools). */
  podCIDRs: string[];
  /** Node addresses: the kubelet's source for probes and pre-stop hooks (wait-for-drain). */
  nodeCIDRs: string[];
}

export interface TenancyConfig {
  apiVersion: 'tenant-guard.dev/v1alpha1';
  kind: 'TenancyConfig';
  tenantLabel: string;
  /** Namespaces of the shared platform (activator, gateways): trusted sources into every tenant. */
  systemNamespaces: string[];
  meshRootNamespace: string;
  /** Ports on which a PERMISSIVE/no-identity exception is tolerated (Knative's wait-for-drain). */
  drainPorts: string[];
  /** Trust domain of the mesh, used to build and read SPIFFE principals. */
  trustDomain: string;
  platformAdmins: Subjects;
  /**
   * Identities of the platform's own controllers (Knative, Istio, kube-controller-manager).
   * They are never blocked on workload rules: they write what admitted objects asked for.
   */
  platformControllers: Subjects;
  tenants: TenantSpec[];
  /** Cross-tenant paths the platform wants: `from` may call `to`. */
  peerings: Peering[];
  clusterNetwork: ClusterNetwork;
  /**
   * A container that may run as root can setuid(1337) at run time and leave
   * the sidecar's capture. `drop` (default): add allowPrivilegeEscalation:
   * false and the SETUID/SETGID drop where missing; `deny`: refuse instead
   * (src/engine/sidecar-setuid-guard.ts).
   */
  rootContainers: 'deny' | 'drop';
}
