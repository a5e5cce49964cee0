// Issue 17, item 5: addresses however spelled. A pod DNS name is the address
// it spells (CoreDNS answers it for any namespace), and a Host written by a
// VirtualService route is judged like a destination.
import fc from 'fast-check';
import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { admin, alice, defaultConfig, judge, netIstio, obj, ruleIds } from './istio-fixtures.js';

const configured = parseTenancyConfig(
  { ...structuredClone(defaultConfig), clusterNetwork: { serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'], nodeCIDRs: [] } },
  'test',
);
const se = (endpoint: string, hosts = 'hop.example.com') =>
  obj(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: tenant-1}
spec: {hosts: ["${hosts}"], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS, endpoints: [{address: "${endpoint}"}]}`);
const vs = (http: string) =>
  obj(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: tenant-1}
spec: {hosts: [hop.example.com], exportTo: ["."], http: [${http}]}`);

t.test("the issue's attack: the gateway pod spelled in the tenant's own namespace", async (t) => {
  for (const config of [defaultConfig, configured]) {
    const d = judge('CREATE', se('10-244-0-20.tenant-1.pod.cluster.local'), alice, { config });
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-FOREIGN-HOST', 'spec.endpoints[0].address']]);
    t.match(d.violations[0]!.message, /resolves to 10\.244\.0\.20 whatever namespace it names/);
  }
  const authority = judge('CREATE', vs('{rewrite: {authority: hello.tenant-2.svc.cluster.local}, route: [{destination: {host: hop.example.com}}]}'), alice);
  t.same(authority.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-VS-DESTINATION', 'spec.http[0].rewrite.authority']], 'rewrite.authority naming another tenant');
});

t.test('pod names, every spelling', async (t) => {
  for (const name of [
    '10-244-0-20.tenant-2.pod.cluster.local',
    '10-244-0-20.tenant-1.pod',
    '10-244-0-20.TENANT-1.POD.cluster.local.',
    '10-96-0-1.default.pod.example.internal',
    '2001-db8--1.tenant-1.pod.cluster.local',
    'my-pod.tenant-1.pod.cluster.local',
    '*.tenant-1.pod.cluster.local',
  ]) {
    t.same(ruleIds(judge('CREATE', se(name), alice, { config: configured })), ['TG-ISTIO-FOREIGN-HOST'], `endpoint ${name}`);
    t.same(ruleIds(judge('CREATE', obj(`apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: we, namespace: tenant-1}\nspec: {address: "${name}"}`), alice, { config: configured })), ['TG-ISTIO-FOREIGN-HOST'], `WorkloadEntry ${name}`);
  }
  t.same(ruleIds(judge('CREATE', se('203.0.113.9', '10-244-0-20.tenant-1.pod.cluster.local'), alice, { config: configured })), ['TG-ISTIO-FOREIGN-HOST'], 'as a host');
  t.ok(judge('CREATE', se('api.example.com'), alice, { config: configured }).allowed, 'an external name');
  t.ok(judge('CREATE', se('db.tenant-1.svc.cluster.local'), alice, { config: configured }).allowed, "the tenant's own service");
  t.same(ruleIds(judge('CREATE', se('web-0.web.tenant-2.svc.cluster.local'), alice)), ['TG-ISTIO-FOREIGN-HOST'], "a headless service's pod of another tenant");
  t.ok(judge('CREATE', se('web-0.web.tenant-1.svc.cluster.local'), alice).allowed, "a headless service's pod of the tenant's own");
});

t.test('Host and :authority writes in VirtualService routes: judged like destinations', async (t) => {
  const cases: [string, string, string, string][] = [
    ['header set on the route', '{headers: {request: {set: {Host: hello.tenant-2.svc.cluster.local}}}, route: [{destination: {host: mine}}]}', 'TG-ISTIO-VS-DESTINATION', 'spec.http[0].headers.request.set["Host"]'],
    ['header add on a destination', '{route: [{destination: {host: mine}, headers: {request: {add: {":authority": hello.tenant-2}}}}]}', 'TG-ISTIO-VS-DESTINATION', 'spec.http[0].route[0].headers.request.add[":authority"]'],
    ['authority of a platform service', '{rewrite: {authority: activator-service.knative-serving.svc.cluster.local}, route: [{destination: {host: mine}}]}', 'TG-ISTIO-FOREIGN-HOST', 'spec.http[0].rewrite.authority'],
    ['authority spelled as a pod name', '{rewrite: {authority: 10-244-0-20.tenant-1.pod.cluster.local}, route: [{destination: {host: mine}}]}', 'TG-ISTIO-FOREIGN-HOST', 'spec.http[0].rewrite.authority'],
  ];
  cases.push(
    ['authority with a port', '{rewrite: {authority: "hello.tenant-2:80"}, route: [{destination: {host: mine}}]}', 'TG-ISTIO-VS-DESTINATION', 'spec.http[0].rewrite.authority'],
    ['platform authority with a port', '{rewrite: {authority: "activator-service.knative-serving.svc.cluster.local:8012"}, route: [{destination: {host: mine}}]}', 'TG-ISTIO-FOREIGN-HOST', 'spec.http[0].rewrite.authority'],
  );
  for (const [name, http, rule, path] of cases) t.same(judge('CREATE', vs(http), alice).violations.map((v) => [v.rule, v.path]), [[rule, path]], name);
  t.ok(judge('CREATE', vs('{rewrite: {authority: mine.tenant-1.svc.cluster.local}, headers: {request: {set: {x-team: a}}}, route: [{destination: {host: mine}}]}'), alice).allowed, 'own authority, other headers');
  t.same(ruleIds(judge('CREATE', vs(cases[0]![1]), admin)), ['TG-ISTIO-VS-DESTINATION'], 'platform admins in tenant namespaces too');
  t.ok(judge('CREATE', vs(cases[0]![1]), netIstio).allowed, "net-istio's own routes are not judged");
});

t.test('property: any dashed IPv4 pod name in any namespace is refused', async () => {
  const octet = fc.integer({ min: 0, max: 255 });
  const ns = fc.constantFrom('tenant-1', 'tenant-2', 'default', 'istio-system', 'nobody-yet');
  fc.assert(
    fc.property(octet, octet, octet, octet, ns, fc.boolean(), (a, b, c, d, n, fq) => {
      const name = `${a}-${b}-${c}-${d}.${n}.pod${fq ? '.cluster.local' : ''}`;
      return ruleIds(judge('CREATE', se(name), alice, { config: configured })).includes('TG-ISTIO-FOREIGN-HOST');
    }),
    { numRuns: 300 },
  );
});
