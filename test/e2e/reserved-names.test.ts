// Trusted names reserved (issue 17, item 4) through a real API server: the
// chart's webhook configurations, tenant-guard serving a config that trusts
// namespaces by name, and a tenant admin whose RBAC (by mistake, or by a
// self-service namespace policy) lets it create and patch namespaces.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { loadDefaultTenancyConfig } from '../../src/config/default.js';
import type { KubeObject } from '../../src/engine/types.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { waitFor } from './fixtures/processes.js';
import { ALICE, createTenancy, TENANT_LABEL } from './fixtures/reference.js';
import { CHART_NAMESPACE, installChartIdentity, renderChartWebhooks, tenancyConfigFile, TenantGuardServer } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);
const env = await setupEnv(t, { webhook: false });
const { admin, cluster, bins } = env;
await createTenancy(env);

// The bundled tenancy, plus a platform controller group whose namespace does
// not exist yet and the names the chart reserves (its excluded namespaces).
const tenancy = parse(readFileSync(tenancyConfigFile, 'utf8')) as Record<string, any>;
const defaults = loadDefaultTenancyConfig().platformControllers;
tenancy.platformControllers = {
  users: tenancy.platformControllers?.users ?? defaults.users,
  groups: [...(tenancy.platformControllers?.groups ?? defaults.groups), 'system:serviceaccounts:cert-manager'],
};
tenancy.reservedNamespaces = ['kube-node-lease', 'kube-public', 'kube-system', CHART_NAMESPACE];
const configFile = join(cluster.dir, 'tenancy-reserved.yaml');
writeFileSync(configFile, stringify(tenancy));

// Before any webhook: tenant-2 trusts a namespace name nobody holds yet (issue 20 item 4 below).
await admin.create({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'secret-name-xyz', namespace: 'tenant-2' },
  spec: { rules: [{ from: [{ source: { namespaces: ['tenant-2', 'tenant-2-jobs'] } }] }] },
} as KubeObject);

const kubeconfig = await installChartIdentity(bins, cluster, admin);
const server = new TenantGuardServer(cluster);
t.teardown(() => server.stop());
await server.start(kubeconfig, { configFile });
for (const c of await renderChartWebhooks(bins, cluster.dir, server)) await admin.create(c);

// RBAC given too widely: tenant-1's admins may create and patch any namespace.
await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'e2e-namespace-writer' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'patch', 'update', 'get'] }] } as unknown as KubeObject);
await admin.create({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'e2e-namespace-writer' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-namespace-writer' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'tenant-1-admins' }],
} as unknown as KubeObject);

const alice = env.as(ALICE);
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }) as KubeObject;

// The API server picks up webhook configurations a moment after they exist.
await waitFor(
  'the webhooks to judge namespace writes',
  async () => {
    const r = await alice.refusal('probe', () => alice.create(ns('cert-manager'), { dryRun: true })).catch(() => undefined);
    return !!r && /TG-NS-RESERVED-NAME/.test(r.message);
  },
  { timeoutMs: 30_000, intervalMs: 300, watch: server.proc ? [server.proc] : [] },
);

t.test("a tenant admin may not squat a platform controller group's namespace", async (t) => {
  const r = await alice.refusal('create cert-manager', () => alice.create(ns('cert-manager')));
  t.equal(r.code, 403);
  t.match(r.message, /admission webhook ".*tenant-guard.dev" denied the request/);
  t.match(r.message, /\[TG-NS-RESERVED-NAME\] metadata\.name: alice may not create namespace "cert-manager": it is its service accounts are platformControllers \(group system:serviceaccounts:cert-manager\)/);
  t.notOk(await admin.find(ns('cert-manager')), 'nothing stored');
  const labelled = await alice.refusal('create cert-manager for tenant-1', () => alice.create(ns('cert-manager', { [TENANT_LABEL]: 'tenant-1' })));
  t.match(labelled.message, /TG-NS-RESERVED-NAME/, 'labelled as her tenant\'s, too');
});

t.test('a tenant admin may not relabel a namespace the webhooks skip (kube-public)', async (t) => {
  const ref = ns('kube-public');
  const before = (await admin.find(ref))?.metadata.labels;
  const r = await alice.refusal('label kube-public', () => alice.mergePatch(ref, { metadata: { labels: { [TENANT_LABEL]: 'tenant-1' } } }));
  t.equal(r.code, 403);
  t.match(r.message, /reserved-namespaces\.validate\.tenant-guard\.dev[\s\S]*\[TG-NS-RESERVED-NAME\] metadata\.labels/);
  t.same((await admin.find(ref))?.metadata.labels, before, 'labels unchanged');
  const fine = await alice.mergePatch(ref, { metadata: { annotations: { 'e2e/note': 'x' } } });
  t.equal(fine.metadata.annotations?.['e2e/note'], 'x', 'an annotation is no relabel');
});

t.test('platform admins create and label them', async (t) => {
  const created = await admin.create(ns('cert-manager'));
  t.equal(created.metadata.name, 'cert-manager');
  await admin.mergePatch(ns('kube-public'), { metadata: { labels: { team: 'platform' } } });
  t.equal((await admin.find(ns('kube-public')))?.metadata.labels?.team, 'platform');
});

t.test("a refusal names another tenant's policy only by tenant; a platform admin reads it whole (issue 20)", async (t) => {
  const r = await alice.refusal('create tenant-2-jobs', () => alice.create(ns('tenant-2-jobs')));
  t.equal(r.code, 403);
  t.match(r.message, /\[TG-NS-TRUSTED-NAME\] metadata\.name: "tenant-2-jobs" is trusted by a policy of tenant tenant-2\. As tenant tenant-1/);
  t.notMatch(r.message, /secret-name-xyz|rules\[0\]/, "tenant-2's policy name and rule stay hidden from alice");
  const full = await admin.refusal('create tenant-2-jobs for tenant-1', () => admin.create(ns('tenant-2-jobs', { [TENANT_LABEL]: 'tenant-1' }), { dryRun: true }));
  t.match(full.message, /AuthorizationPolicy tenant-2\/secret-name-xyz \(rules\[0\]\.from\[0\]\.source\.namespaces\[1\] = "tenant-2-jobs"\)/);
});
