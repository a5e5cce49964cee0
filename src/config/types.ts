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

/** One object of the baseline: whether tenant-guard keeps it, and its name. */
export interface BaselineObjectTemplate {
  enabled: boolean;
  name: string;
}

/**
 * The objects tenant-guard keeps for every tenant namespace and every tenant
 * (src/tenancy/baseline-objects.ts builds them; docs/baseline.md).
 */
export interface BaselineConfig {
  /** Off: no baseline objects are kept and no "open window" check is made. */
  enabled: boolean;
  /** DNS suffix of Services (activator policy hosts `*.<namespace>.svc.<clusterDomain>`). */
  clusterDomain: string;
  /** Per tenant namespace: PeerAuthentication mtls STRICT. */
  peerAuthentication: BaselineObjectTemplate;
  /** Per tenant namespace: ALLOW from the tenant's own namespaces and the system namespaces. */
  authorizationPolicy: BaselineObjectTemplate;
  /** Per tenant, in the activator's namespace: ALLOW from the tenant's namespaces, header-pinned. `name` is a prefix. */
  activatorPolicy: BaselineObjectTemplate & { namespace: string; selector: Record<string, string> };
  /**
   * Per tenant, in the activator's namespace: DENY the tenant's callers whose
   * knative-serving-namespace header holds anything but the tenant's
   * namespaces (a repeated header too). `name` is a prefix.
   */
  activatorHeaderPin: BaselineObjectTemplate;
  /** Once, in the activator's namespace: ALLOW from the system namespaces (the gateways' path into the activator). */
  platformActivatorPolicy: BaselineObjectTemplate;
  /**
   * Per tenant, on knative-local-gateway: ALLOW the tenant's namespaces for
   * the Hosts of its own namespaces only. `name` is a prefix; `localPorts`
   * are the gateway pod's ports serving knative-local-gateway (its Gateway's
   * servers): requests to its other ports (the public ingress) are the
   * platform policy's.
   */
  gatewayPolicy: BaselineObjectTemplate & { namespace: string; selector: Record<string, string>; localPorts: string[] };
  /**
   * Per tenant, on knative-local-gateway: DENY every caller but the tenant's
   * namespaces, its peers' and the system namespaces the Hosts of the
   * tenant's namespaces. `name` is a prefix.
   */
  gatewayFence: BaselineObjectTemplate;
  /** Once, on knative-local-gateway: ALLOW the system namespaces, and any request to a port that is not in `gatewayPolicy.localPorts`. */
  platformGatewayPolicy: BaselineObjectTemplate;
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

/** What a rule's violation does (VAP's validationActions, Gatekeeper's enforcementAction). */
export type EnforcementAction = 'deny' | 'warn' | 'audit';

/**
 * One override of the default action. Each list narrows where it applies
 * (absent: everywhere); the most specific matching override wins:
 * namespaces > tenants > rules only (src/engine/enforcement.ts).
 */
export interface EnforcementOverride {
  /** Rule ids, or prefixes ending in `*` (`TG-WORKLOAD-*`, `*`). */
  rules: string[];
  tenants?: string[];
  namespaces?: string[];
  action: EnforcementAction;
}

export interface EnforcementConfig {
  /** Default for every rule (deny: refuse, as before enforcement existed). */
  action: EnforcementAction;
  overrides: EnforcementOverride[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/**
 * A platform-owned waiver of some rules for some objects, until `expires`.
 * Isolation rules (docs/enforcement.md) are waived only along one exact
 * cross-tenant `path`.
 */
export interface ExceptionSpec {
  /** Shown in warnings, logs and reports (default: `exceptions[i]`). */
  name?: string;
  rules: string[];
  tenants?: string[];
  namespaces?: string[];
  /** `Kind` (any group) or `group/Kind`; `Namespace` for namespaces. */
  kinds?: string[];
  names?: string[];
  selector?: LabelSelector;
  /** The one cross-tenant path an isolation-rule exception waives: tenant `from` reaching tenant `to`. */
  path?: Peering;
  reason: string;
  /** `YYYY-MM-DD` (valid through that day, UTC) or an RFC 3339 time. */
  expires: string;
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
  baseline: BaselineConfig;
  clusterNetwork: ClusterNetwork;
  /**
   * A container that may run as root can setuid(1337) at run time and leave
   * the sidecar's capture. `drop` (default): add allowPrivilegeEscalation:
   * false and the SETUID/SETGID drop where missing; `deny`: refuse instead
   * (src/engine/sidecar-setuid-guard.ts).
   */
  rootContainers: 'deny' | 'drop';
  /** Facts of the Istio install the model cannot read from the cluster's objects. */
  istio: IstioFacts;
  /**
   * Proxies besides the activator and knative-local-gateway (which are always
   * modelled) that every tenant can reach and that forward with their own
   * mesh identity: the external ingress gateway, a shared API or egress
   * gateway. Each is judged like knative-local-gateway: any caller, with its
   * own identity and any Host, reaches it; its own policies alone decide.
   */
  sharedHops: SharedHop[];
  /**
   * Namespaces only platform admins may create, relabel or adopt, besides the
   * ones the config trusts by name (system, mesh root, platform identities'
   * namespaces, the activator's): src/engine/reserved-names.ts.
   */
  reservedNamespaces: string[];
  /** Per-rule actions for rolling tenant-guard out on a running cluster (default: deny everything). */
  enforcement: EnforcementConfig;
  /** Waivers owned by the platform, with an expiry. */
  exceptions: ExceptionSpec[];
}

export interface SharedHop {
  /** How messages name it. */
  name: string;
  namespace: string;
  /** The proxy pods' labels (what AuthorizationPolicy selectors match). */
  labels: Record<string, string>;
  /** The service account it forwards as (`<trustDomain>/ns/<namespace>/sa/<serviceAccount>`). */
  serviceAccount: string;
  /** Its listener ports, as policies on it see destination.port. */
  ports: string[];
  /**
   * `any` (default): it may forward a request into any namespace, whatever
   * the Host. `host`: it forwards a cluster-local Host of a namespace only
   * into that namespace (net-istio's routing), so Host-pinned rules on it
   * keep tenants apart.
   */
  routesBy: 'any' | 'host';
  /** A listener accepts callers without a mesh identity (plain HTTP, SIMPLE TLS). */
  acceptsPlaintext: boolean;
  /** It runs with a sidecar, so PeerAuthentication decides what its callers present. */
  sidecar: boolean;
}

export interface IstioFacts {
  /**
   * istiod runs with ISTIO_GATEWAY_STRIP_HOST_PORT=true: gateways strip a
   * numeric port from the Host before policies and routing, and route a
   * Host only by its exact domains. Off (Istio's default), a gateway routes
   * `<host>:<anything>` by the domain `<host>:*`, so a suffix Host pattern of
   * one tenant's policy matches a Host routed into another tenant
   * (`hello.tenant-1:x.tenant-2`): no AuthorizationPolicy keeps tenants apart
   * on a shared gateway by Host then.
   */
  gatewayStripHostPort: boolean;
}
