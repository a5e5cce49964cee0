// The closed world of mesh-affecting kinds. Every kind of the API groups
// below can change routing, capture or what a proxy does; for tenants each is
// either judged by a rule or refused (TG-KIND-UNJUDGED, src/engine/unjudged-kinds.ts).
// The table is the documentation (docs/rules.md, "Kinds") and what
// test/unit/engine/mesh-kinds.test.ts checks against the served kinds of the
// real CRDs: a kind a new Istio, Knative or Gateway API release adds is
// refused until someone writes its row and its rule.

/** Groups whose every kind is judged or refused for tenants. */
export const MESH_GROUPS: readonly string[] = [
  'networking.istio.io',
  'security.istio.io',
  'telemetry.istio.io',
  'extensions.istio.io',
  'networking.k8s.io',
  'gateway.networking.k8s.io',
  // Gateway API's experimental kinds (XBackend, XMesh, ...): the same family, refused like the rest.
  'gateway.networking.x-k8s.io',
  'serving.knative.dev',
  'networking.internal.knative.dev',
  'autoscaling.internal.knative.dev',
];

const MESH_GROUP_SET: ReadonlySet<string> = new Set(MESH_GROUPS);

export function isMeshGroup(group: string): boolean {
  return MESH_GROUP_SET.has(group);
}

export interface KindRow {
  group: string;
  kind: string;
  /** Plural resource name. */
  resource: string;
  clusterScoped?: boolean;
  /**
   * judged: a handler with the rules named; refused: no handler, TG-KIND-UNJUDGED for tenants
   * (a warning for platform admins); every kind's status is refused to tenants either way.
   */
  treatment: 'judged' | 'refused';
  /** Rules that judge it (beyond TG-SYSTEM-NAMESPACE-WRITE and TG-TENANT-FOREIGN-NAMESPACE, which judge every kind). */
  rules: string[];
  /** What the kind really does and what is done with it. */
  what: string;
}

const UNJUDGED = 'TG-KIND-UNJUDGED';
const ROUTE_RULES = ['TG-GATEWAYAPI-PARENT', 'TG-GATEWAYAPI-BACKEND'];

export const KIND_TABLE: readonly KindRow[] = [
  // networking.istio.io
  { group: 'networking.istio.io', kind: 'DestinationRule', resource: 'destinationrules', treatment: 'judged', rules: ['TG-DESTRULE-TLS-MODE', 'TG-ISTIO-FOREIGN-HOST', 'TG-ISTIO-EXPORT-TO', 'TG-ISTIO-REVISION'], what: 'client-side TLS and load balancing toward a host: only ISTIO_MUTUAL toward the mesh, only own hosts' },
  { group: 'networking.istio.io', kind: 'EnvoyFilter', resource: 'envoyfilters', treatment: 'judged', rules: ['TG-ISTIO-ENVOYFILTER'], what: 'raw patches of the Envoy configuration: platform only' },
  { group: 'networking.istio.io', kind: 'Gateway', resource: 'gateways', treatment: 'judged', rules: ['TG-ISTIO-GATEWAY', 'TG-ISTIO-LOCAL-GATEWAY-MTLS'], what: 'listeners on the shared gateway pods its selector picks: platform only' },
  { group: 'networking.istio.io', kind: 'ProxyConfig', resource: 'proxyconfigs', treatment: 'judged', rules: ['TG-ISTIO-PROXYCONFIG', 'TG-ISTIO-REVISION'], what: 'proxy settings of the selected workloads, like the proxy.istio.io/config annotation: concurrency and image type only' },
  { group: 'networking.istio.io', kind: 'ServiceEntry', resource: 'serviceentries', treatment: 'judged', rules: ['TG-ISTIO-FOREIGN-HOST', 'TG-ISTIO-EXPORT-TO', 'TG-ISTIO-REVISION'], what: 'hosts and endpoints in the registry: only hosts and addresses outside the cluster or the tenant\'s own, as IPs or cluster DNS names (pod DNS names resolved)' },
  { group: 'networking.istio.io', kind: 'Sidecar', resource: 'sidecars', treatment: 'judged', rules: ['TG-ISTIO-SIDECAR-INGRESS', 'TG-ISTIO-FOREIGN-HOST', 'TG-ISTIO-REVISION'], what: 'listeners of the namespace\'s proxies: egress narrowing only, no ingress section, an egressProxy of the tenant\'s own' },
  { group: 'networking.istio.io', kind: 'VirtualService', resource: 'virtualservices', treatment: 'judged', rules: ['TG-ISTIO-VS-GATEWAY', 'TG-ISTIO-VS-DESTINATION', 'TG-ISTIO-FOREIGN-HOST', 'TG-ISTIO-EXPORT-TO', 'TG-ISTIO-REVISION'], what: 'routes: bound to the tenant\'s own sidecars, toward own services, with Host/authority rewrites judged like destinations' },
  { group: 'networking.istio.io', kind: 'WorkloadEntry', resource: 'workloadentries', treatment: 'judged', rules: ['TG-ISTIO-FOREIGN-HOST', 'TG-WORKLOAD-GATEWAY-LABEL', 'TG-ISTIO-REVISION'], what: 'an endpoint (VM) for ServiceEntries: only addresses outside the cluster; its labels not a shared proxy\'s selector' },
  { group: 'networking.istio.io', kind: 'WorkloadGroup', resource: 'workloadgroups', treatment: 'judged', rules: ['TG-ISTIO-FOREIGN-HOST', 'TG-WORKLOAD-CAPTURE-BYPASS', 'TG-WORKLOAD-PROXY-OVERRIDE', 'TG-WORKLOAD-GATEWAY-LABEL', 'TG-ISTIO-REVISION'], what: 'the template of auto-registered WorkloadEntries: its address like a WorkloadEntry\'s, its metadata like a pod\'s' },
  // security.istio.io
  { group: 'security.istio.io', kind: 'AuthorizationPolicy', resource: 'authorizationpolicies', treatment: 'judged', rules: ['TG-AUTHZ-OPENS-PATH', 'TG-AUTHZ-LAST-ALLOW'], what: 'who may call: judged by the reachability model on every path' },
  { group: 'security.istio.io', kind: 'PeerAuthentication', resource: 'peerauthentications', treatment: 'judged', rules: ['TG-PEERAUTHN-MODE'], what: 'mTLS mode: STRICT only (Knative\'s drain port excepted)' },
  { group: 'security.istio.io', kind: 'RequestAuthentication', resource: 'requestauthentications', treatment: 'judged', rules: ['TG-SYSTEM-NAMESPACE-WRITE', 'TG-ISTIO-REVISION'], what: 'JWT checks of the tenant\'s own workloads; mesh-wide ones (root namespace) are platform only' },
  // telemetry.istio.io
  { group: 'telemetry.istio.io', kind: 'Telemetry', resource: 'telemetries', treatment: 'judged', rules: ['TG-ISTIO-TELEMETRY', 'TG-ISTIO-REVISION'], what: 'metrics, logs and traces of the tenant\'s own proxies, to providers the platform defined; targetRefs only inside the namespace' },
  // extensions.istio.io
  { group: 'extensions.istio.io', kind: 'WasmPlugin', resource: 'wasmplugins', treatment: 'judged', rules: ['TG-ISTIO-WASMPLUGIN'], what: 'custom code in the proxy: platform only' },
  { group: 'extensions.istio.io', kind: 'TrafficExtension', resource: 'trafficextensions', treatment: 'refused', rules: [UNJUDGED], what: 'custom code (Wasm or Lua) in the proxy, like a WasmPlugin: platform only' },
  // networking.k8s.io (built in)
  { group: 'networking.k8s.io', kind: 'Ingress', resource: 'ingresses', treatment: 'judged', rules: ['TG-INGRESS-ISTIO'], what: 'hostnames on the shared ingress gateway when Istio processes it (class istio, or no class): refused like the equivalent VirtualService; another class is admitted' },
  { group: 'networking.k8s.io', kind: 'IngressClass', resource: 'ingressclasses', clusterScoped: true, treatment: 'refused', rules: [UNJUDGED], what: 'which controller serves Ingresses, cluster-wide: platform only' },
  { group: 'networking.k8s.io', kind: 'NetworkPolicy', resource: 'networkpolicies', treatment: 'judged', rules: ['TG-TENANT-FOREIGN-NAMESPACE'], what: 'L3/L4 allow-lists for pods of its own namespace only: it can narrow the tenant\'s own traffic, never widen what mTLS and AuthorizationPolicies admit; admitted in the tenant\'s own namespaces' },
  { group: 'networking.k8s.io', kind: 'IPAddress', resource: 'ipaddresses', clusterScoped: true, treatment: 'refused', rules: [UNJUDGED], what: 'Service IP allocations, cluster-wide: platform only' },
  { group: 'networking.k8s.io', kind: 'ServiceCIDR', resource: 'servicecidrs', clusterScoped: true, treatment: 'refused', rules: [UNJUDGED], what: 'Service IP ranges, cluster-wide: platform only' },
  // gateway.networking.k8s.io
  { group: 'gateway.networking.k8s.io', kind: 'GatewayClass', resource: 'gatewayclasses', clusterScoped: true, treatment: 'refused', rules: [UNJUDGED], what: 'which controller deploys Gateways, cluster-wide: platform only' },
  { group: 'gateway.networking.k8s.io', kind: 'Gateway', resource: 'gateways', treatment: 'refused', rules: [UNJUDGED], what: 'a gateway deployment (or a waypoint) taking traffic from outside the mesh: platform only' },
  { group: 'gateway.networking.k8s.io', kind: 'ListenerSet', resource: 'listenersets', treatment: 'judged', rules: ['TG-GATEWAYAPI-PARENT'], what: 'listeners added to a Gateway: only to Gateways of the tenant\'s own namespaces' },
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', resource: 'httproutes', treatment: 'judged', rules: ROUTE_RULES, what: 'hostnames and routes on a parent Gateway or Service (GAMMA): parents and backends of the tenant only, Host rewrites judged like backends' },
  { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', resource: 'grpcroutes', treatment: 'judged', rules: ROUTE_RULES, what: 'like HTTPRoute' },
  { group: 'gateway.networking.k8s.io', kind: 'TCPRoute', resource: 'tcproutes', treatment: 'judged', rules: ROUTE_RULES, what: 'like HTTPRoute (ports instead of hostnames)' },
  { group: 'gateway.networking.k8s.io', kind: 'TLSRoute', resource: 'tlsroutes', treatment: 'judged', rules: ROUTE_RULES, what: 'like HTTPRoute (SNI hostnames)' },
  { group: 'gateway.networking.k8s.io', kind: 'UDPRoute', resource: 'udproutes', treatment: 'judged', rules: ROUTE_RULES, what: 'like HTTPRoute (ports)' },
  { group: 'gateway.networking.k8s.io', kind: 'ReferenceGrant', resource: 'referencegrants', treatment: 'judged', rules: ['TG-TENANT-FOREIGN-NAMESPACE'], what: 'lets routes of other namespaces name objects of its own namespace: the tenant lends what it owns; the requests still carry their caller\'s identity and meet the tenant\'s AuthorizationPolicies' },
  { group: 'gateway.networking.k8s.io', kind: 'BackendTLSPolicy', resource: 'backendtlspolicies', treatment: 'refused', rules: [UNJUDGED], what: 'TLS toward a backend in place of ISTIO_MUTUAL, like a DestinationRule SIMPLE: platform only' },
  // gateway.networking.x-k8s.io
  { group: 'gateway.networking.x-k8s.io', kind: 'XBackend', resource: 'xbackends', treatment: 'refused', rules: [UNJUDGED], what: 'experimental backend kind: platform only' },
  { group: 'gateway.networking.x-k8s.io', kind: 'XBackendTrafficPolicy', resource: 'xbackendtrafficpolicies', treatment: 'refused', rules: [UNJUDGED], what: 'experimental backend policy: platform only' },
  { group: 'gateway.networking.x-k8s.io', kind: 'XMesh', resource: 'xmeshes', clusterScoped: true, treatment: 'refused', rules: [UNJUDGED], what: 'experimental mesh configuration, cluster-wide: platform only' },
  // serving.knative.dev
  { group: 'serving.knative.dev', kind: 'Service', resource: 'services', treatment: 'judged', rules: ['TG-WORKLOAD-*', 'TG-KNATIVE-INGRESS-CLASS', 'TG-BASELINE-OPEN-WINDOW'], what: 'makes pods (through Configuration and Revision): workload rules on the template, under the open window' },
  { group: 'serving.knative.dev', kind: 'Configuration', resource: 'configurations', treatment: 'judged', rules: ['TG-WORKLOAD-*', 'TG-BASELINE-OPEN-WINDOW'], what: 'makes pods (through Revisions): workload rules on the template, under the open window' },
  { group: 'serving.knative.dev', kind: 'Revision', resource: 'revisions', treatment: 'judged', rules: ['TG-WORKLOAD-*', 'TG-BASELINE-OPEN-WINDOW'], what: 'makes pods (a Deployment): workload rules on its own metadata and spec, under the open window' },
  { group: 'serving.knative.dev', kind: 'Route', resource: 'routes', treatment: 'judged', rules: ['TG-KNATIVE-INGRESS-CLASS'], what: 'traffic split among the namespace\'s own Revisions, exposed through the ingress its class names' },
  { group: 'serving.knative.dev', kind: 'DomainMapping', resource: 'domainmappings', treatment: 'judged', rules: ['TG-KNATIVE-DOMAINMAPPING-REF', 'TG-KNATIVE-INGRESS-CLASS'], what: 'a domain on the shared ingress gateway routed to its ref: refs of the tenant only' },
  // networking.internal.knative.dev (knative.dev/networking; no CRD file here, see test/fixtures/crds/README.md)
  { group: 'networking.internal.knative.dev', kind: 'Ingress', resource: 'ingresses', treatment: 'refused', rules: [UNJUDGED], what: 'KIngress: net-istio turns it into VirtualServices on the shared gateways with any host; written by Knative\'s Route controller only' },
  { group: 'networking.internal.knative.dev', kind: 'ServerlessService', resource: 'serverlessservices', treatment: 'refused', rules: [UNJUDGED], what: 'whether a revision is reached through the activator or directly: written by Knative\'s controllers only' },
  { group: 'networking.internal.knative.dev', kind: 'Certificate', resource: 'certificates', treatment: 'refused', rules: [UNJUDGED], what: 'certificates for the gateways\' hosts: written by Knative\'s controllers only' },
  { group: 'networking.internal.knative.dev', kind: 'ClusterDomainClaim', resource: 'clusterdomainclaims', clusterScoped: true, treatment: 'refused', rules: [UNJUDGED], what: 'which namespace may map a domain, cluster-wide: platform only' },
  // autoscaling.internal.knative.dev
  { group: 'autoscaling.internal.knative.dev', kind: 'PodAutoscaler', resource: 'podautoscalers', treatment: 'refused', rules: [UNJUDGED], what: 'scale and activator routing mode of a revision: written by Knative\'s controllers only' },
  { group: 'autoscaling.internal.knative.dev', kind: 'Metric', resource: 'metrics', treatment: 'refused', rules: [UNJUDGED], what: 'what the autoscaler scrapes: written by Knative\'s controllers only' },
];

export function kindRow(group: string, kind: string): KindRow | undefined {
  return KIND_TABLE.find((r) => r.group === group && r.kind === kind);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The "Kinds" section of docs/rules.md. */
export function renderKindTable(rows: readonly KindRow[] = KIND_TABLE): string[] {
  return [
    '## Kinds',
    '',
    `Every kind of the groups that reach routing, capture or proxies (${MESH_GROUPS.map((g) => `\`${g}\``).join(', ')}) is either judged by a rule ` +
      `or refused to tenants by \`${UNJUDGED}\` (platform admins get a warning; platform controllers are not judged). A tenant writing the \`status\` ` +
      'of any of them is refused too: controllers write status, and a status (a KIngress\'s, a Route\'s, a Revision\'s) decides routing. ' +
      'Every kind that makes pods (Pod, the apps/batch workloads, ReplicationController, Knative Service, Configuration, Revision) is under the workload rules and the open window. ' +
      '`test/unit/engine/mesh-kinds.test.ts` fails when a served kind of the real CRDs has no row here.',
    '',
    '| Group | Kind | Handling | Rules | What it does, what is done |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.group}\` | ${r.kind}${r.clusterScoped ? ' (cluster)' : ''} | ${r.treatment === 'judged' ? 'judged' : 'refused to tenants'} | ${r.rules.map((x) => `\`${x}\``).join(', ')} | ${cell(r.what)} |`,
    ),
    '',
  ];
}
