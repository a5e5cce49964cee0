import t from 'tap';
import { admin, alice, judge, mallory, netIstio, obj, revisionConfig, ruleIds } from './istio-fixtures.js';

const paths = (d: ReturnType<typeof judge>) => d.violations.map((v) => [v.rule, v.path]);

const sidecar = (spec: string, ns = 'tenant-1') => `apiVersion: networking.istio.io/v1beta1\nkind: Sidecar\nmetadata: {name: default, namespace: ${ns}}\nspec: ${spec}\n`;
const envoyFilter = (ns: string) => `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef, namespace: ${ns}}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND}
    patch: {operation: REMOVE}
`;
const wasm = (ns: string, version = 'v1alpha1') => `apiVersion: extensions.istio.io/${version}\nkind: WasmPlugin\nmetadata: {name: w, namespace: ${ns}}\nspec: {url: "oci://r.example.com/p:1", phase: AUTHN}\n`;

t.test('TG-ISTIO-SIDECAR-INGRESS: egress is fine, ingress is not for tenants', async (t) => {
  t.ok(judge('CREATE', sidecar('{egress: [{hosts: ["./*", "istio-system/*"]}], outboundTrafficPolicy: {mode: REGISTRY_ONLY}}'), alice).allowed);
  t.ok(judge('CREATE', sidecar('{ingress: [], egress: [{hosts: ["./*"]}]}'), alice).allowed, 'an empty ingress list changes nothing');
  const ingress = '{ingress: [{port: {number: 9080, protocol: HTTPS, name: ext}, defaultEndpoint: "0.0.0.0:9080", tls: {mode: SIMPLE, credentialName: c}}]}';
  for (const who of [alice, mallory]) t.same(paths(judge('CREATE', sidecar(ingress), who)), [['TG-ISTIO-SIDECAR-INGRESS', 'spec.ingress']], who.username);
  t.ok(judge('CREATE', sidecar(ingress), admin).allowed, 'platform admin');
  t.ok(judge('DELETE', obj(sidecar(ingress)), alice).allowed);
});

t.test('TG-ISTIO-ENVOYFILTER: tenants may not create, change or delete EnvoyFilters', async (t) => {
  for (const op of ['CREATE', 'UPDATE'] as const) {
    t.same(paths(judge(op, envoyFilter('tenant-1'), alice)), [['TG-ISTIO-ENVOYFILTER', 'spec.configPatches']], op);
  }
  t.same(paths(judge('DELETE', obj(envoyFilter('tenant-1')), alice)), [['TG-ISTIO-ENVOYFILTER', 'metadata.name']], 'delete');
  t.same(ruleIds(judge('CREATE', envoyFilter('legacy'), mallory)), ['TG-ISTIO-ENVOYFILTER'], 'unknown user');
  t.ok(judge('CREATE', envoyFilter('istio-system'), netIstio).allowed, 'platform controller');
});

t.test('TG-ISTIO-WASMPLUGIN: tenants may not manage WasmPlugins (any version)', async (t) => {
  for (const version of ['v1alpha1', 'v1']) {
    t.same(paths(judge('CREATE', wasm('tenant-1', version), alice)), [['TG-ISTIO-WASMPLUGIN', 'spec.url']], version);
  }
  t.same(paths(judge('DELETE', obj(wasm('tenant-1')), alice)), [['TG-ISTIO-WASMPLUGIN', 'metadata.name']]);
});

t.test('TG-ISTIO-PLATFORM-EXTENSION: platform admins are admitted, warned for mesh-wide and tenant scope', async (t) => {
  for (const [ns, pattern] of [['istio-system', /every proxy of the mesh/], ['tenant-1', /proxies of tenant tenant-1/]] as const) {
    for (const text of [envoyFilter(ns), wasm(ns)]) {
      const d = judge('CREATE', text, admin);
      t.ok(d.allowed);
      t.match(d.warnings.join('\n'), pattern, ns);
      t.match(d.warnings.join('\n'), /TG-ISTIO-PLATFORM-EXTENSION/);
    }
  }
  const plain = judge('CREATE', envoyFilter('knative-serving'), admin);
  t.ok(plain.allowed);
  t.same(plain.warnings, [], 'a platform-only namespace needs no reminder');
  t.same(judge('DELETE', obj(envoyFilter('istio-system')), admin).warnings, [], 'no warning on delete');
});

t.test('TG-ISTIO-REVISION on extensions', async (t) => {
  const labelled = obj(envoyFilter('tenant-1'));
  labelled.metadata.labels = { 'istio.io/rev': 'rev-t2' };
  t.same(paths(judge('CREATE', labelled, admin, { config: revisionConfig })), [['TG-ISTIO-REVISION', 'metadata.labels["istio.io/rev"]']]);
  labelled.metadata.labels = { 'istio.io/rev': 'rev-t1' };
  t.ok(judge('CREATE', labelled, admin, { config: revisionConfig }).allowed);
});
