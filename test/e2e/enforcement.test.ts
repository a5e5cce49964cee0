// Enforcement actions and exceptions through a real kube-apiserver, with
// tenant-guard registered from the chart's webhook configurations:
// 1. a rule in `warn` admits, and the client receives the warning (the
//    HTTP Warning header kubectl prints), mutations applied;
// 2. a rule in `audit` admits without a warning (counted by rule and action);
// 3. an exception admits one named object while its twin is refused;
// 4. `audit` prints the would-deny counts per rule, and the PolicyReports
//    carry them.
import https from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { AuditReportJson } from '../../src/reports/audit-report.js';
import type { KubeObject } from '../../src/engine/types.js';
import { ROLLOUT_POLICY, type PolicyReport } from '../../src/reports/policy-reports.js';
import { E2E_TIMEOUT_MS, crdFiles, setupEnv } from './fixtures/env.js';
import { repoRoot } from './fixtures/kube.js';
import { waitFor } from './fixtures/processes.js';
import { ALICE, createTenancy, TENANT_LABEL } from './fixtures/reference.js';
import { installChartIdentity, renderChartWebhooks, runCli, tenancyConfigFile, TenantGuardServer } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);

const reportCrds = ['wgpolicyk8s.io_policyreports.yaml', 'wgpolicyk8s.io_clusterpolicyreports.yaml'].map((f) => join(repoRoot, 'test', 'fixtures', 'crds', f));
const env = await setupEnv(t, { webhook: false, crds: [...crdFiles, ...reportCrds] });
const { admin, cluster, bins } = env;

const configFile = join(cluster.dir, 'tenancy-enforcement.yaml');
writeFileSync(
  configFile,
  readFileSync(tenancyConfigFile, 'utf8') +
    `enforcement:
  action: deny
  overrides:
    - rules: [TG-WORKLOAD-CAPTURE-BYPASS]
      namespaces: [tenant-1]
      action: warn
    - rules: [TG-WORKLOAD-HOST-PATH]
      tenants: [tenant-1]
      action: audit
exceptions:
  - name: legacy-agent
    rules: [TG-WORKLOAD-INJECT-OPTOUT]
    namespaces: [tenant-1]
    kinds: [Deployment]
    names: [legacy-agent]
    reason: vendor agent (OPS-123)
    expires: "2099-12-31"
`,
);

const kubeconfig = await installChartIdentity(bins, cluster, admin);
const server = new TenantGuardServer(cluster);
await server.start(kubeconfig, { name: 'tenant-guard-enforcement', configFile });
t.teardown(() => server.stop());
for (const c of await renderChartWebhooks(bins, cluster.dir, server)) await admin.create(c);
await createTenancy(env);
// The API server picks up webhook configurations through an informer: wait until a dry run reaches tenant-guard.
await waitFor(
  'the API server to call tenant-guard',
  async () => {
    const before = await server.metricSum('tenant_guard_admission_requests_total', { endpoint: /validate/ });
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'e2e-probe' } } as KubeObject, { dryRun: true }).catch(() => undefined);
    return (await server.metricSum('tenant_guard_admission_requests_total', { endpoint: /validate/ })) > before;
  },
  { timeoutMs: 30_000, intervalMs: 500, watch: server.proc ? [server.proc] : [] },
);

const alice = env.as(ALICE);

/** POST as a user, returning the status, the body and the Warning headers the API server sent (what kubectl prints). */
async function create(obj: KubeObject): Promise<{ status: number; body: any; warnings: string[] }> {
  const opts: https.RequestOptions = { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' } };
  await alice.kubeConfig.applyToHTTPSOptions(opts);
  const url = new URL(`${cluster.server}/apis/apps/v1/namespaces/${obj.metadata.namespace}/deployments`);
  const payload = Buffer.from(JSON.stringify(obj));
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        // One Warning header per warning, `299 - "<text>"` with the text a quoted-string (RFC 7234), as kubectl reads them.
        const warnings: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]!.toLowerCase() !== 'warning') continue;
          const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(res.rawHeaders[i + 1]!);
          warnings.push(m ? m[1]!.replace(/\\(.)/g, '$1') : res.rawHeaders[i + 1]!);
        }
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, warnings });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const deployment = (name: string, annotations: Record<string, string> = {}, volumes: unknown[] = []): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'tenant-1' },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'app', image: 'app' }], volumes } },
  },
});

t.test('warn: admitted with the warning the client prints, mutations applied', async (t) => {
  const r = await create(deployment('capture', { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/8' }));
  t.equal(r.status, 201, JSON.stringify(r.body?.message ?? ''));
  t.ok(r.warnings.some((w) => w.includes('[TG-WORKLOAD-CAPTURE-BYPASS] would be denied; admitted because the rule is in warn mode')), r.warnings.join('\n'));
  t.equal(r.body.metadata.labels?.[TENANT_LABEL], 'tenant-1', 'the tenant label was added');
  t.same(r.body.spec.template.spec.containers[0].securityContext?.capabilities?.drop, ['SETUID', 'SETGID'], 'the SETUID drop was added');
  t.ok((await server.metricSum('tenant_guard_admission_violations_total', { rule: /^TG-WORKLOAD-CAPTURE-BYPASS$/, action: /^warn$/ })) > 0);
});

t.test('audit: admitted without a warning, counted by rule and action', async (t) => {
  const r = await create(deployment('host-path', {}, [{ name: 'h', hostPath: { path: '/var/log' } }]));
  t.equal(r.status, 201, JSON.stringify(r.body?.message ?? ''));
  t.notOk(r.warnings.some((w) => w.includes('TG-WORKLOAD-HOST-PATH')), r.warnings.join('\n'));
  t.ok((await server.metricSum('tenant_guard_admission_violations_total', { rule: /^TG-WORKLOAD-HOST-PATH$/, action: /^audit$/ })) > 0);
  t.match(server.proc!.tail(200), /"relaxed":\["TG-WORKLOAD-HOST-PATH:audit"\]/, 'logged once per decision with its action');
});

t.test('an exception admits the named object, naming itself; its twin is refused', async (t) => {
  const named = await create(deployment('legacy-agent', { 'sidecar.istio.io/inject': 'false' }));
  t.equal(named.status, 201, JSON.stringify(named.body?.message ?? ''));
  t.ok(named.warnings.some((w) => w.includes('exception "legacy-agent" (vendor agent (OPS-123); expires 2099-12-31)')), named.warnings.join('\n'));
  const twin = await create(deployment('legacy-agent-2', { 'sidecar.istio.io/inject': 'false' }));
  t.equal(twin.status, 403);
  t.match(twin.body.message, /TG-WORKLOAD-INJECT-OPTOUT/);
});

t.test('audit prints the would-deny counts per rule; the PolicyReports carry them', async (t) => {
  const r = await runCli(['audit', '--kubeconfig', cluster.kubeConfigFile(), '--config', configFile, '-o', 'json']);
  t.equal(r.code, 1, 'objects violate rules under deny');
  const report = JSON.parse(r.stdout) as AuditReportJson;
  const row = (rule: string) => report.rollout.find((x) => x.rule === rule);
  t.match(row('TG-WORKLOAD-CAPTURE-BYPASS'), { wouldDeny: 1, warn: 1, deny: 0 });
  t.match(row('TG-WORKLOAD-HOST-PATH'), { wouldDeny: 1, audit: 1, deny: 0 });
  t.match(row('TG-WORKLOAD-INJECT-OPTOUT'), { wouldDeny: 1, excepted: 1, exceptions: [{ exception: 'legacy-agent', name: 'legacy-agent' }] });
  const text = await runCli(['audit', '--kubeconfig', cluster.kubeConfigFile(), '--config', configFile, '--report']);
  t.match(text.stdout, /ROLLOUT[\s\S]*TG-WORKLOAD-CAPTURE-BYPASS\s+1\s+0\s+1\s+0\s+0/);
  t.match(text.stdout, /covered by exception legacy-agent: Deployment tenant-1\/legacy-agent/);
  const cluster_ = await admin.client.get<PolicyReport>('/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/tenant-guard');
  const rollout = cluster_.results.filter((x) => x.policy === ROLLOUT_POLICY);
  t.match(
    rollout.find((x) => x.rule === 'TG-WORKLOAD-INJECT-OPTOUT'),
    { properties: { wouldDeny: '1', excepted: '1' }, message: /1 live object would be refused under deny: 0 in deny, 0 in warn, 0 in audit, 1 covered by exceptions \(legacy-agent\)/ },
  );
  const ns = await admin.client.get<PolicyReport>('/apis/wgpolicyk8s.io/v1alpha2/namespaces/tenant-1/policyreports/tenant-guard');
  t.ok(ns.results.some((x) => x.rule === 'TG-WORKLOAD-INJECT-OPTOUT' && x.result === 'skip' && x.properties?.exception === 'legacy-agent'));
  t.ok(ns.results.some((x) => x.rule === 'TG-WORKLOAD-CAPTURE-BYPASS' && x.result === 'fail' && x.properties?.action === 'warn'));
});
