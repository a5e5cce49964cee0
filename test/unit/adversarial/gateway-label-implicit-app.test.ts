// Adversarial review (bob, tenant-2 admin): TG-WORKLOAD-GATEWAY-LABEL compares
// the labels the tenant wrote with the gateway's (or a shared hop's)
// selector, but Knative adds `app: <revision name>` to every revision pod
// whose template has no `app` label (knative/serving
// pkg/reconciler/revision/resources/meta.go makeLabels: "If users don't
// specify an app: label we will automatically populate it with the revision
// name"). The revision name is the tenant's: `spec.template.metadata.name`
// (`<service>-<suffix>`) or a bare Revision's own name. So a Knative Service
// `istio` whose template is named `istio-ingressgateway` and labelled
// `istio: ingressgateway` runs pods wearing exactly
// {app: istio-ingressgateway, istio: ingressgateway}: the root-namespace
// gateway policies (the hardened reference's allow-platform-through-gateway
// admits every caller to every port but 8012/8081) select it, while the model
// (MeshState.podLabels) assumes no tenant pod wears those labels.
// FAILS on main at ffa3f35.
import t from 'tap';
import { evaluate } from '../../../src/engine/index.js';
import type { KubeObject, UserInfo } from '../../../src/engine/types.js';
import type { SharedHop } from '../../../src/config/types.js';
import { config, namespace, referenceState } from '../mesh/reference-state.js';

const TL = 'tenant-guard.dev/tenant';
const BOB: UserInfo = { username: 'bob', groups: ['tenant-2-admins'] };
const HOP: SharedHop = {
  name: 'external-gateway', namespace: 'istio-system', labels: { app: 'istio-external-gateway', istio: 'external-ingressgateway' },
  serviceAccount: 'external-ingressgateway', ports: ['8080'], routesBy: 'any', acceptsPlaintext: true, sidecar: false,
};
const cfg = config({ sharedHops: [HOP] });
const container = { image: 'x', securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false } };

function judge(obj: KubeObject) {
  const s = referenceState('kind');
  s.upsert(namespace('tenant-2', { [TL]: 'tenant-2', 'istio-injection': 'enabled' }));
  const [group, version] = obj.apiVersion.split('/') as [string, string];
  return evaluate({ operation: 'CREATE', kind: { group, version, kind: obj.kind }, namespace: 'tenant-2', name: obj.metadata.name, object: obj, userInfo: BOB, dryRun: false }, s, cfg);
}

const cases: [string, KubeObject][] = [
  [
    'Knative Service whose revision is named istio-ingressgateway (the shared gateway\'s selector)',
    { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'istio', namespace: 'tenant-2' }, spec: { template: { metadata: { name: 'istio-ingressgateway', labels: { istio: 'ingressgateway' } }, spec: { containers: [container] } } } } as KubeObject,
  ],
  [
    'Configuration whose revision is named after a shared hop\'s app label',
    { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'istio', namespace: 'tenant-2' }, spec: { template: { metadata: { name: 'istio-external-gateway', labels: { istio: 'external-ingressgateway' } }, spec: { containers: [container] } } } } as KubeObject,
  ],
  [
    'bare Revision named after a shared hop\'s app label',
    { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'istio-external-gateway', namespace: 'tenant-2', labels: { istio: 'external-ingressgateway' } }, spec: { containers: [container] } } as KubeObject,
  ],
];

for (const [what, obj] of cases) {
  t.test(what, async (t) => {
    const d = judge(obj);
    t.ok(d.violations.some((v) => v.rule === 'TG-WORKLOAD-GATEWAY-LABEL'), `${what}: ${d.allowed ? 'admitted' : d.violations.map((v) => v.rule).join(',')}`);
  });
}

t.test('control: the same labels written out are refused', async (t) => {
  const d = judge({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'istio2', namespace: 'tenant-2' }, spec: { template: { metadata: { labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } }, spec: { containers: [container] } } } } as KubeObject);
  t.ok(d.violations.some((v) => v.rule === 'TG-WORKLOAD-GATEWAY-LABEL'));
});

// What the admitted Service's pod then is to the mesh (decideRequest, the model checked against Istio by test:oracle):
// tenant-1's workload reaches tenant-2's user container on 8080 through the root-namespace gateway ALLOW,
// while the matrix, which assumes no tenant pod wears the gateway's labels, reports tenant-1 -> tenant-2 closed.
import { decideRequest } from '../../../src/mesh/decide.js';
import { computeMatrix } from '../../../src/mesh/matrix.js';
import { referencePolicies } from '../mesh/reference-state.js';

t.test('consequence: the pod Knative runs takes the gateway policy, the matrix says closed', async (t) => {
  const policies = referencePolicies('kind').filter((o) => o.kind === 'AuthorizationPolicy');
  const req = { principal: 'cluster.local/ns/tenant-1/sa/default', sourceIP: '10.0.0.1', port: 8080, host: 'x', method: 'GET', path: '/' };
  const opts = { rootNamespace: 'istio-system', trustDomain: 'cluster.local' };
  const plain = decideRequest(policies, { namespace: 'tenant-2', labels: { istio: 'ingressgateway', app: 'other' } }, req, opts);
  t.equal(plain.verdict, 'deny', 'a tenant-2 pod without the implicit app label: tenant-1 denied');
  const knativePod = decideRequest(policies, { namespace: 'tenant-2', labels: { istio: 'ingressgateway', app: 'istio-ingressgateway', 'serving.knative.dev/revision': 'istio-ingressgateway' } }, req, opts);
  t.equal(knativePod.verdict, 'allow', `the pod Knative labels app=istio-ingressgateway: tenant-1 admitted (${knativePod.applied.allow.join(', ')})`);
  const s = referenceState('kind');
  s.upsert(namespace('tenant-1', { [TL]: 'tenant-1', 'istio-injection': 'enabled' }));
  s.upsert(namespace('tenant-2', { [TL]: 'tenant-2', 'istio-injection': 'enabled' }));
  const cell = computeMatrix(s, config()).cells.find((c) => c.from === 'tenant-1' && c.to === 'tenant-2' && c.path === 'direct');
  t.equal(cell?.allowed, false, 'the model reports tenant-1 -> tenant-2 direct closed (it assumes the label rule holds)');
});
