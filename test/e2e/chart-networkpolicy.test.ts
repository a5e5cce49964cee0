// The chart's NetworkPolicy as a real kube-apiserver validates it: the
// defaults (catch-all ranges with the pod network cut out, per family) and a
// narrowed, dual-stack set are accepted; an `except` outside its range is
// what the API server would refuse, so the chart only cuts it from /0 ranges.
import t from 'tap';
import { E2E_TIMEOUT_MS, crdFiles, setupEnv } from './fixtures/env.js';
import { CHART_NAMESPACE, helmTemplate } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);
const env = await setupEnv(t, { webhook: false, crds: crdFiles });
const { admin, bins, cluster } = env;
await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: CHART_NAMESPACE } });

for (const [name, values] of [
  ['defaults', {}],
  ['narrowed, dual-stack pod networks, extra peer, metrics selector', {
    networkPolicy: {
      webhook: { apiServerCIDRs: ['172.18.0.0/16', '0.0.0.0/0', '::/0'], podCIDRs: ['10.42.0.0/16', 'fd00:10:244::/56'], extraFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'proxy' } } }] },
      metrics: { namespace: 'observability', podSelector: { matchLabels: { app: 'prometheus' } } },
    },
  }],
] as const) {
  t.test(`the NetworkPolicy is accepted by the API server: ${name}`, async (t) => {
    const docs = await helmTemplate(bins, cluster.dir, ['templates/networkpolicy.yaml'], values as Record<string, unknown>);
    t.equal(docs.length, 1);
    const np = docs[0]!;
    t.equal(np.kind, 'NetworkPolicy');
    // Server-side dry run: the API server's own validation of ipBlock/except, ports and selectors.
    const created = await admin.create(np, { dryRun: true });
    t.match((created as unknown as { spec: unknown }).spec, (np as unknown as { spec: unknown }).spec, 'stored as rendered');
  });
}
