import t from 'tap';
import type { KubeObject } from '../../../src/engine/types.js';
import { alice, bob, fixture, hardened, knativeController, platformAdmin, referenceState, replicaSetController, SETUID_HARDENING, submit, TENANT_LABEL, yamlDocs } from './workload-harness.js';

const T = TENANT_LABEL;

const curls = [
  ...fixture('reference/kind/services/tenant-1/curl.yaml'),
  ...fixture('reference/kind/services/tenant-2/curl.yaml'),
  ...fixture('reference/openshift/services/tenant-1/curl.yaml'),
  ...fixture('reference/openshift/services/tenant-2/curl.yaml'),
];

t.test('reference curl Deployments are admitted, labelled on object and template', async (t) => {
  t.equal(curls.length, 4);
  for (const dep of curls) {
    const ns = dep.metadata.namespace!;
    for (const user of [ns === 'tenant-1' ? alice : bob, platformAdmin]) {
      const { d, result } = submit(dep, user);
      const name = `${ns}/${dep.metadata.name} as ${user.username}`;
      t.same(d.violations, [], name);
      // The tenant label, and the setuid hardening of the container (rootContainers: drop).
      const expected = hardened(dep, ['spec', 'template', 'spec']);
      expected.metadata.labels = { app: 'curl', [T]: ns };
      expected.spec.template.metadata.labels = { app: 'curl', [T]: ns };
      t.same(result, expected, `${name}: only the tenant label and the hardening are added`);
      t.same(d.patch, [
        { op: 'add', path: '/spec/template/spec/containers/0/securityContext', value: SETUID_HARDENING },
        { op: 'add', path: '/metadata/labels/tenant-guard.dev~1tenant', value: ns },
        { op: 'add', path: '/spec/template/metadata/labels/tenant-guard.dev~1tenant', value: ns },
      ]);
    }
  }
});

function workload(kind: string, apiVersion: string, templateSpec: Record<string, unknown>, templateMeta: Record<string, unknown> = {}): KubeObject {
  const template = { metadata: { labels: { app: 'w' }, ...templateMeta }, spec: { containers: [{ name: 'w', image: 'busybox' }], ...templateSpec } };
  const spec =
    kind === 'CronJob'
      ? { schedule: '* * * * *', jobTemplate: { spec: { template } } }
      : { selector: { matchLabels: { app: 'w' } }, template };
  return { apiVersion, kind, metadata: { name: 'w', namespace: 'tenant-1' }, spec };
}

const kinds: Array<[string, string, string]> = [
  // Regression: the legacy core/v1 ReplicationController was not intercepted,
  // and its pods are created by kube-controller-manager, which is only warned.
  ['ReplicationController', 'v1', 'spec.template'],
  ['Deployment', 'apps/v1', 'spec.template'],
  ['StatefulSet', 'apps/v1', 'spec.template'],
  ['DaemonSet', 'apps/v1', 'spec.template'],
  ['ReplicaSet', 'apps/v1', 'spec.template'],
  ['Job', 'batch/v1', 'spec.template'],
  ['CronJob', 'batch/v1', 'spec.jobTemplate.spec.template'],
];

t.test('every template kind: rejected bypasses with template paths, clean ones labelled', async (t) => {
  for (const [kind, apiVersion, tpl] of kinds) {
    const clean = submit(workload(kind, apiVersion, {}), alice);
    t.equal(clean.d.allowed, true, `${kind} clean`);
    const labels = tpl.split('.').reduce((o: any, k) => o[k], clean.result).metadata.labels;
    t.same(labels, { app: 'w', [T]: 'tenant-1' }, `${kind} template labelled`);
    t.equal(clean.result.metadata.labels?.[T], 'tenant-1');

    const host = submit(workload(kind, apiVersion, { hostNetwork: true }), alice);
    t.same(host.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-HOST-NETWORK', `${tpl}.spec.hostNetwork`]], `${kind} hostNetwork`);
    const optOut = submit(workload(kind, apiVersion, {}, { labels: { app: 'w', 'sidecar.istio.io/inject': 'false' } }), platformAdmin);
    t.same(optOut.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-INJECT-OPTOUT', `${tpl}.metadata.labels["sidecar.istio.io/inject"]`]], `${kind} opt-out`);
    const proxy = submit(workload(kind, apiVersion, { containers: [{ name: 'w', image: 'b' }, { name: 'istio-proxy', image: 'auto', securityContext: { runAsUser: 1337 } }] }), alice);
    t.same(
      proxy.d.violations.map((v) => [v.rule, v.path]),
      [
        ['TG-WORKLOAD-RESERVED-CONTAINER', `${tpl}.spec.containers[1].name`],
        ['TG-WORKLOAD-PROXY-UID', `${tpl}.spec.containers[1].securityContext.runAsUser`],
      ],
      `${kind} istio-proxy in a template`,
    );
    const netAdmin = submit(
      workload(kind, apiVersion, {
        initContainers: [{ name: 'setup', image: 'b', securityContext: { privileged: true } }],
        containers: [{ name: 'w', image: 'b', securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'CAP_NET_ADMIN'] } } }],
      }),
      alice,
    );
    t.same(
      netAdmin.d.violations.map((v) => [v.rule, v.path]),
      [
        ['TG-WORKLOAD-NET-ADMIN', `${tpl}.spec.initContainers[0].securityContext.privileged`],
        ['TG-WORKLOAD-NET-ADMIN', `${tpl}.spec.containers[0].securityContext.capabilities.add[1]`],
      ],
      `${kind} NET_ADMIN`,
    );
    const status = submit(workload(kind, apiVersion, {}, { annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } }), alice);
    t.same(status.rules, ['TG-WORKLOAD-PROXY-OVERRIDE'], `${kind}: templates are never injected, a status there is user-written`);
  }
});

t.test('Job: template is immutable, so UPDATE does not touch it', async (t) => {
  const job = workload('Job', 'batch/v1', {});
  const { d } = submit(job, alice, { old: job });
  t.equal(d.allowed, true);
  t.same(d.patch, [{ op: 'add', path: '/metadata/labels', value: { [T]: 'tenant-1' } }]);
  const cron = workload('CronJob', 'batch/v1', {});
  const c = submit(cron, alice, { old: cron });
  t.equal(c.d.patch.length, 3, 'CronJob jobTemplate is mutable and gets the label and the setuid hardening');
});

t.test('controller-created ReplicaSets and Knative Deployments: never blocked, never mutated', async (t) => {
  const rs = workload('ReplicaSet', 'apps/v1', { hostNetwork: true });
  const byRs = submit(rs, replicaSetController);
  t.equal(byRs.d.allowed, true);
  t.same(byRs.d.patch, []);
  t.equal(byRs.d.warnings.length, 1);
  const dep = yamlDocs(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello-00001-deployment, namespace: tenant-1}
spec:
  selector: {matchLabels: {serving.knative.dev/revision: hello-00001}}
  template:
    metadata:
      labels: {serving.knative.dev/revision: hello-00001, tenant-guard.dev/tenant: tenant-1, sidecar.istio.io/inject: "true"}
    spec:
      containers: [{name: user-container, image: kennethreitz/httpbin}, {name: queue-proxy, image: queue}]
`)[0]!;
  const byKnative = submit(dep, knativeController);
  t.equal(byKnative.d.allowed, true);
  t.same(byKnative.d.patch, []);
  t.same(byKnative.d.warnings, []);
});

t.test('DELETE of workloads is not judged', async (t) => {
  const bad = workload('Deployment', 'apps/v1', { hostNetwork: true });
  const { d } = submit(bad, alice, { op: 'DELETE', old: bad });
  t.equal(d.allowed, true);
  t.same(d.patch, []);
});

t.test('TG-WORKLOAD-NET-ADMIN: capability spellings; harmless capabilities pass (regression)', async (t) => {
  for (const cap of ['NET_ADMIN', 'net_admin', 'CAP_NET_ADMIN', 'ALL']) {
    const r = submit(workload('Deployment', 'apps/v1', { containers: [{ name: 'w', image: 'b', securityContext: { capabilities: { add: [cap] } } }] }), alice);
    t.same(r.rules, ['TG-WORKLOAD-NET-ADMIN'], cap);
    t.match(r.d.violations[0]!.message, /flush them/);
  }
  const ok = submit(workload('Deployment', 'apps/v1', { containers: [{ name: 'w', image: 'b', securityContext: { privileged: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } } }] }), alice);
  t.equal(ok.d.allowed, true, 'NET_BIND_SERVICE and drop ALL are fine');
});

t.test('OpenShift: the proxy UID/GID of the namespace is refused like 1337 (regression)', async (t) => {
  // Istio's injector runs the proxy as the last UID of openshift.io/sa.scc.uid-range
  // (pkg/kube/inject/inject.go GetProxyIDs), which istio-iptables exempts from capture.
  const state = referenceState();
  state.upsert({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'tenant-1',
      labels: { [T]: 'tenant-1', 'istio-injection': 'enabled' },
      annotations: { 'openshift.io/sa.scc.uid-range': '1000650000/10000', 'openshift.io/sa.scc.supplemental-groups': '1000650000/10000,2000/5' },
    },
  });
  const proxyUid = submit(workload('Deployment', 'apps/v1', { containers: [{ name: 'w', image: 'b', securityContext: { runAsUser: 1000659999 } }] }), alice, { state });
  t.same(proxyUid.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-PROXY-UID', 'spec.template.spec.containers[0].securityContext.runAsUser']]);
  t.match(proxyUid.d.violations[0]!.message, /runAsUser: 1000659999, Istio's proxy UID in this namespace/);
  const proxyGid = submit(workload('Deployment', 'apps/v1', { securityContext: { runAsGroup: 1000659999 } }), alice, { state });
  t.same(proxyGid.rules, ['TG-WORKLOAD-PROXY-UID'], 'first supplemental-groups block');
  const other = submit(workload('Deployment', 'apps/v1', { containers: [{ name: 'w', image: 'b', securityContext: { runAsUser: 1000650000 } }] }), alice, { state });
  t.equal(other.d.allowed, true, 'the first UID of the range (the SCC default) is fine');
  t.same(submit(workload('Deployment', 'apps/v1', { securityContext: { runAsUser: 1337 } }), alice, { state }).rules, ['TG-WORKLOAD-PROXY-UID'], '1337 stays refused');
  const dashState = referenceState();
  dashState.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1', labels: { [T]: 'tenant-1' }, annotations: { 'openshift.io/sa.scc.uid-range': '5000-5999' } } });
  t.same(submit(workload('Deployment', 'apps/v1', { securityContext: { runAsGroup: 5999 } }), alice, { state: dashState }).rules, ['TG-WORKLOAD-PROXY-UID'], '"start-end" form, GID falls back to the UID range');
});
