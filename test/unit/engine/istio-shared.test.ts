import t from 'tap';
import { interceptedKinds } from '../../../src/engine/index.js';
import { admin, alice, bob, defaultConfig, judge, mallory, netIstio, revisionConfig, ruleIds, store } from './istio-fixtures.js';

const se = (spec: string, ns = 'tenant-1', meta = '') =>
  `apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: se, namespace: ${ns}${meta}}\nspec: ${spec}\n`;
const ra = (ns: string, meta = '') =>
  `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: ${ns}${meta}}\nspec: {jwtRules: [{issuer: "https://idp.example.com", jwksUri: "https://idp.example.com/jwks"}]}\n`;

t.test('every Istio kind of this area is intercepted, by group/kind', async (t) => {
  const kinds = interceptedKinds();
  for (const gk of [
    'security.istio.io/PeerAuthentication',
    'security.istio.io/RequestAuthentication',
    'networking.istio.io/DestinationRule',
    'networking.istio.io/Sidecar',
    'networking.istio.io/EnvoyFilter',
    'networking.istio.io/Gateway',
    'networking.istio.io/VirtualService',
    'networking.istio.io/ServiceEntry',
    'extensions.istio.io/WasmPlugin',
  ]) {
    t.ok(kinds.includes(gk), gk);
  }
});

t.test('ServiceEntry: own namespace only for tenants', async (t) => {
  const external = '{hosts: [api.example.com], location: MESH_EXTERNAL, ports: [{number: 443, name: https, protocol: TLS}], resolution: DNS';
  t.ok(judge('CREATE', se(`${external}, exportTo: ["."]}`), alice).allowed);
  const d = judge('CREATE', se(`${external}, exportTo: ["*"]}`), alice);
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-EXPORT-TO', 'spec.exportTo[0]']]);
  t.match(d.violations[0]!.message, /every namespace/);
  t.same(judge('CREATE', se(`${external}}`, 'tenant-2'), bob).patch, [{ op: 'add', path: '/spec/exportTo', value: ['.'] }]);
  t.same(ruleIds(judge('CREATE', se(`${external}, exportTo: "*"}`), alice)), ['TG-ISTIO-EXPORT-TO'], 'malformed exportTo');
  t.ok(judge('CREATE', se(`${external}, exportTo: ["*"]}`, 'istio-system'), admin).allowed, 'platform admin');
  t.same(ruleIds(judge('CREATE', se(`${external}, exportTo: ["."]}`, 'istio-system'), alice)), ['TG-SYSTEM-NAMESPACE-WRITE'], 'common rule, not duplicated');
});

t.test('RequestAuthentication: system namespaces via the common rule, revision label', async (t) => {
  t.ok(judge('CREATE', ra('tenant-1'), alice).allowed);
  t.same(ruleIds(judge('CREATE', ra('istio-system'), alice)), ['TG-SYSTEM-NAMESPACE-WRITE'], 'mesh-wide JWT rules stay with the platform');
  t.same(ruleIds(judge('CREATE', ra('tenant-1', ', labels: {istio.io/rev: rev-t2}'), alice, { config: revisionConfig })), ['TG-ISTIO-REVISION']);
});

t.test('TG-ISTIO-REVISION: who and where', async (t) => {
  const labelled = (ns: string, rev: string) => se('{hosts: [api.example.com], exportTo: ["."]}', ns, `, labels: {istio.io/rev: ${rev}}`);
  t.same(ruleIds(judge('CREATE', labelled('tenant-1', 'rev-t2'), alice, { config: revisionConfig })), ['TG-ISTIO-REVISION']);
  t.same(ruleIds(judge('CREATE', labelled('legacy', 'rev-t2'), admin, { config: revisionConfig })), ['TG-ISTIO-REVISION'], 'unowned namespace');
  t.ok(judge('CREATE', labelled('tenant-2', 'rev-t2'), bob, { config: revisionConfig }).allowed, 'own revision');
  t.ok(judge('CREATE', labelled('knative-serving', 'rev-t2'), admin, { config: revisionConfig }).allowed, 'system namespace');
  t.ok(judge('CREATE', labelled('tenant-1', 'default'), alice, { config: revisionConfig }).allowed, 'a revision of no tenant');
  t.ok(judge('CREATE', labelled('tenant-1', 'rev-t2'), netIstio, { config: revisionConfig }).allowed, 'platform controllers are not judged');
  t.ok(judge('CREATE', labelled('tenant-1', 'rev-t2'), alice, { config: defaultConfig }).allowed, 'no per-tenant control planes configured');
  const d = judge('CREATE', labelled('tenant-1', 'rev-t2'), mallory, { config: revisionConfig });
  t.match(d.violations[0]!.message, /or use rev-t1/);
});

t.test('TG-ISTIO-EXPORT-TO: "~" and namespaces of the same tenant are accepted (regression)', async (t) => {
  const tenantNs = (name: string, tenant: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [defaultConfig.tenantLabel]: tenant } } });
  const state = store(tenantNs('tenant-1-batch', 'tenant-1'), tenantNs('tenant-2-batch', 'tenant-2'));
  const spec = (exportTo: string) => `{hosts: [api.example.com], location: MESH_EXTERNAL, ports: [{number: 443, name: https, protocol: TLS}], resolution: DNS, exportTo: ${exportTo}}`;
  t.ok(judge('CREATE', se(spec('["~"]')), alice, { state }).allowed, '"~": visible to no namespace');
  t.ok(judge('CREATE', se(spec('[".", tenant-1-batch]')), alice, { state }).allowed, 'another namespace of tenant-1');
  const other = judge('CREATE', se(spec('[".", tenant-2-batch]')), alice, { state });
  t.same(other.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-EXPORT-TO', 'spec.exportTo[1]']], "a namespace of another tenant");
  t.same(ruleIds(judge('CREATE', se(spec('[".", nobody]')), alice, { state })), ['TG-ISTIO-EXPORT-TO'], 'a namespace of no tenant');
  t.same(ruleIds(judge('CREATE', se(spec('[tenant-1]'), 'legacy'), mallory, { state })), ['TG-ISTIO-EXPORT-TO'], 'outside tenancy only the own namespace');
});
