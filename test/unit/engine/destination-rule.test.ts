import t from 'tap';
import jsonpatch from 'fast-json-patch';
import { admin, alice, judge, mallory, netIstio, obj, revisionConfig, ruleIds } from './istio-fixtures.js';

const dr = (spec: string, ns = 'tenant-1', meta = '') =>
  `apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: dr, namespace: ${ns}${meta}}\nspec: ${spec}\n`;

const rulePaths = (d: ReturnType<typeof judge>) => d.violations.map((v) => [v.rule, v.path]);

t.test('ISTIO_MUTUAL and auto mTLS (no tls block) are allowed toward mesh hosts', async (t) => {
  for (const spec of [
    '{host: hello, exportTo: ["."], trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}',
    '{host: hello.tenant-1.svc.cluster.local, exportTo: ["."], trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}',
    '{host: "*.tenant-1.svc.cluster.local", exportTo: ["."], subsets: [{name: v1, labels: {v: "1"}, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}]}',
  ]) {
    const d = judge('CREATE', dr(spec), alice);
    t.ok(d.intercepted && d.allowed, `${spec}: ${JSON.stringify(d.violations)}`);
  }
});

t.test('TG-DESTRULE-TLS-MODE: every tls site toward a mesh host', async (t) => {
  const cases: [string, string][] = [
    ['{host: hello, exportTo: ["."], trafficPolicy: {tls: {mode: DISABLE}}}', 'spec.trafficPolicy.tls.mode'],
    ['{host: hello, exportTo: ["."], trafficPolicy: {portLevelSettings: [{port: {number: 80}, tls: {mode: ISTIO_MUTUAL}}, {port: {number: 81}, tls: {mode: SIMPLE}}]}}', 'spec.trafficPolicy.portLevelSettings[1].tls.mode'],
    ['{host: hello, exportTo: ["."], subsets: [{name: v1, labels: {v: "1"}, trafficPolicy: {tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}}}]}', 'spec.subsets[0].trafficPolicy.tls.mode'],
    ['{host: hello, exportTo: ["."], subsets: [{name: v1, labels: {v: "1"}}, {name: v2, labels: {v: "2"}, trafficPolicy: {portLevelSettings: [{port: {number: 80}, tls: {mode: DISABLE}}]}}]}', 'spec.subsets[1].trafficPolicy.portLevelSettings[0].tls.mode'],
    ['{host: hello, exportTo: ["."], trafficPolicy: {tls: {sni: x}}}', 'spec.trafficPolicy.tls.mode'],
  ];
  for (const [spec, path] of cases) {
    const d = judge('CREATE', dr(spec), alice);
    t.same(rulePaths(d), [['TG-DESTRULE-TLS-MODE', path]], spec);
  }
  const implicit = judge('CREATE', dr(cases[4]![0]), alice);
  t.match(implicit.violations[0]!.message, /DISABLE \(the default of a tls block without mode\)/);
});

t.test('TG-DESTRULE-TLS-MODE: host forms that resolve to mesh services', async (t) => {
  for (const host of ['hello', 'hello.tenant-2.svc.cluster.local', '"*.tenant-2.svc.cluster.local"', '"*"', '"*.svc.cluster.local"', '"*.cluster.local"', '"*.local"', 'x.y.svc.other.domain']) {
    const d = judge('CREATE', dr(`{host: ${host}, exportTo: ["."], trafficPolicy: {tls: {mode: SIMPLE}}}`), alice);
    // Every host but tenant-1's own also names services outside the tenant (TG-ISTIO-FOREIGN-HOST).
    t.same(ruleIds(d), host === 'hello' ? ['TG-DESTRULE-TLS-MODE'] : ['TG-DESTRULE-TLS-MODE', 'TG-ISTIO-FOREIGN-HOST'], host);
  }
  for (const host of ['api.example.com', '"*.example.com"', 'db.internal.corp']) {
    const d = judge('CREATE', dr(`{host: ${host}, exportTo: ["."], trafficPolicy: {tls: {mode: SIMPLE}}}`), alice);
    t.ok(d.allowed, `external ${host}`);
  }
});

t.test('TG-DESTRULE-TLS-MODE applies to tenants and platform admins, everywhere; controllers get a warning', async (t) => {
  const spec = '{host: "*.svc.cluster.local", trafficPolicy: {tls: {mode: DISABLE}}}';
  t.same(ruleIds(judge('CREATE', dr(spec, 'istio-system'), admin)), ['TG-DESTRULE-TLS-MODE'], 'platform admin in the root namespace');
  const controller = judge('CREATE', dr(spec, 'legacy'), netIstio);
  t.ok(controller.allowed, 'platform controller is never blocked');
  t.match(controller.warnings.join('\n'), /TG-DESTRULE-TLS-MODE at spec\.trafficPolicy\.tls\.mode \(not enforced on platform controller/);
  t.ok(judge('DELETE', obj(dr(spec)), alice).allowed, 'deleting is never a weakening');
});

t.test("net-istio's system-internal-tls DestinationRule in a tenant namespace is admitted (regression)", async (t) => {
  // As MakeInternalEncryptionDestinationRule writes it (knative-extensions/net-istio
  // pkg/reconciler/ingress/resources/destinationrule.go).
  const knativeDr = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: hello.tenant-1.svc.cluster.local
  namespace: tenant-1
  labels: {networking.internal.knative.dev/ingress: hello}
spec:
  host: hello.tenant-1.svc.cluster.local
  trafficPolicy:
    tls:
      mode: SIMPLE
      credentialName: routing-serving-certs
      subjectAltNames: [kn-routing, kn-user-tenant-1]
`;
  const d = judge('CREATE', knativeDr, netIstio);
  t.ok(d.allowed, JSON.stringify(d.violations));
  t.same(d.patch, [], 'controllers are not patched');
  t.same(ruleIds(judge('CREATE', knativeDr, alice)), ['TG-DESTRULE-TLS-MODE'], 'the same object from a tenant is refused');
});

t.test('TG-ISTIO-EXPORT-TO on DestinationRule', async (t) => {
  for (const [exportTo, path] of [['["*"]', 'spec.exportTo[0]'], ['[".", tenant-2]', 'spec.exportTo[1]']] as const) {
    const d = judge('CREATE', dr(`{host: hello, exportTo: ${exportTo}}`), alice);
    t.same(rulePaths(d), [['TG-ISTIO-EXPORT-TO', path]], exportTo);
  }
  t.ok(judge('CREATE', dr('{host: hello, exportTo: [tenant-1]}'), alice).allowed, 'own namespace by name');
  t.ok(judge('CREATE', dr('{host: hello, workloadSelector: {matchLabels: {app: a}}, exportTo: ["~"]}'), alice).allowed, '"~" exports to no namespace (regression)');
  t.ok(judge('CREATE', dr('{host: hello, exportTo: ["*"]}', 'legacy'), admin).allowed, 'platform admins may export');
  t.same(ruleIds(judge('CREATE', dr('{host: hello, exportTo: ["*"]}', 'tenant-1'), mallory)), ['TG-ISTIO-EXPORT-TO'], 'unknown users are treated as tenants');
});

t.test('a missing or empty exportTo is patched to ["."]', async (t) => {
  for (const spec of ['{host: hello}', '{host: hello, exportTo: []}']) {
    const object = obj(dr(spec));
    const d = judge('CREATE', object, alice);
    t.ok(d.allowed);
    t.match(d.warnings.join('\n'), /set it to \["\."\]/);
    const patched = jsonpatch.applyPatch(structuredClone(object), d.patch as jsonpatch.Operation[]).newDocument;
    t.same(patched.spec.exportTo, ['.'], spec);
  }
  t.same(judge('CREATE', dr('{host: hello}'), admin).patch, [], 'platform admins are not patched');
});

t.test('TG-ISTIO-REVISION on DestinationRule', async (t) => {
  const d = judge('CREATE', dr('{host: hello, exportTo: ["."]}', 'tenant-1', ', labels: {istio.io/rev: rev-t2}'), admin, { config: revisionConfig });
  t.same(rulePaths(d), [['TG-ISTIO-REVISION', 'metadata.labels["istio.io/rev"]']]);
  t.ok(judge('CREATE', dr('{host: hello, exportTo: ["."]}', 'tenant-1', ', labels: {istio.io/rev: rev-t1}'), alice, { config: revisionConfig }).allowed);
});
