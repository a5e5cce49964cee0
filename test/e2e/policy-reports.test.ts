// PolicyReports on a real kube-apiserver with the real wgpolicyk8s.io CRDs
// (test/fixtures/crds, from kubernetes-sigs/wg-policy-prototypes): the API
// server validates every report against the v1alpha2 schema, so a field of
// the wrong shape fails here, not in a user's cluster.
// 1. `tenant-guard audit --report` writes one PolicyReport per namespace and
//    the ClusterPolicyReport, with rule ids, resources and messages.
// 2. `serve --policy-reports` keeps them current: a new violation appears, a
//    namespace left with nothing to judge loses its report.
import { join } from 'node:path';
import t from 'tap';
import type { KubeObject } from '../../src/engine/types.js';
import type { PolicyReport } from '../../src/reports/policy-reports.js';
import { E2E_TIMEOUT_MS, crdFiles, setupEnv } from './fixtures/env.js';
import { repoRoot } from './fixtures/kube.js';
import { freePort, startProcess, waitFor } from './fixtures/processes.js';
import { runCli, tenancyConfigFile } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);

const reportCrds = ['wgpolicyk8s.io_policyreports.yaml', 'wgpolicyk8s.io_clusterpolicyreports.yaml'].map((f) => join(repoRoot, 'test', 'fixtures', 'crds', f));
const env = await setupEnv(t, { webhook: false, crds: [...crdFiles, ...reportCrds] });
const { admin, cluster } = env;
const TENANT_LABEL = 'tenant-guard.dev/tenant';

const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }) as KubeObject;
// Written before any webhook exists, as in a cluster that predates tenant-guard.
const optedOut = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, labels: { [TENANT_LABEL]: namespace } },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name, [TENANT_LABEL]: namespace }, annotations: { 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ name: 'app', image: 'app' }] } },
  },
});
await admin.create(ns('tenant-1', { [TENANT_LABEL]: 'tenant-1' }));
await admin.create(ns('tenant-2', { [TENANT_LABEL]: 'tenant-2' }));
await admin.create(ns('tenant-guard'));
await admin.create(optedOut('tenant-1', 'no-sidecar'));

const reportPath = (namespace: string) => `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${namespace}/policyreports/tenant-guard`;
const clusterReportPath = '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/tenant-guard';
const find = async (path: string) => admin.client.get<PolicyReport>(path).catch(() => undefined);

t.test('audit --report writes a PolicyReport per namespace and the ClusterPolicyReport', async (t) => {
  const r = await runCli(['audit', '--kubeconfig', cluster.kubeConfigFile(), '--config', tenancyConfigFile, '--report']);
  t.equal(r.code, 1, 'exit 1: an object violates a rule');
  t.match(r.stderr, /wrote \d+ PolicyReports? and the ClusterPolicyReport tenant-guard/);

  const report = await find(reportPath('tenant-1'));
  t.ok(report, 'tenant-1 has a PolicyReport');
  const fails = report!.results.filter((x) => x.result === 'fail');
  t.ok(fails.length > 0, 'with failures');
  for (const f of fails) {
    t.match(f.rule, /^TG-[A-Z0-9-]+$/, 'a rule id of docs/rules.md');
    t.equal(f.policy, 'tenant-guard');
    t.ok(f.message && f.message.length > 20, 'a message saying what is wrong');
    t.match(f.resources, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'no-sidecar', namespace: 'tenant-1' }]);
  }
  t.ok(fails.some((f) => /inject/i.test(f.message ?? '')), 'the sidecar opt-out is named');
  t.equal(report!.summary.fail, fails.length);

  const clusterReport = await find(clusterReportPath);
  t.ok(clusterReport, 'the ClusterPolicyReport exists');
  t.ok(clusterReport!.results.some((x) => x.resources?.[0]?.kind === 'Namespace' && x.resources[0].name === 'tenant-1'), 'namespaces are judged in the ClusterPolicyReport');
});

t.test('serve --policy-reports keeps the reports current on the leader', async (t) => {
  const port = await freePort();
  const proc = startProcess('tenant-guard-reports', cluster.dir, process.execPath, [
    '--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'serve',
    '--host', '127.0.0.1', '--port', String(port),
    '--certs-dir', join(cluster.dir, 'dev-certs'),
    '--config', tenancyConfigFile,
    '--kubeconfig', cluster.kubeConfigFile(),
    '--policy-reports', '10s',
    '--leader-lease', 'tenant-guard/tenant-guard-leader',
    '--replica', 'reports-0',
    '--shutdown-delay', '0s',
  ], { cwd: repoRoot });
  t.teardown(async () => {
    if (!t.passing()) t.comment(`--- last lines of ${proc.name} ---\n${proc.tail(60)}`);
    await proc.stop();
  });

  // tenant-1 is left with nothing to judge; tenant-2 gets a violation.
  await admin.delete(optedOut('tenant-1', 'no-sidecar'));
  await admin.create(optedOut('tenant-2', 'late'));
  await waitFor(
    'the controller to report tenant-2 and drop tenant-1',
    async () => {
      const r2 = await find(reportPath('tenant-2'));
      const r1 = await find(reportPath('tenant-1'));
      return !!r2?.results.some((x) => x.result === 'fail' && x.resources?.[0]?.name === 'late') && r1 === undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000, watch: [proc] },
  );
  const r2 = (await find(reportPath('tenant-2')))!;
  t.equal(r2.metadata.labels['app.kubernetes.io/managed-by'], 'tenant-guard');
  t.ok(r2.summary.fail > 0);
  const leases = await admin.client.get<{ spec: { holderIdentity?: string } }>('/apis/coordination.k8s.io/v1/namespaces/tenant-guard/leases/tenant-guard-leader');
  t.equal(leases.spec.holderIdentity, 'reports-0', 'written by the leader');
});

t.test('a namespace held in Terminating by a finalizer: its 403 stops no other report', async (t) => {
  // No namespace controller runs here, so a deleted namespace stays Terminating, as one whose finalizer never completes does.
  await admin.create({ ...ns('held', { [TENANT_LABEL]: 'tenant-2' }), metadata: { name: 'held', labels: { [TENANT_LABEL]: 'tenant-2' }, finalizers: ['example.com/held'] } } as KubeObject);
  await admin.create(optedOut('held', 'in-held'));
  await admin.delete(ns('held'));
  await waitFor('the namespace to be Terminating', async () => (await admin.client.get<{ status: { phase: string } }>('/api/v1/namespaces/held')).status.phase === 'Terminating', {
    timeoutMs: 10_000,
    intervalMs: 200,
  });

  // Written as if the namespace were still active (no skip list): the real API server's 403 for it.
  const { buildPolicyReports } = await import('../../src/reports/policy-reports.js');
  const { writePolicyReports } = await import('../../src/reports/write-policy-reports.js');
  const judged = (namespace: string) => ({
    object: optedOut(namespace, 'x'),
    as: { username: 'e2e', groups: [] },
    decision: { allowed: true, intercepted: true, violations: [], warnings: [], patch: [] },
  });
  const reports = buildPolicyReports(['a-before', 'held', 'z-after'].map(judged), [], new Date());
  await admin.create(ns('a-before'));
  await admin.create(ns('z-after'));
  const w = await writePolicyReports(admin.client, reports, { retry: { attempts: 3, baseMs: 50, maxMs: 200 } });
  t.same(w.skipped, ['held'], "the terminating namespace's 403 is recognised and skipped");
  t.same(w.failures, []);
  t.ok(w.clusterWritten);
  t.ok(await find(reportPath('a-before')), 'the report before it is written');
  t.ok(await find(reportPath('z-after')), 'and the one after it');

  // audit --report skips it from the snapshot and writes everything else.
  const r = await runCli(['audit', '--kubeconfig', cluster.kubeConfigFile(), '--config', tenancyConfigFile, '--report']);
  t.match(r.stderr, /and the ClusterPolicyReport tenant-guard.*skipped 1 terminating namespace \(held\)/);
  t.notMatch(r.stderr, /TG_ERR_CLUSTER/);
  t.ok(await find(clusterReportPath));
});
