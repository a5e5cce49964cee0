// Issue 17, item 3: what each newly judged kind really does, judged as a
// tenant admin would try it; and item 7: capture exclusions that reach only
// addresses outside the cluster.
import fc from 'fast-check';
import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { admin, alice, defaultConfig, judge, netIstio, obj, ruleIds, store } from './istio-fixtures.js';

const ingress = (meta: string, spec = '') =>
  obj(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: tenant-1${meta}}
spec:
  ${spec}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: mine, port: {number: 80}}}}`);

t.test('Ingress: refused whenever Istio would process it', async (t) => {
  const cases: [string, ReturnType<typeof obj>, string][] = [
    ['ingressClassName istio', ingress('', 'ingressClassName: istio'), 'spec.ingressClassName'],
    ['no class at all (Istio DEFAULT mode processes it)', ingress(''), 'spec'],
    ['a class that may not exist', ingress('', 'ingressClassName: nginx'), 'spec.ingressClassName'],
    ['annotation istio', ingress(', annotations: {kubernetes.io/ingress.class: istio}'), 'metadata.annotations["kubernetes.io/ingress.class"]'],
  ];
  for (const [name, o, path] of cases) {
    const d = judge('CREATE', o, alice);
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-INGRESS-ISTIO', path]], name);
  }
  t.match(judge('CREATE', cases[0]![1], alice).violations[0]!.message, /shared Istio ingress gateway/);
  t.ok(judge('CREATE', ingress(', annotations: {kubernetes.io/ingress.class: nginx}'), alice).allowed, 'another controller, by annotation');
  t.ok(judge('CREATE', cases[0]![1], admin).allowed, 'platform admins expose services');
  t.ok(judge('DELETE', cases[0]![1], alice).allowed, 'deleting one closes a door');
});

const route = (spec: string, kind = 'HTTPRoute') =>
  obj(`apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: {name: r, namespace: tenant-1}
spec: ${spec}`);

t.test('Gateway API routes: parents and backends of the tenant only', async (t) => {
  const refused: [string, ReturnType<typeof obj>, string, string][] = [
    ['a shared gateway', route('{parentRefs: [{name: gw, namespace: istio-system}], hostnames: [shop.example.com], rules: [{backendRefs: [{name: mine, port: 80}]}]}'), 'TG-GATEWAYAPI-PARENT', 'spec.parentRefs[0]'],
    ["another tenant's gateway", route('{parentRefs: [{name: gw, namespace: tenant-2}], rules: [{backendRefs: [{name: mine, port: 80}]}]}'), 'TG-GATEWAYAPI-PARENT', 'spec.parentRefs[0]'],
    ["another tenant's Service (GAMMA)", route('{parentRefs: [{group: "", kind: Service, name: hello, namespace: tenant-2}], rules: [{backendRefs: [{name: mine, port: 80}]}]}'), 'TG-GATEWAYAPI-PARENT', 'spec.parentRefs[0]'],
    ['a gateway in a namespace nobody owns yet', route('{parentRefs: [{name: gw, namespace: unclaimed}], rules: [{backendRefs: [{name: mine, port: 80}]}]}'), 'TG-GATEWAYAPI-PARENT', 'spec.parentRefs[0]'],
    ["a backend in another tenant", route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{backendRefs: [{name: hello, namespace: tenant-2, port: 80}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].backendRefs[0].namespace'],
    ['the local gateway as a backend', route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{backendRefs: [{name: knative-local-gateway, namespace: istio-system, port: 80}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].backendRefs[0].namespace'],
    ["Istio's Hostname backend", route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{backendRefs: [{group: networking.istio.io, kind: Hostname, name: activator-service.knative-serving.svc.cluster.local, port: 80}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].backendRefs[0].name'],
    ['a backend kind nobody judged', route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{backendRefs: [{group: example.com, kind: Tunnel, name: x}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].backendRefs[0].kind'],
    ['a mirror into another tenant', route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{filters: [{type: RequestMirror, requestMirror: {backendRef: {name: hello, namespace: tenant-2, port: 80}}}], backendRefs: [{name: mine, port: 80}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].filters[0].requestMirror.backendRef.namespace'],
    ['a Host header set to another tenant', route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Host, value: hello.tenant-2.svc.cluster.local}]}}], backendRefs: [{name: mine, port: 80}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].filters[0].requestHeaderModifier.set[0].value'],
    ['a per-backend URLRewrite to the activator', route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{backendRefs: [{name: mine, port: 80, filters: [{type: URLRewrite, urlRewrite: {hostname: activator-service.knative-serving}}]}]}]}'), 'TG-GATEWAYAPI-BACKEND', 'spec.rules[0].backendRefs[0].filters[0].urlRewrite.hostname'],
    ['a TCPRoute on a shared gateway', route('{parentRefs: [{name: gw, namespace: istio-system, port: 5432}], rules: [{backendRefs: [{name: mine, port: 5432}]}]}', 'TCPRoute'), 'TG-GATEWAYAPI-PARENT', 'spec.parentRefs[0]'],
  ];
  for (const [name, o, rule, path] of refused) t.same(judge('CREATE', o, alice).violations.map((v) => [v.rule, v.path]), [[rule, path]], name);
  t.ok(judge('CREATE', route('{parentRefs: [{kind: Service, group: "", name: mine}], rules: [{backendRefs: [{name: mine-v2, port: 80}]}]}'), alice).allowed, 'a mesh route among own services');
  t.ok(judge('CREATE', route('{parentRefs: [{name: own-gw}], hostnames: [shop.example.com], rules: [{backendRefs: [{name: mine, port: 80}]}]}'), alice).allowed, "a gateway of the tenant's own namespace");
  t.ok(judge('CREATE', refused[0]![1], admin).allowed, 'platform admins attach to shared gateways');
  t.ok(judge('CREATE', refused[4]![1], netIstio).allowed, 'controllers are not judged');
  const ls = obj(`apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: tenant-1}
spec:
  parentRef: {name: gw, namespace: istio-system}
  listeners: [{name: https, hostname: shop.example.com, port: 443, protocol: HTTPS}]`);
  t.same(ruleIds(judge('CREATE', ls, alice)), ['TG-GATEWAYAPI-PARENT'], 'a ListenerSet on a shared gateway');
});

t.test('ProxyConfig, WorkloadGroup, Telemetry: judged like the pod annotations they stand for', async (t) => {
  const pc = (spec: string) => obj(`apiVersion: networking.istio.io/v1beta1\nkind: ProxyConfig\nmetadata: {name: p, namespace: tenant-1}\nspec: ${spec}`);
  t.same(judge('CREATE', pc('{environmentVariables: {ISTIO_META_DNS_CAPTURE: "false"}}'), alice).violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-PROXYCONFIG', 'spec.environmentVariables']]);
  t.same(ruleIds(judge('CREATE', pc('{selector: {matchLabels: {app: a}}, someFutureField: x}'), alice)), ['TG-ISTIO-PROXYCONFIG'], 'a field tenant-guard does not know');
  t.ok(judge('CREATE', pc('{selector: {matchLabels: {app: a}}, concurrency: 2, image: {imageType: distroless}}'), alice).allowed, 'sizing and image type');
  t.same(ruleIds(judge('CREATE', pc('{image: {imageType: "evil-tag"}}'), alice)), ['TG-ISTIO-PROXYCONFIG'], "an image type that is not one of Istio's");
  const wg = (spec: string) => obj(`apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: vms, namespace: tenant-1}\nspec: ${spec}`);
  t.same(ruleIds(judge('CREATE', wg('{template: {address: 10.244.1.5, serviceAccount: vm}}'), alice)), ['TG-ISTIO-FOREIGN-HOST'], 'a template address inside the cluster');
  t.same(ruleIds(judge('CREATE', wg('{metadata: {annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "8080"}}, template: {serviceAccount: vm}}'), alice)), ['TG-WORKLOAD-CAPTURE-BYPASS'], 'capture exclusions in the metadata');
  t.same(ruleIds(judge('CREATE', wg('{metadata: {labels: {gateway.networking.k8s.io/gateway-name: shared}}, template: {serviceAccount: vm}}'), alice)), ['TG-WORKLOAD-GATEWAY-LABEL'], 'claiming to be a gateway');
  t.ok(judge('CREATE', wg('{metadata: {labels: {app: legacy}}, template: {serviceAccount: vm, ports: {http: 8080}}}'), alice).allowed, 'an ordinary VM group');
  const sc = (host: string) => obj(`apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: tenant-1}\nspec: {outboundTrafficPolicy: {mode: ALLOW_ANY, egressProxy: {host: ${host}, port: {number: 80}}}}`);
  t.same(judge('CREATE', sc('knative-local-gateway.istio-system.svc.cluster.local'), alice).violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-FOREIGN-HOST', 'spec.outboundTrafficPolicy.egressProxy.host']], 'a Sidecar egressProxy at the gateway');
  t.ok(judge('CREATE', sc('squid.tenant-1.svc.cluster.local'), alice).allowed, 'an egress proxy of its own');
  const tel = (spec: string) => obj(`apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: tenant-1}\nspec: ${spec}`);
  t.same(ruleIds(judge('CREATE', tel('{targetRefs: [{kind: Service, group: "", name: hello, namespace: tenant-2}]}'), alice)), ['TG-ISTIO-TELEMETRY']);
  t.ok(judge('CREATE', tel('{accessLogging: [{providers: [{name: envoy}]}]}'), alice).allowed, "the tenant's own proxies' telemetry");
  t.same(ruleIds(judge('CREATE', obj('apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t, namespace: istio-system}\nspec: {}'), alice)), ['TG-SYSTEM-NAMESPACE-WRITE'], 'mesh-wide Telemetry is the platform\'s');
  t.ok(judge('CREATE', obj('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: tenant-1}\nspec: {podSelector: {}}'), alice).allowed, 'NetworkPolicy in its own namespace');
  t.same(ruleIds(judge('CREATE', obj('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: tenant-2}\nspec: {podSelector: {}}'), alice)), ['TG-TENANT-FOREIGN-NAMESPACE'], "but not in another tenant's");
});

// --- item 7 ---

const configured = parseTenancyConfig(
  { ...structuredClone(defaultConfig), clusterNetwork: { serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'], nodeCIDRs: ['192.168.10.0/24'] } },
  'test',
);
const podWith = (key: string, value: string) =>
  obj(`apiVersion: v1
kind: Pod
metadata: {name: p, namespace: tenant-1, annotations: {${key}: "${value}"}}
spec: {containers: [{name: app, image: app}]}`);
const EXCLUDE = 'traffic.sidecar.istio.io/excludeOutboundIPRanges';
const INCLUDE = 'traffic.sidecar.istio.io/includeOutboundIPRanges';

t.test('capture exclusions that reach only addresses outside the cluster: admitted with a warning', async (t) => {
  const ok = judge('CREATE', podWith(EXCLUDE, '203.0.113.0/24,198.51.100.7/32'), alice, { config: configured });
  t.equal(ok.allowed, true);
  t.match(ok.warnings.join('\n'), /TG-WORKLOAD-CAPTURE-BYPASS.*admitted.*203\.0\.113\.0\/24.*leave the mesh directly/);
  for (const [value, why] of [
    ['10.244.3.0/24', 'a pod range'],
    ['203.0.113.0/24,10.96.0.10/32', 'one entry in the Service range'],
    ['192.168.10.5/32', 'a node'],
    ['169.254.169.254/32', 'link-local (node-local services)'],
    ['127.0.0.1/32', 'loopback'],
    ['0.0.0.0/0', 'everything'],
    ['::ffff:10.244.0.0/120', 'a pod range spelled as IPv4-mapped IPv6'],
    ['somewhere', 'not a range'],
  ]) {
    t.same(ruleIds(judge('CREATE', podWith(EXCLUDE, value!), alice, { config: configured })), ['TG-WORKLOAD-CAPTURE-BYPASS'], `${why}: refused`);
  }
  t.same(ruleIds(judge('CREATE', podWith(EXCLUDE, '203.0.113.0/24'), alice)), ['TG-WORKLOAD-CAPTURE-BYPASS'], 'without clusterNetwork nothing is known to be outside: refused');
  t.same(ruleIds(judge('CREATE', podWith('traffic.sidecar.istio.io/excludeOutboundPorts', '5432'), alice, { config: configured })), ['TG-WORKLOAD-CAPTURE-BYPASS'], 'excluded ports reach in-cluster destinations too');
  const inc = judge('CREATE', podWith(INCLUDE, '10.0.0.0/8,192.168.0.0/16'), alice, { config: configured });
  t.equal(inc.allowed, true, 'an include list covering every cluster range');
  t.match(inc.warnings.join('\n'), /captures every cluster range/);
  t.same(ruleIds(judge('CREATE', podWith(INCLUDE, '10.244.0.0/16'), alice, { config: configured })), ['TG-WORKLOAD-CAPTURE-BYPASS'], 'an include list leaving the Service range out');
  const dep = obj(`apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: tenant-1}
spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}, annotations: {${EXCLUDE}: "203.0.113.0/24"}}, spec: {containers: [{name: c, image: c}]}}}`);
  t.equal(judge('CREATE', dep, alice, { config: configured }).allowed, true, 'templates alike');
});

t.test('property: an admitted exclusion never overlaps a cluster range', async () => {
  const { inClusterRanges } = await import('../../../src/engine/network-targets.js');
  const { parseCidr, rangesOverlap } = await import('../../../src/net/ip-ranges.js');
  const cluster = inClusterRanges({ config: configured }).ranges;
  const octet = fc.integer({ min: 0, max: 255 });
  const cidr = fc.tuple(octet, octet, octet, octet, fc.integer({ min: 0, max: 32 })).map(([a, b, c, d, n]) => `${a}.${b}.${c}.${d}/${n}`);
  fc.assert(
    fc.property(fc.array(cidr, { minLength: 1, maxLength: 4 }), (list) => {
      const d = judge('CREATE', podWith(EXCLUDE, list.join(',')), alice, { config: configured, state: store() });
      const overlaps = list.some((x) => cluster.some((c) => rangesOverlap(parseCidr(x)!, c)));
      return d.allowed === !overlaps;
    }),
    { numRuns: 500 },
  );
});
