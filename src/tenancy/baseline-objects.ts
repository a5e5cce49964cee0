import { GK, type ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { Tenancy } from './tenancy.js';
import type { KubeObject } from '../kube/objects.js';

// The baseline: the objects tenant-guard keeps so that a tenant namespace is
// closed to other tenants from its first second (docs/baseline.md). Pure: the
// reconciler (src/controllers/baseline.ts) writes them, the engine's
// open-window rule and the reachability model read them.

/** Every object tenant-guard writes carries this label; nothing without it is ever touched. */
export const MANAGED_BY_LABEL = 'tenant-guard.dev/managed-by';
export const MANAGED_BY_VALUE = 'tenant-guard';
/** Which baseline object it is: one of BaselineRole. */
export const BASELINE_ROLE_LABEL = 'tenant-guard.dev/baseline';
/** The tenant a baseline object is kept for (absent on the platform activator policy). */
export const BASELINE_TENANT_LABEL = 'tenant-guard.dev/baseline-tenant';

export type BaselineRole = 'peer-authentication' | 'authorization-policy' | 'activator' | 'activator-pin' | 'platform-activator' | 'gateway' | 'gateway-fence' | 'platform-gateway';
const ROLES: ReadonlySet<string> = new Set<BaselineRole>([
  'peer-authentication',
  'authorization-policy',
  'activator',
  'activator-pin',
  'platform-activator',
  'gateway',
  'gateway-fence',
  'platform-gateway',
]);

// Knative's activator picks the revision from this header, not from the Host
// (knative.dev/serving pkg/activator/handler/handler.go ServeHTTP:
// pkghttp.LastHeaderValue(r.Header, activator.RevisionHeaderNamespace));
// pinning it is what stops a tenant from pairing an allowed Host with another
// tenant's namespace. The header may be repeated and Envoy's matching of a
// repeated header changed in 2026; activatorPinFor covers both readings.
export const ACTIVATOR_NAMESPACE_HEADER = 'request.headers[knative-serving-namespace]';

const SECURITY_API = 'security.istio.io/v1';

export function isManaged(obj: Pick<KubeObject, 'metadata'> | undefined): boolean {
  return obj?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

export function baselineRoleOf(obj: Pick<KubeObject, 'metadata'>): BaselineRole | undefined {
  const r = obj.metadata?.labels?.[BASELINE_ROLE_LABEL];
  return r !== undefined && ROLES.has(r) ? (r as BaselineRole) : undefined;
}

/** An owner a baseline object is garbage-collected with: a Namespace. */
export interface NamespaceOwner {
  name: string;
  uid: string;
}

function labels(role: BaselineRole, tenant?: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    [BASELINE_ROLE_LABEL]: role,
    ...(tenant ? { [BASELINE_TENANT_LABEL]: tenant } : {}),
  };
}

/**
 * Namespaced dependents may have cluster-scoped owners, and Namespaces are
 * cluster-scoped; the garbage collector deletes a dependent once all its
 * owners are gone (https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/).
 * No blockOwnerDeletion: setting it needs update on namespaces/finalizers.
 */
function ownerReferences(owners: NamespaceOwner[]): Record<string, unknown>[] {
  return [...owners]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((o) => ({ apiVersion: 'v1', kind: 'Namespace', name: o.name, uid: o.uid }));
}

function meta(name: string, namespace: string, role: BaselineRole, tenant: string | undefined, owners: NamespaceOwner[]) {
  const m: KubeObject['metadata'] = { name, namespace, labels: labels(role, tenant) };
  if (owners.length > 0) m.ownerReferences = ownerReferences(owners);
  return m;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** A fence's callers: everyone but the tenant's namespaces, those of the tenants peered into it and the platform's. */
function fenceExempting(config: TenancyConfig, tenantNamespaces: string[], peerNamespaces: string[]): unknown[] {
  return [{ source: { notNamespaces: sorted([...tenantNamespaces, ...peerNamespaces, ...config.systemNamespaces]) } }];
}

/** An AuthorizationPolicy of a shared workload (the activator, the gateway), selected by its labels. */
function selectedPolicy(metadata: KubeObject['metadata'], selector: Record<string, string>, action: 'ALLOW' | 'DENY', rules: unknown[]): KubeObject {
  return { apiVersion: SECURITY_API, kind: 'AuthorizationPolicy', metadata, spec: { selector: { matchLabels: { ...selector } }, action, rules } };
}

/**
 * The baseline of one tenant namespace: a STRICT PeerAuthentication and a
 * namespace-wide ALLOW AuthorizationPolicy admitting exactly the tenant's
 * namespaces and the system namespaces (by name, no wildcard). `owner`, when
 * given, is the Namespace object the objects are garbage-collected with.
 */
export function baselineForNamespace(config: TenancyConfig, tenant: string, namespace: string, tenantNamespaces: string[], owner?: NamespaceOwner): KubeObject[] {
  const b = config.baseline;
  const owners = owner ? [owner] : [];
  const out: KubeObject[] = [];
  if (b.peerAuthentication.enabled) {
    out.push({
      apiVersion: SECURITY_API,
      kind: 'PeerAuthentication',
      metadata: meta(b.peerAuthentication.name, namespace, 'peer-authentication', tenant, owners),
      spec: { mtls: { mode: 'STRICT' } },
    });
  }
  if (b.authorizationPolicy.enabled) {
    out.push({
      apiVersion: SECURITY_API,
      kind: 'AuthorizationPolicy',
      metadata: meta(b.authorizationPolicy.name, namespace, 'authorization-policy', tenant, owners),
      spec: {
        action: 'ALLOW',
        rules: [{ from: [{ source: { namespaces: [...sorted([...tenantNamespaces, namespace]), ...sorted(config.systemNamespaces)] } }] }],
      },
    });
  }
  return out;
}

/** Name of a tenant's activator policy. */
export function activatorPolicyName(config: TenancyConfig, tenant: string): string {
  return `${config.baseline.activatorPolicy.name}${tenant}`;
}

/**
 * A tenant's policy on the activator, hardened: callers from the tenant's
 * namespaces, with a Host of one of them, and the knative-serving-namespace
 * header pinned to them. `owners`: the tenant's existing Namespaces (the
 * policy is collected once the last one is gone).
 */
export function activatorPolicyFor(config: TenancyConfig, tenant: string, tenantNamespaces: string[], owners: NamespaceOwner[] = []): KubeObject {
  const a = config.baseline.activatorPolicy;
  const ns = sorted(tenantNamespaces);
  return selectedPolicy(meta(activatorPolicyName(config, tenant), a.namespace, 'activator', tenant, owners), a.selector, 'ALLOW', [
        {
          from: [{ source: { namespaces: ns } }],
          to: [{ operation: { hosts: ns.map((n) => `*.${n}.svc.${config.baseline.clusterDomain}`) } }],
          when: [{ key: ACTIVATOR_NAMESPACE_HEADER, values: ns }],
        },
      ]);
}

/** The namespaces of the tenants the config peers into `tenant` (config `peerings`, from -> to). */
export function peerNamespacesOf(config: TenancyConfig, tenancy: Tenancy, tenant: string): string[] {
  const peers = new Set(config.peerings.filter((p) => p.to === tenant && p.from !== tenant).map((p) => p.from));
  return sorted([...peers].flatMap((p) => tenancy.namespacesOf(p).filter((n) => !tenancy.isSystemNamespace(n))));
}

/** Name of a tenant's header-pin DENY policy. */
export function activatorPinName(config: TenancyConfig, tenant: string): string {
  return `${config.baseline.activatorHeaderPin.name}${tenant}`;
}

/**
 * The pin, a DENY fencing the tenant's namespaces on the activator: every
 * caller outside the tenant, the system namespaces and the tenants peered into
 * it whose `knative-serving-namespace` carries one of the tenant's namespaces.
 *
 * The header may be repeated and the activator routes by one of its values
 * (the last: pkghttp.LastHeaderValue; the first in releases reading it with
 * Header.Get). Envoy before its fix for CVE-2026-26308 matches the
 * comma-joined values, which never equal one of the names the ALLOW pins, so
 * only a single value passes the ALLOW and the fence denies it if it is
 * foreign. Since that fix Envoy matches value by value, any one value matching
 * (Istio translates `values` to an OR of header matchers and `notValues` to
 * NOT of that OR: pilot/pkg/security/authz/model/model.go), so a caller
 * sending its own namespace next to another tenant's passes its own ALLOW
 * and any `notValues` pin on its side; only a rule on the target's name
 * itself, as here, denies it whichever value the activator routes by.
 *
 * (An earlier release kept a first rule denying the tenant's own callers any
 * other value, `notValues`: under value-by-value matching it stops nothing,
 * under joined matching the ALLOW already does. test/unit/controllers/
 * activator-header-matching.test.ts checks the activator's policies under
 * both readings.)
 */
export function activatorPinFor(
  config: TenancyConfig,
  tenant: string,
  tenantNamespaces: string[],
  owners: NamespaceOwner[] = [],
  peerNamespaces: string[] = [],
): KubeObject {
  const a = config.baseline.activatorPolicy;
  const ns = sorted(tenantNamespaces);
  return selectedPolicy(meta(activatorPinName(config, tenant), a.namespace, 'activator-pin', tenant, owners), a.selector, 'DENY', [
    { from: fenceExempting(config, ns, peerNamespaces), when: [{ key: ACTIVATOR_NAMESPACE_HEADER, values: ns }] },
  ]);
}

/**
 * The gateways' path into the activator: ALLOW from the system namespaces.
 * Needed as soon as any ALLOW selects the activator (Istio then denies what
 * no ALLOW admits), which the tenants' activator policies do. The gateways
 * themselves need nothing: the tenant namespace policy admits istio-system.
 */
export function platformActivatorPolicy(config: TenancyConfig): KubeObject {
  const a = config.baseline.activatorPolicy;
  return selectedPolicy(meta(config.baseline.platformActivatorPolicy.name, a.namespace, 'platform-activator', undefined, []), a.selector, 'ALLOW', [{ from: [{ source: { namespaces: sorted(config.systemNamespaces) } }] }]);
}

// net-istio routes a cluster-local Knative Service on knative-local-gateway
// by `<name>.<ns>`, `<name>.<ns>.svc` and `<name>.<ns>.svc.<clusterDomain>`
// (knative.dev/networking pkg/ingress ExpandedHosts; net-istio binds those
// hosts of a ClusterLocal rule to the local gateway), and a client may name
// the gateway Service's port 80 in the Host. Istio matches `hosts` against
// :authority case-insensitively and literally, port included
// (src/mesh/istio-match.ts hostMatch), so each form comes with `:80` too.
const GATEWAY_SERVICE_PORT = '80';

/**
 * The Host patterns that route into `namespaces` on knative-local-gateway.
 * `long` leaves out `*.<ns>`: that suffix also matches the longer forms of
 * every namespace when `<ns>` is `svc` or a label of the cluster domain, so a
 * fence on it would deny other tenants their own Hosts. It needs no fence: a
 * two-label Host `x.<ns>` ends with `.<other>` only when `<other>` is `<ns>`.
 */
export function tenantHostPatterns(config: TenancyConfig, namespaces: string[], forms: 'all' | 'long'): string[] {
  const d = config.baseline.clusterDomain;
  return sorted(namespaces).flatMap((n) => {
    const hosts = [...(forms === 'all' ? [`*.${n}`] : []), `*.${n}.svc`, `*.${n}.svc.${d}`];
    return hosts.flatMap((h) => [h, `${h}:${GATEWAY_SERVICE_PORT}`]);
  });
}

/** Name of a tenant's ALLOW on knative-local-gateway. */
export function gatewayPolicyName(config: TenancyConfig, tenant: string): string {
  return `${config.baseline.gatewayPolicy.name}${tenant}`;
}

/** Name of a tenant's fence on knative-local-gateway. */
export function gatewayFenceName(config: TenancyConfig, tenant: string): string {
  return `${config.baseline.gatewayFence.name}${tenant}`;
}

/**
 * A tenant's ALLOW on knative-local-gateway: its namespaces' callers, for the
 * Hosts of its namespaces only. Every caller reaches the gateway's pod with
 * its own identity and any Host, and the gateway forwards as itself, which
 * every tenant admits: without this, any caller names any tenant's Host
 * (docs/authorization-policy.md, "The four data paths").
 */
export function gatewayPolicyFor(config: TenancyConfig, tenant: string, tenantNamespaces: string[], owners: NamespaceOwner[] = []): KubeObject {
  const g = config.baseline.gatewayPolicy;
  const ns = sorted(tenantNamespaces);
  return selectedPolicy(meta(gatewayPolicyName(config, tenant), g.namespace, 'gateway', tenant, owners), g.selector, 'ALLOW', [{ from: [{ source: { namespaces: ns } }], to: [{ operation: { hosts: tenantHostPatterns(config, ns, 'all') } }] }]);
}

/**
 * The tenant's fence on knative-local-gateway: DENY every caller outside the
 * tenant, its peers and the system namespaces the Hosts of the tenant's
 * namespaces. Another tenant's ALLOW can match them when its own namespace is
 * `svc` or a label of the cluster domain (`*.svc` matches `x.tenant-1.svc`);
 * the fence denies on the target's Hosts themselves, as the activator's fence
 * does on its routing header.
 */
export function gatewayFenceFor(
  config: TenancyConfig,
  tenant: string,
  tenantNamespaces: string[],
  owners: NamespaceOwner[] = [],
  peerNamespaces: string[] = [],
): KubeObject {
  const g = config.baseline.gatewayPolicy;
  const ns = sorted(tenantNamespaces);
  return selectedPolicy(meta(gatewayFenceName(config, tenant), g.namespace, 'gateway-fence', tenant, owners), g.selector, 'DENY', [
        {
          from: fenceExempting(config, ns, peerNamespaces),
          to: [{ operation: { hosts: tenantHostPatterns(config, ns, 'long') } }],
        },
      ]);
}

/**
 * The platform's way through knative-local-gateway's pod: callers of the
 * system namespaces, and every request to a port other than the local
 * gateway's listeners. The pod serves the public ingress too (net-istio's
 * knative-ingress-gateway, the same istio-ingressgateway), whose callers come
 * from outside the mesh: once the tenants' ALLOWs select the pod, Istio
 * denies whatever no ALLOW admits, the public listeners included.
 */
export function platformGatewayPolicy(config: TenancyConfig, localPorts: string[] = config.baseline.gatewayPolicy.localPorts): KubeObject {
  const g = config.baseline.gatewayPolicy;
  return selectedPolicy(meta(config.baseline.platformGatewayPolicy.name, g.namespace, 'platform-gateway', undefined, []), g.selector, 'ALLOW', [{ from: [{ source: { namespaces: sorted(config.systemNamespaces) } }] }, { to: [{ operation: { notPorts: [...localPorts] } }] }]);
}

/**
 * The local gateway's listener ports: the config's, and those of net-istio's
 * knative-local-gateway Gateway (in Knative Serving's namespace) when the
 * state holds it; a port of either is never the public ingress's.
 */
export function localGatewayPorts(config: TenancyConfig, state: ClusterState): string[] {
  const gw = state.get(GK.Gateway, config.baseline.activatorPolicy.namespace, 'knative-local-gateway');
  const servers: unknown = gw?.spec?.servers;
  const fromGateway = Array.isArray(servers) ? servers.map((s) => s?.port?.number).filter((n): n is number | string => typeof n === 'number' || (typeof n === 'string' && /^[0-9]+$/.test(n))) : [];
  return [...new Set([...config.baseline.gatewayPolicy.localPorts, ...fromGateway.map(String)])].sort((a, b) => Number(a) - Number(b));
}

/** The tenants that get an ALLOW (and fence) on the gateway: all of them where istiod strips the Host's port, none otherwise. */
function gatewayTenantsOf(config: TenancyConfig, byTenant: Map<string, NamespaceOwner[]>): [string, NamespaceOwner[]][] {
  return gatewayAdmitsTenants(config) ? [...byTenant].sort(([a], [b]) => a.localeCompare(b)) : [];
}

/**
 * Whether the baseline admits tenants on knative-local-gateway for their own
 * Hosts. Only where istiod strips the Host's port (config
 * `istio.gatewayStripHostPort`): otherwise a tenant's `*.<ns>` matches
 * `hello.<other>:x.<ns>`, which the gateway routes into `<other>`, and no
 * fence can name every port string. Tenants do not need the gateway's pod:
 * their own sidecars route cluster-local Hosts (net-istio binds them to the
 * `mesh` gateway too), so the gateway is then the platform's alone.
 */
export function gatewayAdmitsTenants(config: TenancyConfig): boolean {
  return config.baseline.gatewayPolicy.enabled && config.istio?.gatewayStripHostPort === true;
}

function isTerminating(ns: KubeObject): boolean {
  return !!ns.metadata.deletionTimestamp || (ns as { status?: { phase?: string } }).status?.phase === 'Terminating';
}

/**
 * Every tenant namespace that exists in the state (and is not being deleted:
 * the API server refuses creates there), with its tenant. A namespace named in
 * the config but absent from the state gets nothing yet: there is nowhere to
 * write its objects.
 */
export function baselineNamespaces(config: TenancyConfig, state: ClusterState): Map<string, { tenant: string; owner?: NamespaceOwner }> {
  const tenancy = new Tenancy(config, state);
  const out = new Map<string, { tenant: string; owner?: NamespaceOwner }>();
  for (const [ns, tenant] of tenancy.allTenantNamespaces()) {
    const obj = state.get(GK.Namespace, undefined, ns);
    if (!obj || isTerminating(obj)) continue;
    const uid = obj.metadata.uid;
    out.set(ns, typeof uid === 'string' && uid ? { tenant, owner: { name: ns, uid } } : { tenant });
  }
  return out;
}

/**
 * The desired baseline objects for the whole state: per existing tenant
 * namespace its PeerAuthentication and AuthorizationPolicy, per tenant with at
 * least one existing namespace its gateway ALLOW and fence and its activator
 * policy and pin, and the platform's gateway and activator policies when any
 * tenant has them. Empty when the baseline is off. In the order they are
 * written: none of them opens a path the ones before left closed.
 */
export function baselineObjectsFor(config: TenancyConfig, state: ClusterState): KubeObject[] {
  if (!config.baseline.enabled) return [];
  const tenancy = new Tenancy(config, state);
  const namespaces = baselineNamespaces(config, state);
  const byTenant = new Map<string, NamespaceOwner[]>();
  const tenantNamespaces = (t: string) => tenancy.namespacesOf(t).filter((n) => !tenancy.isSystemNamespace(n));
  const out: KubeObject[] = [];
  for (const [ns, { tenant, owner }] of [...namespaces].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(...baselineForNamespace(config, tenant, ns, tenantNamespaces(tenant), owner));
    const owners = byTenant.get(tenant) ?? [];
    if (owner) owners.push(owner);
    byTenant.set(tenant, owners);
  }
  // The gateway's first: the activator's platform ALLOW admits istio-system, and
  // with the gateway still open that would admit every caller forwarded by it.
  if (config.baseline.gatewayPolicy.enabled) {
    // Tenants' own Hosts only where the gateway strips the port: otherwise it routes
    // `<host>:<anything>`, which any suffix Host pattern matches (src/mesh/host-ports.ts), and
    // tenants keep to their sidecars' own routes (net-istio binds cluster-local hosts to `mesh` too).
    // The platform's first: once a tenant's ALLOW selects the pod, Istio denies what no ALLOW admits, the public ingress included.
    if (config.baseline.platformGatewayPolicy.enabled && byTenant.size > 0) out.push(platformGatewayPolicy(config, localGatewayPorts(config, state)));
    for (const [tenant, owners] of gatewayTenantsOf(config, byTenant)) {
      out.push(gatewayPolicyFor(config, tenant, tenantNamespaces(tenant), owners));
      if (config.baseline.gatewayFence.enabled) out.push(gatewayFenceFor(config, tenant, tenantNamespaces(tenant), owners, peerNamespacesOf(config, tenancy, tenant)));
    }
  }
  if (config.baseline.activatorPolicy.enabled) {
    for (const [tenant, owners] of [...byTenant].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(activatorPolicyFor(config, tenant, tenantNamespaces(tenant), owners));
      if (config.baseline.activatorHeaderPin.enabled) out.push(activatorPinFor(config, tenant, tenantNamespaces(tenant), owners, peerNamespacesOf(config, tenancy, tenant)));
    }
    if (config.baseline.platformActivatorPolicy.enabled && byTenant.size > 0) out.push(platformActivatorPolicy(config));
  }
  return out;
}
