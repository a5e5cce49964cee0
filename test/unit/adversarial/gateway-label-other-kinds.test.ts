// Adversarial review (bob, tenant-2 admin): TG-WORKLOAD-GATEWAY-LABEL refuses
// the shared gateway's and the shared hops' selector labels on Pods, pod
// templates and Knative templates, and the model (MeshState.podLabels)
// therefore never assumes a tenant workload wears them. A WorkloadEntry (its
// spec.labels) or a WorkloadGroup (spec.metadata.labels, the labels of every
// VM proxy registering through it) are workloads AuthorizationPolicy
// selectors select as well (a root-namespace selector, every namespace), and
// they are admitted with those labels. FAILS on main at ffa3f35.
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

function state() {
  const s = referenceState('kind');
  s.upsert(namespace('tenant-2', { [TL]: 'tenant-2', 'istio-injection': 'enabled' }));
  return s;
}

const judge = (obj: KubeObject) =>
  evaluate({ operation: 'CREATE', kind: { group: 'networking.istio.io', version: 'v1', kind: obj.kind }, namespace: 'tenant-2', name: obj.metadata.name, object: obj, userInfo: BOB, dryRun: false }, state(), cfg);

const cases: [string, KubeObject][] = [
  ['WorkloadEntry wearing the shared hop\'s labels', { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'we1', namespace: 'tenant-2' }, spec: { address: '203.0.113.10', labels: HOP.labels } } as KubeObject],
  ['WorkloadEntry wearing the shared gateway\'s labels', { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'we2', namespace: 'tenant-2' }, spec: { address: '203.0.113.11', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } } } as KubeObject],
  ['WorkloadGroup whose template labels are the shared hop\'s', { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'wg1', namespace: 'tenant-2' }, spec: { metadata: { labels: HOP.labels }, template: { serviceAccount: 'default' } } } as KubeObject],
];

for (const [what, obj] of cases) {
  t.test(what, async (t) => {
    const d = judge(obj);
    t.notOk(d.allowed, `${what}: ${d.allowed ? 'admitted' : d.violations.map((v) => v.rule).join(',')}`);
    t.ok(d.violations.some((v) => v.rule === 'TG-WORKLOAD-GATEWAY-LABEL'));
  });
}
