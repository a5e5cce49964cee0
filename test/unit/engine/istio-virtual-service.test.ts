import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { admin, alice, defaultConfig, judge, mallory, netIstio, obj, revisionConfig, ruleIds } from './istio-fixtures.js';

const vs = (spec: string, ns = 'tenant-1', meta = '') =>
  `apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: vs, namespace: ${ns}${meta}}\nspec: ${spec}\n`;
const paths = (d: ReturnType<typeof judge>) => d.violations.map((v) => [v.rule, v.path]);

// What net-istio writes for a tenant-1 Knative Service (kingress "hello"): bound to both Knative gateways.
const knativeIngressVS = obj(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: hello-ingress, namespace: tenant-1, labels: {networking.internal.knative.dev/ingress: hello}}
spec:
  gateways: [knative-serving/knative-ingress-gateway, knative-serving/knative-local-gateway]
  hosts: [hello.tenant-1, hello.tenant-1.example.com, hello.tenant-1.svc, hello.tenant-1.svc.cluster.local]
  http:
  - match:
    - authority: {prefix: hello.tenant-1}
      gateways: [knative-serving/knative-local-gateway]
    route:
    - destination: {host: hello-00001.tenant-1.svc.cluster.local, port: {number: 80}}
      headers: {request: {set: {Knative-Serving-Namespace: tenant-1, Knative-Serving-Revision: hello-00001}}}
`);

t.test('Knative net-istio VirtualServices in tenant namespaces are never blocked', async (t) => {
  const d = judge('CREATE', knativeIngressVS, netIstio);
  t.ok(d.intercepted);
  t.ok(d.allowed, JSON.stringify(d.violations));
  t.same(d.patch, [], 'not patched either');
  t.ok(judge('UPDATE', knativeIngressVS, netIstio, { config: revisionConfig }).allowed);
  // The same object written by a tenant is a gateway binding.
  t.same(ruleIds(judge('UPDATE', knativeIngressVS, alice, { oldObject: knativeIngressVS })).sort(), ['TG-ISTIO-VS-GATEWAY', 'TG-ISTIO-VS-GATEWAY', 'TG-ISTIO-VS-GATEWAY']);
});

t.test('TG-ISTIO-VS-GATEWAY: tenants bind to "mesh" or to gateways of their own namespace', async (t) => {
  const route = 'http: [{route: [{destination: {host: hello}}]}]';
  t.ok(judge('CREATE', vs(`{hosts: [hello], exportTo: ["."], ${route}}`), alice).allowed, 'default gateway is mesh');
  t.ok(judge('CREATE', vs(`{hosts: [hello], exportTo: ["."], gateways: [mesh, own-gw, tenant-1/other-gw], ${route}}`), alice).allowed);

  let d = judge('CREATE', vs(`{hosts: [hello.example.com], exportTo: ["."], gateways: [knative-serving/knative-ingress-gateway], ${route}}`), alice);
  t.same(paths(d), [['TG-ISTIO-VS-GATEWAY', 'spec.gateways[0]']]);
  d = judge('CREATE', vs(`{hosts: [hello], exportTo: ["."], gateways: [mesh, istio-system/istio-ingressgateway], ${route}}`), mallory);
  t.same(paths(d), [['TG-ISTIO-VS-GATEWAY', 'spec.gateways[1]']], 'unknown users too');
  d = judge('CREATE', vs('{hosts: [hello], exportTo: ["."], tcp: [{match: [{gateways: [mesh]}, {gateways: [tenant-2/gw]}], route: [{destination: {host: hello}}]}]}'), alice);
  t.same(paths(d), [['TG-ISTIO-VS-GATEWAY', 'spec.tcp[0].match[1].gateways[0]']], 'per-match gateways');

  t.ok(judge('CREATE', vs(`{hosts: [a.example.com], gateways: [istio-system/public], exportTo: ["*"], ${route}}`, 'knative-serving'), admin).allowed, 'platform admin');
});

t.test('TG-ISTIO-VS-DESTINATION: no route, mirror or delegation into another tenant', async (t) => {
  t.ok(judge('CREATE', vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: hello-v2}}, {destination: {host: x.tenant-1.svc.cluster.local}}]}]}'), alice).allowed);
  t.ok(judge('CREATE', vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: api.example.com}}]}]}'), alice).allowed, 'external hosts');
  // Platform destinations are TG-ISTIO-FOREIGN-HOST's (istio-foreign-hosts.test.ts).
  t.same(ruleIds(judge('CREATE', vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: activator-service.knative-serving.svc.cluster.local}}]}]}'), alice)), ['TG-ISTIO-FOREIGN-HOST'], 'platform hosts');

  const cases: [string, string][] = [
    ['http: [{route: [{destination: {host: hello}}, {destination: {host: hello.tenant-2.svc.cluster.local}}]}]', 'spec.http[0].route[1].destination.host'],
    ['http: [{route: [{destination: {host: hello}}], mirror: {host: hello.tenant-2}}]', 'spec.http[0].mirror.host'],
    ['http: [{route: [{destination: {host: hello}}], mirrors: [{destination: {host: hello.tenant-2.svc}}]}]', 'spec.http[0].mirrors[0].destination.host'],
    ['http: [{delegate: {name: routes, namespace: tenant-2}}]', 'spec.http[0].delegate.namespace'],
    ['tls: [{match: [{sniHosts: [hello]}], route: [{destination: {host: db.tenant-2.svc.cluster.local}}]}]', 'spec.tls[0].route[0].destination.host'],
    ['tcp: [{route: [{destination: {host: db.tenant-2.svc.cluster.local}}]}]', 'spec.tcp[0].route[0].destination.host'],
  ];
  for (const [routes, path] of cases) {
    const d = judge('CREATE', vs(`{hosts: [hello], exportTo: ["."], ${routes}}`), alice);
    t.same(paths(d), [['TG-ISTIO-VS-DESTINATION', path]], routes);
  }
  const d = judge('CREATE', vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: hello.tenant-2.svc.cluster.local}}]}]}'), alice);
  t.match(d.violations[0]!.message, /tenant tenant-2.*not peered/);
});

t.test('TG-ISTIO-VS-DESTINATION: platform admins in tenant namespaces, peerings, controllers', async (t) => {
  const crossing = vs('{hosts: [hello.example.com], gateways: [knative-serving/knative-ingress-gateway], http: [{route: [{destination: {host: hello.tenant-2.svc.cluster.local}}]}]}');
  t.same(ruleIds(judge('CREATE', crossing, admin)), ['TG-ISTIO-VS-DESTINATION'], 'platform admin in tenant-1');
  t.ok(judge('CREATE', vs('{hosts: [x], http: [{route: [{destination: {host: hello.tenant-2.svc.cluster.local}}]}]}', 'istio-system'), admin).allowed, 'platform route in a system namespace');
  t.ok(judge('CREATE', crossing, netIstio).allowed, 'controllers are not judged');

  const peered = parseTenancyConfig({ ...structuredClone(defaultConfig), peerings: [{ from: 'tenant-1', to: 'tenant-2' }] }, 'peered');
  const meshRoute = vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: hello.tenant-2.svc.cluster.local}}]}]}');
  t.ok(judge('CREATE', meshRoute, alice, { config: peered }).allowed, 'tenant-1 -> tenant-2 peered');
  const reverse = vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: hello.tenant-1.svc.cluster.local}}]}]}', 'tenant-2');
  t.same(ruleIds(judge('CREATE', reverse, { username: 'bob', groups: [] }, { config: peered })), ['TG-ISTIO-VS-DESTINATION'], 'peerings are directed');
  t.same(ruleIds(judge('CREATE', meshRoute.replace('tenant-1}', 'legacy}'), mallory)), ['TG-ISTIO-VS-DESTINATION'], 'unknown user in an unowned namespace');
});

t.test('TG-ISTIO-EXPORT-TO and the exportTo patch on VirtualService', async (t) => {
  const d = judge('CREATE', vs('{hosts: [reviews.tenant-2.svc.cluster.local], exportTo: ["*"], http: [{route: [{destination: {host: evil}}]}]}'), alice);
  t.same(paths(d), [['TG-ISTIO-FOREIGN-HOST', 'spec.hosts[0]'], ['TG-ISTIO-EXPORT-TO', 'spec.exportTo[0]']]);
  const patched = judge('CREATE', vs('{hosts: [hello], http: [{route: [{destination: {host: hello}}]}]}'), alice);
  t.ok(patched.allowed);
  t.same(patched.patch, [{ op: 'add', path: '/spec/exportTo', value: ['.'] }]);
  t.ok(judge('DELETE', obj(vs('{hosts: [hello], exportTo: ["*"]}')), alice).allowed, 'delete');
});
