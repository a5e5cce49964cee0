// The chart's promise, checked in a real kube-apiserver: with tenant-guard
// DOWN (its webhook URL refuses connections) and failurePolicy Fail, tenants'
// writes are refused, and the control plane, the platform's namespaces and
// its controllers keep working. This also proves the matchConditions (CEL)
// and namespaceSelectors are accepted and mean what the chart says.
//
// Needs kube-apiserver and etcd from test/e2e/tools/build-binaries.sh
// (cached; the first run compiles them, hence the e2e timeout).
import t from 'tap';
import type { KubeObject } from '../../src/engine/types.js';
import { ADMIN, type UserIdentity } from './fixtures/cluster.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { Kube, refusalOf } from './fixtures/kube.js';
import { freePort, waitFor } from './fixtures/processes.js';
import { parseDocs, template } from '../integration/chart-helm.js';

t.setTimeout(E2E_TIMEOUT_MS);

const env = await setupEnv(t, { webhook: false });
const { admin } = env;
const TENANT_LABEL = 'tenant-guard.dev/tenant';

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
// Deployments, not Pods: no controller-manager runs here, so namespaces have
// no default ServiceAccount and the ServiceAccount admission plugin would
// refuse every Pod before the webhooks are even asked.
const deployment = (namespace: string, name = 'app'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
});
const authorizationPolicy = (namespace: string): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'policy', namespace },
  spec: {},
});

// State from before the install: a tenant namespace, one named only in the
// config, one already opted out, and the release namespace.
await admin.create(ns('tenant-1', { [TENANT_LABEL]: 'tenant-1' }));
await admin.create(ns('tenant-2'));
await admin.create(ns('opted-out', { [TENANT_LABEL]: 'tenant-1', 'tenant-guard.dev/ignore': 'true' }));
await admin.create(ns('tenant-guard'));

const deadPort = await freePort();
const rendered = template([
  '--show-only', 'templates/webhooks.yaml',
  '--set', `webhook.url=https://127.0.0.1:${deadPort}`,
  '--set-json', 'tenancy.tenants=[{"name":"tenant-1","namespaces":["tenant-1"]},{"name":"tenant-2","namespaces":["tenant-2"]}]',
]);
if (rendered.status !== 0) throw new Error(rendered.stderr);
// Created by the API server's own validation: a CEL expression that does not compile is refused here.
for (const config of parseDocs(rendered.stdout)) await admin.create(config as unknown as KubeObject);

// The API server picks up webhook configurations through an informer: wait until they bite.
let probe = 0;
await waitFor(
  'the webhook configurations to take effect',
  async () => {
    try {
      await admin.create(ns(`probe-${probe++}`), { dryRun: true });
      return false;
    } catch (e) {
      return /failed calling webhook/.test(refusalOf(e)?.message ?? '');
    }
  },
  { timeoutMs: 30_000, intervalMs: 300 },
);

const as = (id: UserIdentity) => new Kube(env.cluster.kubeConfig(id), id.user);
// Client certificates carry the groups; system:masters gives RBAC, and is no exemption.
const replicaSetController = as({ user: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:masters', 'system:serviceaccounts', 'system:serviceaccounts:kube-system'] });
const controllerManager = as({ user: 'system:kube-controller-manager', groups: ['system:masters'] });
const knativeController = as({ user: 'system:serviceaccount:knative-serving:controller', groups: ['system:masters', 'system:serviceaccounts', 'system:serviceaccounts:knative-serving'] });
t.equal(ADMIN.groups.includes('system:masters'), true);

async function outcome(request: () => Promise<unknown>): Promise<'accepted' | string> {
  try {
    await request();
    return 'accepted';
  } catch (e) {
    const r = refusalOf(e);
    if (!r) throw e;
    return r.message;
  }
}

const keepsWorking: [string, () => Promise<unknown>][] = [
  ['creating namespace istio-system', () => admin.create(ns('istio-system'))],
  ['creating namespace knative-serving', () => admin.create(ns('knative-serving'))],
  ['a Deployment in kube-system', () => admin.create(deployment('kube-system'))],
  ['a Deployment in istio-system', () => admin.create(deployment('istio-system'))],
  ['a Deployment in knative-serving', () => admin.create(deployment('knative-serving'))],
  ['a Deployment in the release namespace', () => admin.create(deployment('tenant-guard'))],
  ['a mesh policy in kube-system', () => admin.create(authorizationPolicy('kube-system'))],
  ['kube-controller-manager creating a namespace', () => controllerManager.create(ns('made-by-kcm'))],
  ['the replicaset controller writing in a tenant namespace', () => replicaSetController.create(deployment('tenant-1', 'by-controller'))],
  ['Knative\'s controller writing in a tenant namespace', () => knativeController.create(deployment('tenant-1', 'by-knative'))],
  ['deleting a workload in a tenant namespace', () => admin.delete(deployment('tenant-1', 'by-controller'))],
  ['a Deployment in an opted-out namespace', () => admin.create(deployment('opted-out'))],
  ['relabelling an opted-out namespace that stays opted out', () => admin.mergePatch(ns('opted-out'), { metadata: { labels: { team: 'x' } } })],
  ['a Deployment in a namespace no tenant owns', () => admin.create(deployment('made-by-kcm'))],
];
for (const [what, request] of keepsWorking) {
  t.test(`webhook down, still accepted: ${what}`, async (t) => {
    t.equal(await outcome(request), 'accepted');
  });
}

const refused: [string, string, () => Promise<unknown>][] = [
  ['a new tenant namespace', 'namespaces.mutate', () => admin.create(ns('team-x'))],
  ['a Deployment in a labelled tenant namespace', 'workloads.mutate', () => admin.create(deployment('tenant-1'))],
  ['a Deployment in a namespace named in the config, not yet labelled', 'workloads-by-name.mutate', () => admin.create(deployment('tenant-2'))],
  ['a mesh policy in istio-system (shared by every tenant)', 'mesh.mutate', () => admin.create(authorizationPolicy('istio-system'))],
  ['a mesh policy in a tenant namespace', 'mesh.mutate', () => admin.create(authorizationPolicy('tenant-1'))],
  ['opting a tenant namespace out', 'namespaces.mutate', () => admin.mergePatch(ns('tenant-1'), { metadata: { labels: { 'tenant-guard.dev/ignore': 'true' } } })],
  ['opting an ignored namespace back in', 'namespaces.mutate', () => admin.mergePatch(ns('opted-out'), { metadata: { labels: { 'tenant-guard.dev/ignore': null } } })],
  ['deleting a tenant namespace', 'namespaces.validate', () => admin.delete(ns('tenant-1'))],
];
for (const [what, hook, request] of refused) {
  t.test(`webhook down, failurePolicy Fail refuses: ${what}`, async (t) => {
    t.match(await outcome(request), new RegExp(`failed calling webhook "${hook.replace('.', '\\.')}\\.tenant-guard\\.dev"`));
  });
}
