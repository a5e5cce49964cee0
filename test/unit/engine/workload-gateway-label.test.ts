import t from 'tap';
import type { KubeObject } from '../../../src/engine/types.js';
import { alice, replicaSetController, submit } from './workload-harness.js';

const deployment = (labels: Record<string, string>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'tenant-1' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', ...labels } }, spec: { containers: [{ name: 'web', image: 'web' }] } } },
});

t.test('a tenant workload may not pose as a Gateway API gateway proxy', async (t) => {
  for (const key of ['gateway.networking.k8s.io/gateway-name', 'istio.io/gateway-name']) {
    const r = submit(deployment({ [key]: 'shared' }), alice);
    t.equal(r.d.allowed, false, key);
    t.match(r.d.violations, [{ rule: 'TG-WORKLOAD-GATEWAY-LABEL', path: `spec.template.metadata.labels[${JSON.stringify(key)}]` }], key);
  }
  t.equal(submit(deployment({ "app.kubernetes.io/name": "web" }), alice).d.allowed, true, 'ordinary labels pass');
});

t.test("Istio's own gateway deployment, written by a controller, is never blocked", async (t) => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'gw-abc', namespace: 'tenant-1', labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' } },
    spec: { containers: [{ name: 'istio-proxy', image: 'proxyv2' }] },
  };
  const r = submit(pod, replicaSetController);
  t.equal(r.d.allowed, true);
  t.ok(r.d.warnings.some((w) => w.includes('TG-WORKLOAD-GATEWAY-LABEL') || w.includes('gateway-name')), JSON.stringify(r.d.warnings));
});
