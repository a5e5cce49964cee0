// One Lease for all leader-only work, on a real kube-apiserver (issue 20
// item 6): two `tenant-guard serve` replicas run every controller at once, the
// baseline (--controllers), certificates mode self (--self-certs) and
// PolicyReports (--policy-reports), under the one Lease of --controllers.
// The leader is SIGKILLed (no step-down, no release: its Lease must expire);
// the other replica takes the Lease only then, and resumes all three: a
// baseline object deleted after the kill is restored, a reset caBundle is
// written back from the certificates Secret, and a new violation reaches a
// PolicyReport, each counted in the new leader's metrics.
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/engine/types.js';
import type { PolicyReport } from '../../src/reports/policy-reports.js';
import { E2E_TIMEOUT_MS, crdFiles, setupEnv } from './fixtures/env.js';
import { repoRoot } from './fixtures/kube.js';
import { freePort, startProcess, waitFor, type ManagedProcess } from './fixtures/processes.js';
import { createTenancy, TENANT_LABEL } from './fixtures/reference.js';
import { CHART_NAMESPACE, tenancyConfigFile } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

const reportCrds = ['wgpolicyk8s.io_policyreports.yaml', 'wgpolicyk8s.io_clusterpolicyreports.yaml'].map((f) => join(repoRoot, 'test', 'fixtures', 'crds', f));
const env = await setupEnv(t, { webhook: false, crds: [...crdFiles, ...reportCrds] });
const { admin, cluster } = env;
await createTenancy(env);
await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: CHART_NAMESPACE } } as KubeObject);

const LEASE = 'tenant-guard-controllers';
const LEASE_SECONDS = 4;
const SECRET = 'tenant-guard-tls';
const CONFIG_NAME = 'tenant-guard';

// The bundled tenancy with the baseline on.
const tenancy = parse(readFileSync(tenancyConfigFile, 'utf8')) as Record<string, unknown>;
tenancy.baseline = { enabled: true };
const configFile = join(cluster.dir, 'tenancy-failover.yaml');
writeFileSync(configFile, stringify(tenancy));

// tenant-guard's two webhook configurations, whose caBundle mode self keeps.
// They match a resource nobody writes: this file is about the controllers, and
// admission must not depend on which replica leads.
for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
  await admin.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: { name: CONFIG_NAME },
    webhooks: [
      {
        name: `${kind === 'MutatingWebhookConfiguration' ? 'mutate' : 'validate'}.tenant-guard.dev`,
        clientConfig: { url: 'https://127.0.0.1:9/none' },
        rules: [{ apiGroups: ['e2e.tenant-guard.dev'], apiVersions: ['v1'], resources: ['nothings'], operations: ['CREATE'] }],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      },
    ],
  } as unknown as KubeObject);
}

interface Replica {
  name: string;
  port: number;
  proc: ManagedProcess;
}

async function startReplica(name: string): Promise<Replica> {
  const port = await freePort();
  const proc = startProcess(name, cluster.dir, process.execPath, [
    '--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'serve',
    '--host', '127.0.0.1', '--port', String(port),
    '--config', configFile,
    '--kubeconfig', cluster.kubeConfigFile(),
    '--controllers', '--lease-namespace', CHART_NAMESPACE, '--lease-name', LEASE, '--lease-duration', `${LEASE_SECONDS}s`,
    '--self-certs', `${CHART_NAMESPACE}/${SECRET}`, '--cert-ip', '127.0.0.1',
    '--mutating-webhook', CONFIG_NAME, '--validating-webhook', CONFIG_NAME,
    '--self-certs-dir', join(cluster.dir, `self-certs-${name}`), '--cert-resync', '2s',
    '--policy-reports', '10s',
    '--replica', name,
    '--shutdown-delay', '0s',
  ], { cwd: repoRoot });
  return { name, port, proc };
}

const replicas = [await startReplica('replica-a'), await startReplica('replica-b')];
t.teardown(async () => {
  if (!t.passing()) for (const r of replicas) t.comment(`--- last lines of ${r.name} ---\n${r.proc.tail(80)}`);
  await Promise.all(replicas.map((r) => r.proc.stop()));
});

function get(r: Replica, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    // The serving certificate is the leader's own CA's: the test reads metrics and readiness only.
    const req = https.get({ host: '127.0.0.1', port: r.port, path, rejectUnauthorized: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

/** Sum of a metric's samples whose labels match. */
async function metric(r: Replica, name: string, match: Record<string, RegExp> = {}): Promise<number> {
  const text = (await get(r, '/metrics')).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(match).every(([k, re]) => re.test(labels[k] ?? ''))) sum += Number(m[3]);
  }
  return sum;
}

const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE, namespace: CHART_NAMESPACE } };
const leaseHolder = async () => (await admin.read<KubeObject & { spec: { holderIdentity?: string } }>(leaseRef)).spec.holderIdentity ?? '';
// Election Leases only: each replica also reports the CA it serves in a Lease of its own (`<secret>-served-<replica>`, serving-report.ts).
const leases = async () =>
  (await admin.client.get<{ items: { metadata: { name: string } }[] }>(`/apis/coordination.k8s.io/v1/namespaces/${CHART_NAMESPACE}/leases`)).items
    .map((l) => l.metadata.name)
    .filter((n) => !n.startsWith(`${SECRET}-served-`));
async function leaders(): Promise<Replica[]> {
  const out: Replica[] = [];
  for (const r of replicas) if (r.proc.running && (await metric(r, 'tenant_guard_leader')) === 1) out.push(r);
  return out;
}

const apRef = (namespace: string) => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-allow-tenant', namespace } }) as KubeObject;
const reportPath = (namespace: string) => `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${namespace}/policyreports/tenant-guard`;
const findReport = async (namespace: string) => admin.client.get<PolicyReport>(reportPath(namespace)).catch(() => undefined);
const configPath = (kind: string) => `/apis/admissionregistration.k8s.io/v1/${kind}/${CONFIG_NAME}`;
const bundles = async (kind: string) => (await admin.client.get<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(configPath(kind))).webhooks.map((w) => w.clientConfig.caBundle ?? '');
const secretBundle = async () => (await admin.client.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${CHART_NAMESPACE}/secrets/${SECRET}`)).data['ca.crt']!;
const caBundlesMatch = async () => {
  const want = await secretBundle().catch(() => '');
  const all = [...(await bundles('mutatingwebhookconfigurations')), ...(await bundles('validatingwebhookconfigurations'))];
  return want !== '' && all.every((b) => b === want);
};
// Written before it is judged, as in a cluster that predates tenant-guard: PolicyReports name it.
const optedOut = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, labels: { [TENANT_LABEL]: namespace } },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations: { 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ name: 'app', image: 'app' }] } },
  },
});
const reportNames = async (namespace: string, name: string) => !!(await findReport(namespace))?.results.some((x) => x.result === 'fail' && x.resources?.[0]?.name === name);

let leader: Replica;
let follower: Replica;

t.test('one replica leads one Lease and does all three jobs; the other writes nothing', async (t) => {
  await admin.create(optedOut('tenant-1', 'before-kill'));
  const procs = replicas.map((r) => r.proc);
  await waitFor('both replicas ready (the leader writes the certificate they serve)', async () => (await get(replicas[0]!, '/readyz')).status === 200 && (await get(replicas[1]!, '/readyz')).status === 200, {
    timeoutMs: 90_000,
    intervalMs: 500,
    watch: procs,
  });
  await waitFor('the leader\'s baseline, caBundle and first report', async () => !!(await admin.find(apRef('tenant-1'))) && (await caBundlesMatch()) && (await reportNames('tenant-1', 'before-kill')), {
    timeoutMs: 60_000,
    intervalMs: 500,
    watch: procs,
  });
  const l = await leaders();
  t.equal(l.length, 1, `exactly one leader (${l.map((r) => r.name).join(', ')})`);
  leader = l[0]!;
  follower = replicas.find((r) => r !== leader)!;
  t.match(await leaseHolder(), new RegExp(`^${leader.name}`), 'the Lease names it');
  t.same(await leases(), [LEASE], 'one Lease: no second one for certificates or reports');
  t.ok((await metric(leader, 'tenant_guard_baseline_writes_total')) > 0, 'the leader wrote the baseline');
  t.ok((await metric(leader, 'tenant_guard_certificate_changes_total', { action: /ca-created/ })) === 1, 'the leader created the CA');
  t.ok((await metric(leader, 'tenant_guard_policy_report_writes_total', { result: /^written$/ })) > 0, 'the leader wrote PolicyReports');
  for (const [m, what] of [
    ['tenant_guard_baseline_writes_total', 'baseline objects'],
    ['tenant_guard_certificate_changes_total', 'certificate changes'],
    ['tenant_guard_cabundle_patches_total', 'caBundle patches'],
    ['tenant_guard_policy_report_writes_total', 'PolicyReports'],
  ] as const) {
    t.equal(await metric(follower, m), 0, `the follower wrote no ${what}`);
  }
});

t.test('the leader is SIGKILLed: the other replica takes the Lease once it expires and resumes baseline, certificates and reports', async (t) => {
  const secretBefore = await secretBundle();
  const killed = Date.now();
  leader.proc.kill();
  // Right after the kill, while nobody leads: a baseline object deleted, caBundle reset (a GitOps sync of the raw manifests), a new violation.
  await admin.delete(apRef('tenant-2'));
  for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
    await admin.client.request('PATCH', configPath(kind), { body: [{ op: 'remove', path: '/webhooks/0/clientConfig/caBundle' }], contentType: 'application/json-patch+json' });
  }
  await admin.create(optedOut('tenant-2', 'after-kill'));

  await waitFor('the other replica to lead', async () => (await metric(follower, 'tenant_guard_leader')) === 1, { timeoutMs: (LEASE_SECONDS + 15) * 1000, intervalMs: 100, watch: [follower.proc] });
  const tookOver = Date.now() - killed;
  t.ok(tookOver >= (LEASE_SECONDS - 1) * 1000, `not before the killed leader's Lease expired (${fmt(tookOver)}, lease ${LEASE_SECONDS}s)`);
  t.match(await leaseHolder(), new RegExp(`^${follower.name}`), 'the Lease names the new leader');
  t.same(await leases(), [LEASE], 'still one Lease');

  await waitFor('the deleted baseline object to be restored', async () => !!(await admin.find(apRef('tenant-2'))), { timeoutMs: 30_000, intervalMs: 200, watch: [follower.proc] });
  const restored = Date.now() - killed;
  t.ok((await metric(follower, 'tenant_guard_baseline_writes_total', { action: /create/ })) >= 1, 'restored by the new leader');

  await waitFor('caBundle written back', caBundlesMatch, { timeoutMs: 30_000, intervalMs: 200, watch: [follower.proc] });
  const rebundled = Date.now() - killed;
  t.equal(await secretBundle(), secretBefore, 'the new leader kept the certificates Secret (same CA)');
  t.ok((await metric(follower, 'tenant_guard_cabundle_patches_total')) >= 2, 'both configurations patched by the new leader');

  await waitFor('the new violation in a PolicyReport', () => reportNames('tenant-2', 'after-kill'), { timeoutMs: 30_000, intervalMs: 500, watch: [follower.proc] });
  const reported = Date.now() - killed;
  t.ok((await metric(follower, 'tenant_guard_policy_report_writes_total', { result: /^written$/ })) > 0, 'written by the new leader');
  t.ok(await reportNames('tenant-1', 'before-kill'), 'the old report is kept current');
  t.comment(`e2e timing: leader SIGKILLed -> other replica leads in ${fmt(tookOver)}; baseline restored at ${fmt(restored)}, caBundle at ${fmt(rebundled)}, PolicyReport at ${fmt(reported)}`);
});
