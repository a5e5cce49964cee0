import t from 'tap';
import type { KubeObject } from '../../../src/engine/types.js';
import { alice, bob, fixture, hardened, knativeController, platformAdmin, SETUID_HARDENING, submit, TENANT_LABEL, yamlDocs } from './workload-harness.js';

const T = TENANT_LABEL;
const INJECT = 'sidecar.istio.io/inject';

function ksvc(template: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'tenant-1', ...metadata },
    spec: { template: { ...template, spec: { containers: [{ image: 'kennethreitz/httpbin' }], ...((template.spec as object) ?? {}) } } },
  };
}

const referenceServices = [
  ...fixture('reference/kind/services/tenant-1/kservice.yaml'),
  ...fixture('reference/kind/services/tenant-2/kservice.yaml'),
  ...fixture('reference/openshift/services/tenant-1/kservice.yaml'),
  ...fixture('reference/openshift/services/tenant-2/kservice.yaml'),
  ...fixture('reference/openshift/services/tenant-1/kservice-domainmapping.yaml'),
].filter((o) => o.apiVersion.startsWith('serving.knative.dev/') && o.kind === 'Service');

t.test('reference Knative Services are admitted with the tenant and inject labels', async (t) => {
  t.equal(referenceServices.length, 9);
  for (const svc of referenceServices) {
    const ns = svc.metadata.namespace!;
    for (const user of [ns === 'tenant-1' ? alice : bob, platformAdmin]) {
      const { d, result } = submit(svc, user);
      const name = `${ns}/${svc.metadata.name} as ${user.username}`;
      t.equal(d.allowed, true, `${name} admitted`);
      t.same(d.violations, [], name);
      t.equal(result.metadata.labels?.[T], ns, `${name}: object labelled`);
      t.same(result.spec.template.metadata.labels, { [T]: ns, [INJECT]: 'true' }, `${name}: template labelled`);
      // Everything else is untouched.
      // Besides the setuid hardening of its containers (rootContainers: drop).
      const expected = hardened(svc, ['spec', 'template', 'spec']);
      expected.metadata.labels = { ...(svc.metadata.labels ?? {}), [T]: ns };
      expected.spec.template.metadata = { ...(svc.spec.template.metadata ?? {}), labels: { [T]: ns, [INJECT]: 'true' } };
      t.same(result, expected, `${name}: only the labels change`);
    }
  }
});

t.test('exact patch for the kind svc-always-scaled: only our ops, escaped keys', async (t) => {
  const svc = referenceServices.find((s) => s.metadata.name === 'svc-always-scaled' && s.metadata.namespace === 'tenant-1')!;
  const { d } = submit(svc, alice);
  t.same(d.patch, [
    { op: 'add', path: '/spec/template/spec/containers/0/securityContext', value: SETUID_HARDENING },
    { op: 'add', path: '/metadata/labels/tenant-guard.dev~1tenant', value: 'tenant-1' },
    { op: 'add', path: '/spec/template/metadata/labels', value: { [T]: 'tenant-1' } },
    { op: 'add', path: '/spec/template/metadata/labels/sidecar.istio.io~1inject', value: 'true' },
  ]);
});

t.test('a Service without template metadata gets it created', async (t) => {
  const { d, result } = submit(ksvc(), alice);
  t.equal(d.allowed, true);
  t.same(result.spec.template.metadata, { labels: { [T]: 'tenant-1', [INJECT]: 'true' } });
  t.same(result.metadata.labels, { [T]: 'tenant-1' });
});

t.test('UPDATE re-adds missing labels; an already labelled Service gets no patch', async (t) => {
  const { result } = submit(ksvc(), alice);
  const again = submit(result, alice, { old: result });
  t.equal(again.d.allowed, true);
  t.same(again.d.patch, []);
  const stripped = structuredClone(result);
  delete stripped.spec.template.metadata.labels[T];
  const readd = submit(stripped, alice, { old: result });
  t.same(readd.d.patch, [{ op: 'add', path: '/spec/template/metadata/labels/tenant-guard.dev~1tenant', value: 'tenant-1' }]);
});

t.test('a wrong tenant label is overwritten with a warning', async (t) => {
  const { d, result } = submit(ksvc({ metadata: { labels: { [T]: 'tenant-2' } } }), alice);
  t.equal(d.allowed, true);
  t.equal(result.spec.template.metadata.labels[T], 'tenant-1');
  t.match(d.warnings.join('\n'), /was "tenant-2" and is set to "tenant-1"/);
});

t.test('a truthy inject label the user chose is kept', async (t) => {
  const { result } = submit(ksvc({ metadata: { labels: { [INJECT]: 'yes' } } }), alice);
  t.equal(result.spec.template.metadata.labels[INJECT], 'yes');
});

t.test('injection opt-outs are refused, on template and object, label and annotation', async (t) => {
  const cases: Array<[KubeObject, string]> = [
    [ksvc({ metadata: { annotations: { [INJECT]: 'false' } } }), 'spec.template.metadata.annotations["sidecar.istio.io/inject"]'],
    [ksvc({ metadata: { labels: { [INJECT]: 'False' } } }), 'spec.template.metadata.labels["sidecar.istio.io/inject"]'],
    [ksvc({}, { annotations: { [INJECT]: 'false' } }), 'metadata.annotations["sidecar.istio.io/inject"]'],
    [ksvc({}, { labels: { [INJECT]: 'no' } }), 'metadata.labels["sidecar.istio.io/inject"]'],
  ];
  for (const [obj, path] of cases) {
    for (const user of [alice, platformAdmin]) {
      const { d } = submit(obj, user);
      t.equal(d.allowed, false, `${path} as ${user.username}`);
      t.same(
        d.violations.map((v) => [v.rule, v.path]),
        [['TG-WORKLOAD-INJECT-OPTOUT', path]],
      );
      t.same(d.patch, [], 'denied: no patch');
    }
  }
  t.match(submit(cases[0]![0], alice).d.violations[0]!.message, /plaintext from any tenant/);
});

t.test('interception bypass annotations on the template are refused', async (t) => {
  const bad: Record<string, string> = {
    'traffic.sidecar.istio.io/excludeInboundPorts': '8080',
    'traffic.sidecar.istio.io/excludeOutboundPorts': '5432',
    'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/8',
    'traffic.sidecar.istio.io/includeInboundPorts': '',
    'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/12',
    'traffic.sidecar.istio.io/kubevirtInterfaces': 'net1',
    'traffic.sidecar.istio.io/excludeInterfaces': 'eth1',
    'traffic.sidecar.istio.io/somethingNew': 'x',
    'sidecar.istio.io/interceptionMode': 'NONE',
    'status.sidecar.istio.io/port': '8080',
    'istio.io/reroute-virtual-interfaces': 'tap0',
    'ambient.istio.io/bypass-inbound-capture': 'true',
  };
  for (const [key, value] of Object.entries(bad)) {
    const { d } = submit(ksvc({ metadata: { annotations: { [key]: value } } }), alice);
    t.same(
      d.violations.map((v) => [v.rule, v.path]),
      [['TG-WORKLOAD-CAPTURE-BYPASS', `spec.template.metadata.annotations[${JSON.stringify(key)}]`]],
      key,
    );
  }
  const defaults = {
    'traffic.sidecar.istio.io/includeInboundPorts': '*',
    'traffic.sidecar.istio.io/includeOutboundIPRanges': '*',
    'traffic.sidecar.istio.io/excludeInboundPorts': '15020,15021',
    'traffic.sidecar.istio.io/includeOutboundPorts': '8443',
    'sidecar.istio.io/interceptionMode': 'REDIRECT',
    'status.sidecar.istio.io/port': '15020',
  };
  t.equal(submit(ksvc({ metadata: { annotations: defaults } }), alice).d.allowed, true, 'capture-everything values pass');
});

t.test('proxy replacements are refused; lifecycle ProxyConfig passes', async (t) => {
  const bad: Record<string, string> = {
    'sidecar.istio.io/proxyImage': 'evil/envoy:1',
    'sidecar.istio.io/bootstrapOverride': 'my-bootstrap',
    'sidecar.istio.io/userVolume': '{"x":{"hostPath":{"path":"/"}}}',
    'sidecar.istio.io/userVolumeMount': '{"x":{"mountPath":"/host"}}',
    'proxy.istio.io/config': '{"interceptionMode": "NONE"}',
    'inject.istio.io/templates': 'grpc-agent',
    'sidecar.istio.io/status': '{"containers":["istio-proxy"]}',
  };
  for (const [key, value] of Object.entries(bad)) {
    const { d } = submit(ksvc({ metadata: { annotations: { [key]: value } } }), alice);
    t.same(d.violations.map((v) => v.rule), ['TG-WORKLOAD-PROXY-OVERRIDE'], key);
  }
  t.same(submit(ksvc({ metadata: { annotations: { 'proxy.istio.io/config': 'not: [yaml' } } }), alice).rules, ['TG-WORKLOAD-PROXY-OVERRIDE']);
  const ok = submit(
    ksvc({ metadata: { annotations: { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nterminationDrainDuration: 30s', 'inject.istio.io/templates': 'sidecar' } } }),
    alice,
  );
  t.equal(ok.d.allowed, true);
});

t.test('containers: istio-proxy name, UID/GID 1337, hostNetwork', async (t) => {
  const named = submit(ksvc({ spec: { containers: [{ image: 'a' }, { name: 'istio-proxy', image: 'b' }] } }), alice);
  t.same(named.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-RESERVED-CONTAINER', 'spec.template.spec.containers[1].name']]);
  const uid = submit(ksvc({ spec: { containers: [{ image: 'a', securityContext: { runAsUser: 1337 } }] } }), alice);
  t.same(uid.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-PROXY-UID', 'spec.template.spec.containers[0].securityContext.runAsUser']]);
  const podUid = submit(ksvc({ spec: { securityContext: { runAsGroup: 1337 } } }), platformAdmin);
  t.same(podUid.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-PROXY-UID', 'spec.template.spec.securityContext.runAsGroup']]);
  const host = submit(ksvc({ spec: { hostNetwork: true } }), alice);
  t.same(host.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-HOST-NETWORK', 'spec.template.spec.hostNetwork']]);
  const fine = submit(ksvc({ spec: { containers: [{ image: 'a', securityContext: { runAsUser: 1000 } }] } }), alice);
  t.equal(fine.d.allowed, true);
});

t.test('ingress class: only Istio', async (t) => {
  const kourier = submit(ksvc({}, { annotations: { 'networking.knative.dev/ingress.class': 'kourier.ingress.networking.knative.dev' } }), alice);
  t.same(kourier.d.violations.map((v) => [v.rule, v.path]), [['TG-KNATIVE-INGRESS-CLASS', 'metadata.annotations["networking.knative.dev/ingress.class"]']]);
  const istio = submit(ksvc({}, { annotations: { 'networking.knative.dev/ingress.class': 'istio.ingress.networking.knative.dev' } }), alice);
  t.equal(istio.d.allowed, true);
});

t.test('Configuration: same template checks and labels', async (t) => {
  const cfg: KubeObject = { ...ksvc(), kind: 'Configuration' };
  const { d, result } = submit(cfg, alice);
  t.equal(d.allowed, true);
  t.same(result.spec.template.metadata.labels, { [T]: 'tenant-1', [INJECT]: 'true' });
  const bad = submit({ ...ksvc({ metadata: { annotations: { [INJECT]: 'false' } } }), kind: 'Configuration' }, alice);
  t.same(bad.rules, ['TG-WORKLOAD-INJECT-OPTOUT']);
});

const revision = yamlDocs(`
apiVersion: serving.knative.dev/v1
kind: Revision
metadata:
  name: hello-00001
  namespace: tenant-2
  annotations: {autoscaling.knative.dev/min-scale: "1"}
spec:
  containers: [{image: kennethreitz/httpbin}]
`)[0]!;

t.test('Revision: its own metadata is the pod metadata', async (t) => {
  const { d, result } = submit(revision, bob);
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-2', [INJECT]: 'true' });
  const optOut = structuredClone(revision);
  optOut.metadata.annotations![INJECT] = 'false';
  t.same(submit(optOut, bob).d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-INJECT-OPTOUT', 'metadata.annotations["sidecar.istio.io/inject"]']]);
  const uid = structuredClone(revision);
  uid.spec.containers[0].securityContext = { runAsUser: 1337 };
  t.same(submit(uid, bob).d.violations.map((v) => v.path), ['spec.containers[0].securityContext.runAsUser']);
});

t.test("Knative's controller is never blocked nor mutated; it gets warnings", async (t) => {
  const optOut = structuredClone(revision);
  optOut.metadata.annotations![INJECT] = 'false';
  const { d } = submit(optOut, knativeController);
  t.equal(d.allowed, true);
  t.same(d.patch, []);
  t.match(d.warnings.join('\n'), /TG-WORKLOAD-INJECT-OPTOUT.*not enforced/);
  const clean = submit(revision, knativeController);
  t.same(clean.d.patch, [], 'no labels added to controller-written objects');
  t.same(clean.d.warnings, []);
});

t.test('DELETE is never judged nor mutated', async (t) => {
  const optOut = ksvc({ metadata: { annotations: { [INJECT]: 'false' } } });
  const { d } = submit(optOut, alice, { op: 'DELETE', old: optOut });
  t.equal(d.allowed, true);
  t.same(d.patch, []);
});

t.test('namespaces owned by nobody: not enforced, tenants warned', async (t) => {
  const optOut = ksvc({ metadata: { annotations: { [INJECT]: 'false' } } }, { namespace: 'scratch' });
  const byTenant = submit(optOut, alice);
  t.equal(byTenant.d.allowed, true);
  t.same(byTenant.d.patch, []);
  t.match(byTenant.d.warnings.join('\n'), /belongs to no tenant/);
  const byAdmin = submit(optOut, platformAdmin);
  t.same(byAdmin.d.warnings, []);
  t.same(byAdmin.d.patch, []);
});

t.test("a Service as Knative's defaulting webhook leaves it is admitted; only our labels are added", async (t) => {
  // Knative's webhook runs before the validating webhooks: creator annotations,
  // the default container name, readiness probe, enableServiceLinks and, with
  // secure-pod-defaults, a restricted securityContext (NET_BIND_SERVICE only).
  const svc = yamlDocs(`
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: tenant-1
  annotations: {serving.knative.dev/creator: alice, serving.knative.dev/lastModifier: alice}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containerConcurrency: 0
      timeoutSeconds: 300
      enableServiceLinks: false
      containers:
        - name: user-container
          image: kennethreitz/httpbin
          readinessProbe: {successThreshold: 1, tcpSocket: {port: 0}}
          resources: {}
          securityContext:
            allowPrivilegeEscalation: false
            runAsNonRoot: true
            seccompProfile: {type: RuntimeDefault}
            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
  traffic: [{latestRevision: true, percent: 100}]
`)[0]!;
  const { d, result } = submit(svc, alice);
  t.same(d.violations, []);
  t.same(result.metadata.labels, { [T]: 'tenant-1' });
  t.same(result.spec.template.metadata.labels, { [T]: 'tenant-1', [INJECT]: 'true' });
  t.same(result.spec.template.spec, svc.spec.template.spec, 'the pod spec is untouched');
});

t.test('Routes and DomainMappings may not pick an ingress outside the mesh', async (t) => {
  const { submit: judge, alice: tenantAdmin, knativeController } = await import('./workload-harness.js');
  const route = (annotations: Record<string, string>) => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Route',
    metadata: { name: 'r', namespace: 'tenant-1', annotations },
    spec: { traffic: [{ configurationName: 'c', percent: 100 }] },
  });
  const dm = (annotations: Record<string, string>) => ({
    apiVersion: 'serving.knative.dev/v1beta1',
    kind: 'DomainMapping',
    metadata: { name: 'app.example.com', namespace: 'tenant-1', annotations },
    spec: { ref: { name: 's', kind: 'Service', apiVersion: 'serving.knative.dev/v1' } },
  });
  const kourier = { 'networking.knative.dev/ingress.class': 'kourier.ingress.networking.knative.dev' };
  for (const o of [route(kourier), dm(kourier)]) {
    const r = judge(o, tenantAdmin);
    t.equal(r.d.allowed, false, o.kind);
    t.match(r.d.violations, [{ rule: 'TG-KNATIVE-INGRESS-CLASS', path: 'metadata.annotations["networking.knative.dev/ingress.class"]', message: new RegExp(`routes this ${o.kind}`) }]);
    t.equal(judge(o, knativeController).d.allowed, true, `${o.kind} written by Knative's controller is only warned`);
  }
  const istio = { 'networking.knative.dev/ingress.class': 'istio.ingress.networking.knative.dev' };
  t.equal(judge(route(istio), tenantAdmin).d.allowed, true);
  t.equal(judge(dm({}), tenantAdmin).d.allowed, true);
});
