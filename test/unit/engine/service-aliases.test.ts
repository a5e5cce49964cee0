// Aliases outside Istio (issue 9, class 3): ExternalName Services, externalIPs,
// hand-written Endpoints/EndpointSlices, DomainMapping refs, and tenant edits
// of the Services Knative created.
import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { admin, alice, defaultConfig, judge, netIstio, obj, ruleIds, store } from './istio-fixtures.js';

const externalName = (target: string, name = 'alias') =>
  obj(`apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: tenant-1}
spec: {type: ExternalName, externalName: "${target}"}`);

const configured = parseTenancyConfig(
  { ...structuredClone(defaultConfig), clusterNetwork: { serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'], nodeCIDRs: ['172.18.0.0/16'] } },
  'test',
);

t.test('ExternalName to platform, foreign, unowned, wildcard and in-cluster targets: refused', async (t) => {
  for (const target of [
    'knative-local-gateway.istio-system.svc.cluster.local',
    'activator-service.knative-serving.svc.cluster.local',
    'hello.tenant-2.svc.cluster.local',
    'HELLO.tenant-2.svc.cluster.local.',
    'hello.tenant-2',
    'hello.tenant-2.svc',
    '10-244-1-7.tenant-2.pod.cluster.local',
    'pod-0.db.tenant-2.svc.cluster.local',
    'istio-ingressgateway.istio-ingress.svc.cluster.local',
    'kubernetes.default.svc.cluster.local',
    '10.244.1.7',
  ]) {
    const d = judge('CREATE', externalName(target));
    t.same(ruleIds(d), ['TG-SERVICE-EXTERNALNAME'], target);
  }
  const d = judge('CREATE', externalName('hello.tenant-2.svc.cluster.local'));
  t.match(d.violations[0]!.message, /namespace tenant-2 belongs to tenant tenant-2.*Istio \(1\.21\+\) treats the Service as an alias/);
});

t.test('ExternalName to own and external hosts: admitted', async (t) => {
  for (const target of ['hello.tenant-1.svc.cluster.local', 'hello', 'api.example.com', 'db.corp.example', 'example.com']) {
    const d = judge('CREATE', externalName(target));
    t.ok(d.allowed, `${target}: ${JSON.stringify(d.violations)}`);
  }
  const peered = parseTenancyConfig({ ...structuredClone(defaultConfig), peerings: [{ from: 'tenant-1', to: 'tenant-2' }] }, 'test');
  t.ok(judge('CREATE', externalName('hello.tenant-2.svc.cluster.local'), alice, { config: peered }).allowed, 'a peering allows the alias');
  const outside = judge('CREATE', externalName('192.168.50.4'), alice, { config: configured });
  t.ok(outside.allowed, 'a private address outside the configured cluster ranges');
  t.same(ruleIds(judge('CREATE', externalName('192.168.50.4'))), ['TG-SERVICE-EXTERNALNAME'], 'the same address without clusterNetwork is refused');
});

t.test('Knative-created Services: tenant edits judged on what changes', async (t) => {
  const knativeOwn = externalName('knative-local-gateway.istio-system.svc.cluster.local', 'hello');
  t.ok(judge('CREATE', knativeOwn, netIstio).allowed, 'Knative\'s controller creates its ExternalName Service');
  const relabelled = structuredClone(knativeOwn);
  relabelled.metadata.labels = { team: 'a' };
  t.ok(judge('UPDATE', relabelled, alice, { oldObject: knativeOwn }).allowed, 'a label change keeps the alias Knative wrote');
  const retargeted = externalName('hello.tenant-2.svc.cluster.local', 'hello');
  t.same(ruleIds(judge('UPDATE', retargeted, alice, { oldObject: knativeOwn })), ['TG-SERVICE-EXTERNALNAME'], 'retargeting it is judged');
  const privateSvc = obj(`apiVersion: v1
kind: Service
metadata: {name: hello-00001-private, namespace: tenant-1}
spec: {selector: {app: hello}, ports: [{port: 80}]}`);
  const turned = structuredClone(privateSvc);
  turned.spec = { type: 'ExternalName', externalName: 'knative-local-gateway.istio-system.svc.cluster.local' };
  t.same(ruleIds(judge('UPDATE', turned, alice, { oldObject: privateSvc })), ['TG-SERVICE-EXTERNALNAME'], 'a ClusterIP Service turned into an alias');
});

t.test('externalIPs: refused for tenants, admitted for platform admins', async (t) => {
  const svc = obj(`apiVersion: v1
kind: Service
metadata: {name: grab, namespace: tenant-1}
spec: {ports: [{port: 80}], externalIPs: [203.0.113.7]}`);
  t.same(ruleIds(judge('CREATE', svc)), ['TG-SERVICE-EXTERNAL-IPS']);
  t.ok(judge('CREATE', svc, admin).allowed);
  t.ok(judge('UPDATE', svc, alice, { oldObject: svc }).allowed, 'an address already there is not judged again');
});

const slice = (addresses: string[], extra = '') =>
  obj(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: alias-1, namespace: tenant-1, labels: {kubernetes.io/service-name: alias}}
addressType: ${addresses.some((a) => /[a-z]/.test(a)) ? 'FQDN' : 'IPv4'}
ports: [{port: 8012}]
endpoints:
- addresses: ${JSON.stringify(addresses)}
${extra}`);

t.test('EndpointSlices and Endpoints: in-cluster and foreign targets refused, external admitted', async (t) => {
  t.same(ruleIds(judge('CREATE', slice(['10.244.1.17']))), ['TG-ENDPOINTS-ADDRESS'], 'a pod IP (unconfigured: private)');
  t.same(ruleIds(judge('CREATE', slice(['10.244.1.17']), alice, { config: configured })), ['TG-ENDPOINTS-ADDRESS'], 'a pod IP inside podCIDRs');
  t.same(ruleIds(judge('CREATE', slice(['172.18.0.3']), alice, { config: configured })), ['TG-ENDPOINTS-ADDRESS'], 'a node address (NodePorts reach every Service)');
  t.same(ruleIds(judge('CREATE', slice(['hello.tenant-2.svc.cluster.local']))), ['TG-ENDPOINTS-ADDRESS'], 'an FQDN of another tenant');
  t.ok(judge('CREATE', slice(['203.0.113.10'])).allowed, 'a public address');
  t.ok(judge('CREATE', slice(['192.168.50.4']), alice, { config: configured }).allowed, 'a private address outside the configured ranges');
  t.ok(judge('CREATE', slice(['db.example.com'])).allowed, 'an external FQDN');
  const withRef = slice(['203.0.113.10'], '  targetRef: {kind: Pod, name: hello, namespace: tenant-2}');
  t.same(ruleIds(judge('CREATE', withRef)), ['TG-ENDPOINTS-ADDRESS'], 'a targetRef into tenant-2');
  const ep = obj(`apiVersion: v1
kind: Endpoints
metadata: {name: alias, namespace: tenant-1}
subsets:
- addresses: [{ip: 203.0.113.10}]
  notReadyAddresses: [{ip: 10.244.2.9}]
  ports: [{port: 8012}]`);
  const d = judge('CREATE', ep);
  t.same(ruleIds(d), ['TG-ENDPOINTS-ADDRESS']);
  t.equal(d.violations[0]!.path, 'subsets[0].notReadyAddresses[0].ip');
  // Knative's controller writes the revision's public Endpoints with pod IPs; a tenant relabelling them is not judged on those.
  t.ok(judge('CREATE', ep, netIstio).allowed, 'platform controllers are never judged');
  const relabelled = structuredClone(ep);
  relabelled.metadata.labels = { x: 'y' };
  t.ok(judge('UPDATE', relabelled, alice, { oldObject: ep }).allowed, 'addresses already there are not judged again');
});

t.test('DomainMapping refs', async (t) => {
  const dm = (ref: string) =>
    obj(`apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: shop.example.com, namespace: tenant-1}
spec: {ref: ${ref}}`);
  t.same(ruleIds(judge('CREATE', dm('{apiVersion: serving.knative.dev/v1, kind: Service, name: hello, namespace: tenant-2}'))), ['TG-KNATIVE-DOMAINMAPPING-REF'], 'another tenant');
  t.same(ruleIds(judge('CREATE', dm('{apiVersion: v1, kind: Service, name: x, namespace: istio-system}'))), ['TG-KNATIVE-DOMAINMAPPING-REF'], 'a platform namespace');
  t.ok(judge('CREATE', dm('{apiVersion: serving.knative.dev/v1, kind: Service, name: hello, namespace: tenant-1}')).allowed, 'own Knative Service');
  t.ok(judge('CREATE', dm('{apiVersion: serving.knative.dev/v1, kind: Service, name: hello}')).allowed, 'namespace omitted: own');
  const alias = externalName('hello.tenant-2.svc.cluster.local');
  const s = store(alias);
  t.same(ruleIds(judge('CREATE', dm('{apiVersion: v1, kind: Service, name: alias}'), alice, { state: s })), ['TG-KNATIVE-DOMAINMAPPING-REF'], 'a core Service aliasing tenant-2 (from the state)');
  const own = externalName('hello.tenant-1.svc.cluster.local');
  t.ok(judge('CREATE', dm('{apiVersion: v1, kind: Service, name: alias}'), alice, { state: store(own) }).allowed, 'a core Service aliasing its own tenant');
});

t.test("DomainMapping names: another tenant's Hosts are refused, own and custom domains admitted (issue 17)", async (t) => {
  const dm = (name: string, ns = 'tenant-1') =>
    obj(`apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: "${name}", namespace: ${ns}}
spec: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}}`);
  const s = () => store(obj('apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy}'));
  for (const name of [
    'hello.tenant-2.svc.cluster.local',
    'hello.tenant-2.svc',
    'hello.tenant-2',
    'HELLO.Tenant-2.svc.cluster.local.',
    'hello.tenant-2.example.com',
    'hello.istio-system.example.com',
    'hello.legacy.example.com',
    'hello.tomorrow.svc.cluster.local',
    'hello.tomorrow.svc',
  ]) {
    const d = judge('CREATE', dm(name), alice, { state: s() });
    t.same(ruleIds(d), ['TG-KNATIVE-DOMAINMAPPING-NAME'], name);
  }
  const d = judge('CREATE', dm('hello.tenant-2.svc.cluster.local'), alice, { state: s() });
  t.match(d.violations[0]!.message, /claims a domain of namespace tenant-2 \(a cluster-local Host of it\): namespace tenant-2 belongs to tenant tenant-2/);
  t.match(judge('CREATE', dm('hello.tomorrow.svc'), alice, { state: s() }).violations[0]!.message, /nobody holds the name yet/);
  // Two labels are also every public apex domain: judged only against names someone holds.
  for (const name of ['hello.tomorrow', 'shop.example.com', 'hello.tenant-1.example.com', 'hello.tenant-1.svc.cluster.local', 'www.shop.example.com', 'example.com']) {
    const ok = judge('CREATE', dm(name), alice, { state: s() });
    t.ok(ok.allowed, `${name}: ${ok.violations.map((v) => v.message).join('; ')}`);
  }
  t.ok(judge('CREATE', dm('hello.tenant-2.svc.cluster.local', 'tenant-2'), netIstio, { state: s() }).allowed, 'platform controllers are never judged');
  t.same(ruleIds(judge('CREATE', dm('hello.tenant-2.example.com'), admin, { state: s() })), ['TG-KNATIVE-DOMAINMAPPING-NAME'], 'a platform admin in a tenant namespace is judged too');
});
