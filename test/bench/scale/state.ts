// Cluster states shaped like the reference setup (test/fixtures/reference,
// from ReToCode/knative-multitenancy), scaled to N tenants, for the scale
// benchmark. Per tenant: 5 namespaces, each with a STRICT PeerAuthentication,
// a namespace-wide ALLOW for the tenant's own namespaces plus the system
// namespaces, 3 per-app ALLOW policies and a Knative Service; one activator
// policy (hardened: header pin and fence; seed: the seed reference's
// Host-scoped ALLOW alone) in knative-serving. Self-contained on purpose (plain objects, no
// imports from src/): the benchmark drives the public interfaces only, so it
// measures the mesh model before and after a rewrite of its internals.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** A Kubernetes object as written to a manifest. */
export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

export const TENANT_LABEL = 'tenant-guard.dev/tenant';
export const NAMESPACES_PER_TENANT = 5;
/** The per-app ALLOW policies of each namespace select these `app` labels; the Knative Service is the first app. */
export const APPS = ['web', 'api', 'worker'] as const;
export const SYSTEM_NAMESPACES = ['knative-serving', 'istio-system'] as const;
const TRUST_DOMAIN = 'cluster.local';
const AP = 'security.istio.io/v1beta1';

export const tenantName = (i: number): string => `tenant-${i}`;
export const namespacesOfTenant = (i: number): string[] => Array.from({ length: NAMESPACES_PER_TENANT }, (_, j) => `tenant-${i}-ns${j + 1}`);
/** Each tenant's admin, as `--as`/`--as-group` and AdmissionReview userInfo name it. */
export const adminOf = (i: number): { user: string; group: string } => ({ user: `admin-${i}`, group: `tenant-${i}-admins` });

/** The namespace-wide ALLOW of a tenant namespace: the reference `allow-traffic-to-tenant-X`, for all of the tenant's namespaces. */
export function namespacePolicy(tenant: number, ns: string): Obj {
  return {
    apiVersion: AP,
    kind: 'AuthorizationPolicy',
    metadata: { name: 'allow-tenant-and-platform', namespace: ns },
    spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: [...namespacesOfTenant(tenant), ...SYSTEM_NAMESPACES] } }] }] },
  };
}

/** A per-app ALLOW: the app's clients in the same namespace, by service account, on its API paths. */
function appPolicy(ns: string, app: string): Obj {
  return {
    apiVersion: AP,
    kind: 'AuthorizationPolicy',
    metadata: { name: `allow-${app}`, namespace: ns },
    spec: {
      selector: { matchLabels: { app } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: [`${TRUST_DOMAIN}/ns/${ns}/sa/${app}-client`] } }],
          to: [{ operation: { methods: ['GET', 'POST'], paths: [`/${app}/*`] } }],
        },
      ],
    },
  };
}

/**
 * The per-tenant activator rule of the reference setup, hardened: the Host
 * pairing of the reference plus the `knative-serving-namespace` header pinned
 * to the tenant's namespaces (the activator routes by that header; see
 * docs/authorization-policy.md, "Activator routing").
 */
export function activatorPolicy(tenant: number): Obj {
  const own = namespacesOfTenant(tenant);
  return {
    apiVersion: AP,
    kind: 'AuthorizationPolicy',
    metadata: { name: `allow-${tenantName(tenant)}-to-activator`, namespace: 'knative-serving' },
    spec: {
      selector: { matchLabels: { app: 'activator' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { namespaces: own } }],
          to: [{ operation: { hosts: own.map((ns) => `*.${ns}.svc.${TRUST_DOMAIN}`) } }],
          when: [{ key: 'request.headers[knative-serving-namespace]', values: own }],
        },
      ],
    },
  };
}

/**
 * The tenant's fence on the activator, as examples/reference-hardened and
 * tenant-guard's baseline have it: nobody but the tenant and the platform may
 * name its namespaces in `knative-serving-namespace` (what holds a repeated
 * header under Envoy's value-by-value matching; docs/baseline.md).
 */
export function activatorFence(tenant: number): Obj {
  const own = namespacesOfTenant(tenant);
  return {
    apiVersion: AP,
    kind: 'AuthorizationPolicy',
    metadata: { name: `fence-${tenantName(tenant)}-at-activator`, namespace: 'knative-serving' },
    spec: {
      selector: { matchLabels: { app: 'activator' } },
      action: 'DENY',
      rules: [{ from: [{ source: { notNamespaces: [...own, ...SYSTEM_NAMESPACES] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: own }] }],
    },
  };
}

export function namespaceObject(name: string, tenant?: number): Obj {
  const labels: Record<string, string> = { 'istio-injection': 'enabled' };
  if (tenant !== undefined) labels[TENANT_LABEL] = tenantName(tenant);
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

function strict(ns: string): Obj {
  return { apiVersion: AP, kind: 'PeerAuthentication', metadata: { name: 'default', namespace: ns }, spec: { mtls: { mode: 'STRICT' } } };
}

/** A Knative Service as the reference's `svc-activator-in-path`, labelled as the tenant admin's write left it. */
export function knativeService(tenant: number, ns: string, name: string, withTenantLabels = true): Obj {
  const tenantLabels: Record<string, string> = withTenantLabels ? { [TENANT_LABEL]: tenantName(tenant) } : {};
  const templateLabels: Record<string, string> = { app: APPS[0], ...tenantLabels, ...(withTenantLabels ? { 'sidecar.istio.io/inject': 'true' } : {}) };
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels: { 'networking.knative.dev/visibility': 'cluster-local', ...tenantLabels } },
    spec: {
      template: {
        metadata: { labels: templateLabels, annotations: { 'autoscaling.knative.dev/target-burst-capacity': '-1' } },
        spec: { containers: [{ image: 'kennethreitz/httpbin', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
      },
    },
  };
}

/**
 * The seed reference's per-tenant activator rule, as published
 * (../shared/reference kind/config allow-tenant-N-to-activator): the tenant's
 * namespaces, with a Host of one of them, and nothing pinning the routing
 * header. One Host-scoped ALLOW per tenant is the shape that made the old
 * search enumerate a cross product of witnesses (issue 17, "No search cliff").
 */
export function seedActivatorPolicy(tenant: number): Obj {
  const own = namespacesOfTenant(tenant);
  return {
    apiVersion: AP,
    kind: 'AuthorizationPolicy',
    metadata: { name: `allow-${tenantName(tenant)}-to-activator`, namespace: 'knative-serving' },
    spec: {
      selector: { matchLabels: { app: 'activator' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { namespaces: own } }], to: [{ operation: { hosts: own.map((ns) => `*.${ns}.svc.${TRUST_DOMAIN}`) } }] }],
    },
  };
}

/**
 * How the tenants' activator policies look: `hardened`, the header pin plus
 * the fence (examples/reference-hardened, tenant-guard's baseline);
 * `seed`, the seed reference's Host-scoped ALLOW alone.
 */
export type ActivatorShape = 'hardened' | 'seed';
export const ACTIVATOR_SHAPES: readonly ActivatorShape[] = ['hardened', 'seed'];

/**
 * What the platform installs once: system namespaces, knative-serving's STRICT mode and activator rule, the local
 * gateway, and the gateway's policy (examples/reference-hardened: the platform and the public ingress only, since
 * every caller reaches the gateway's pod with its own identity and any Host).
 */
function platformObjects(): Obj[] {
  return [
    namespaceObject('knative-serving'),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } },
    strict('knative-serving'),
    {
      apiVersion: AP,
      kind: 'AuthorizationPolicy',
      metadata: { name: 'allow-traffic-to-activator', namespace: 'knative-serving' },
      spec: { selector: { matchLabels: { app: 'activator' } }, action: 'ALLOW', rules: [{ from: [{ source: { namespaces: [...SYSTEM_NAMESPACES] } }] }] },
    },
    {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'Gateway',
      metadata: {
        name: 'knative-local-gateway',
        namespace: 'knative-serving',
        labels: { 'networking.knative.dev/ingress-provider': 'istio', 'app.kubernetes.io/name': 'knative-serving' },
      },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [{ hosts: ['*'], tls: { mode: 'ISTIO_MUTUAL' }, port: { name: 'https', number: 8012, protocol: 'HTTPS' } }],
      },
    },
    {
      apiVersion: AP,
      kind: 'AuthorizationPolicy',
      metadata: { name: 'allow-platform-through-gateway', namespace: 'istio-system' },
      spec: {
        selector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { namespaces: [...SYSTEM_NAMESPACES] } }] }, { to: [{ operation: { notPorts: ['8012', '8081'] } }] }],
      },
    },
  ];
}

/** Everything of tenant `i` except its Namespace objects. */
function tenantObjects(i: number, shape: ActivatorShape): Obj[] {
  const out: Obj[] = shape === 'seed' ? [seedActivatorPolicy(i)] : [activatorPolicy(i), activatorFence(i)];
  for (const ns of namespacesOfTenant(i)) {
    out.push(strict(ns), namespacePolicy(i, ns), ...APPS.map((app) => appPolicy(ns, app)), knativeService(i, ns, APPS[0]));
  }
  return out;
}

export interface ScaleState {
  tenants: number;
  shape: ActivatorShape;
  /** The tenancy config (a TenancyConfig document). */
  config: Record<string, unknown>;
  /** Platform objects, the system namespaces included. */
  platform: Obj[];
  /** Every tenant namespace, labelled with its tenant and for sidecar injection. */
  namespaces: Obj[];
  /** Per tenant, index 0 for tenant-1: its policies, PeerAuthentications and Knative Services. */
  perTenant: Obj[][];
}

export function generateScaleState(tenants: number, shape: ActivatorShape = 'hardened'): ScaleState {
  if (!Number.isInteger(tenants) || tenants < 2) throw new Error(`the scale state needs at least 2 tenants (a cross-tenant path needs two), not ${tenants}`);
  const ids = Array.from({ length: tenants }, (_, k) => k + 1);
  return {
    tenants,
    shape,
    config: {
      apiVersion: 'tenant-guard.dev/v1alpha1',
      kind: 'TenancyConfig',
      tenantLabel: TENANT_LABEL,
      systemNamespaces: [...SYSTEM_NAMESPACES],
      meshRootNamespace: 'istio-system',
      drainPorts: ['8022'],
      platformAdmins: { users: ['platform-admin'], groups: ['system:masters'] },
      // Ownership by label only, as a cluster with many tenants would do it: the config names the admins.
      tenants: ids.map((i) => ({ name: tenantName(i), admins: { users: [adminOf(i).user], groups: [adminOf(i).group] } })),
    },
    platform: platformObjects(),
    namespaces: ids.flatMap((i) => namespacesOfTenant(i).map((ns) => namespaceObject(ns, i))),
    perTenant: ids.map((i) => tenantObjects(i, shape)),
  };
}

export function allObjects(s: ScaleState): Obj[] {
  return [...s.platform, ...s.namespaces, ...s.perTenant.flat()];
}

function yamlDocs(objs: Obj[]): string {
  return objs.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

export interface WrittenState {
  /** `--state` directory: files sort so namespaces come before what lives in them (`check -f` submits in that order). */
  stateDir: string;
  configFile: string;
}

/** Multi-document YAML under `dir`: state/00-platform.yaml, 01-namespaces.yaml, 02-tenants/tenant-N.yaml, and tenancy.yaml. */
export function writeScaleState(s: ScaleState, dir: string): WrittenState {
  const stateDir = join(dir, 'state');
  const tenantsDir = join(stateDir, '02-tenants');
  mkdirSync(tenantsDir, { recursive: true });
  writeFileSync(join(stateDir, '00-platform.yaml'), yamlDocs(s.platform));
  writeFileSync(join(stateDir, '01-namespaces.yaml'), yamlDocs(s.namespaces));
  s.perTenant.forEach((objs, k) => writeFileSync(join(tenantsDir, `${tenantName(k + 1)}.yaml`), yamlDocs(objs)));
  const configFile = join(dir, 'tenancy.yaml');
  writeFileSync(configFile, stringify(s.config, { lineWidth: 0, aliasDuplicateObjects: false }));
  return { stateDir, configFile };
}
