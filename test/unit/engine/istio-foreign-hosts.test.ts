// Issue 9, class 2: the tenant-local objects that make a gateway hop (or an
// alias of another tenant) possible are refused; own and external hosts pass.
import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { admin, alice, defaultConfig, judge, netIstio, obj, ruleIds } from './istio-fixtures.js';

const se = (spec: string, ns = 'tenant-1') =>
  obj(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: ${ns}}
spec: ${spec}`);
const dr = (host: string) =>
  obj(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: tenant-1}
spec: {host: "${host}", exportTo: ["."], trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}`);
const vs = (spec: string) =>
  obj(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: tenant-1}
spec: ${spec}`);

const configured = parseTenancyConfig(
  { ...structuredClone(defaultConfig), clusterNetwork: { serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'], nodeCIDRs: [] } },
  'test',
);

t.test('the gateway hop, object by object: refused', async (t) => {
  const cases: [string, ReturnType<typeof obj>, string][] = [
    ['SE host of the gateway', se('{hosts: [knative-local-gateway.istio-system.svc.cluster.local], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}'), 'spec.hosts[0]'],
    ['SE endpoint naming the gateway', se('{hosts: [hop.example.com], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS, endpoints: [{address: knative-local-gateway.istio-system.svc.cluster.local}]}'), 'spec.endpoints[0].address'],
    ['SE endpoint at a pod IP', se('{hosts: [hop.example.com], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 10.244.3.4}]}'), 'spec.endpoints[0].address'],
    ['SE address range over the Service CIDR', se('{hosts: [hop.example.com], exportTo: ["."], addresses: [10.96.0.0/12], ports: [{number: 80, name: http, protocol: HTTP}], resolution: NONE}'), 'spec.addresses[0]'],
    ['SE host of another tenant', se('{hosts: ["*.tenant-2.svc.cluster.local"], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}'), 'spec.hosts[0]'],
    ['SE host wildcard over every namespace', se('{hosts: ["*.svc.cluster.local"], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}'), 'spec.hosts[0]'],
    ['SE unix socket endpoint', se('{hosts: [sds.local], exportTo: ["."], ports: [{number: 80, name: grpc, protocol: GRPC}], resolution: STATIC, endpoints: [{address: "unix:///var/run/secrets/workload-spiffe-uds/socket"}]}'), 'spec.endpoints[0].address'],
    ['DR to the gateway', dr('knative-local-gateway.istio-system.svc.cluster.local'), 'spec.host'],
    ['DR to another tenant', dr('hello.tenant-2.svc.cluster.local'), 'spec.host'],
    ['VS rerouting to the gateway', vs('{hosts: [hop.example.com], exportTo: ["."], http: [{rewrite: {authority: hello.tenant-1.svc.cluster.local}, route: [{destination: {host: knative-local-gateway.istio-system.svc.cluster.local}}]}]}'), 'spec.http[0].route[0].destination.host'],
    ['VS for a platform host', vs('{hosts: [activator-service.knative-serving.svc.cluster.local], exportTo: ["."], http: [{route: [{destination: {host: hello}}]}]}'), 'spec.hosts[0]'],
    ['VS delegating into a platform namespace', vs('{hosts: [hello], exportTo: ["."], http: [{delegate: {name: x, namespace: istio-system}}]}'), 'spec.http[0].delegate.namespace'],
  ];
  for (const [name, o, path] of cases) {
    const d = judge('CREATE', o, alice);
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-FOREIGN-HOST', path]], name);
  }
  const d = judge('CREATE', cases[1]![1], alice);
  t.match(d.violations[0]!.message, /platform namespace.*originate mTLS to a shared gateway/);
  t.same(ruleIds(judge('CREATE', cases[1]![1], admin)), ['TG-ISTIO-FOREIGN-HOST'], 'platform admins in tenant namespaces too');
});

t.test('WorkloadEntry: the address a workloadSelector ServiceEntry sends to', async (t) => {
  const we = (address: string) =>
    obj(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm, namespace: tenant-1}
spec: {address: "${address}", labels: {app: legacy}}`);
  t.same(judge('CREATE', we('10.244.7.9'), alice).violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-FOREIGN-HOST', 'spec.address']], 'a pod IP');
  t.same(ruleIds(judge('CREATE', we('knative-local-gateway.istio-system.svc.cluster.local'), alice)), ['TG-ISTIO-FOREIGN-HOST'], 'the gateway by name');
  t.ok(judge('CREATE', we('203.0.113.50'), alice).allowed, 'a VM outside the cluster');
  t.ok(judge('CREATE', we('vm1.corp.example.com'), alice).allowed, 'a VM by name');
});

t.test('legitimate neighbours: admitted', async (t) => {
  const ok: [string, ReturnType<typeof obj>, typeof defaultConfig?][] = [
    ['SE for an external API', se('{hosts: [api.example.com], exportTo: ["."], ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}')],
    ['SE with external endpoints', se('{hosts: [db.example.com], exportTo: ["."], ports: [{number: 5432, name: tcp, protocol: TCP}], resolution: STATIC, endpoints: [{address: 203.0.113.8}]}')],
    ['SE with a private endpoint outside configured ranges', se('{hosts: [db.corp], exportTo: ["."], ports: [{number: 5432, name: tcp, protocol: TCP}], resolution: STATIC, endpoints: [{address: 192.168.7.8}]}'), configured],
    ['SE for own workloads by selector', se('{hosts: [legacy.tenant-1.svc.cluster.local], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, workloadSelector: {labels: {app: legacy}}}')],
    ['DR for an own service', dr('hello.tenant-1.svc.cluster.local')],
    ['DR for an external host', dr('api.example.com')],
    ['VS within the tenant', vs('{hosts: [hello], exportTo: ["."], http: [{route: [{destination: {host: hello-v2.tenant-1.svc.cluster.local}}]}]}')],
  ];
  for (const [name, o, cfg] of ok) {
    const d = judge('CREATE', o, alice, cfg ? { config: cfg } : {});
    t.ok(d.allowed, `${name}: ${JSON.stringify(d.violations)}`);
  }
  const privateUnconfigured = se('{hosts: [db.corp], exportTo: ["."], ports: [{number: 5432, name: tcp, protocol: TCP}], resolution: STATIC, endpoints: [{address: 192.168.7.8}]}');
  t.same(ruleIds(judge('CREATE', privateUnconfigured, alice)), ['TG-ISTIO-FOREIGN-HOST'], 'the same private endpoint without clusterNetwork');
  const peered = parseTenancyConfig({ ...structuredClone(defaultConfig), peerings: [{ from: 'tenant-1', to: 'tenant-2' }] }, 'peered');
  t.ok(judge('CREATE', dr('hello.tenant-2.svc.cluster.local'), alice, { config: peered }).allowed, 'a peering admits a DestinationRule toward the peer');
  t.ok(judge('CREATE', vs('{hosts: [x.example.com], http: [{route: [{destination: {host: knative-local-gateway.istio-system.svc.cluster.local}}]}]}'), netIstio).allowed, 'Knative\'s controller is not judged');
  t.ok(judge('CREATE', se('{hosts: [knative-local-gateway.istio-system.svc.cluster.local], ports: [{number: 80, name: http, protocol: HTTP}]}', 'istio-system'), admin).allowed, 'platform admins in system namespaces');
});
