// The baseline controller and leader election on a real API server: two
// `tenant-guard serve --controllers` replicas as the chart runs them (its
// service account, read-only ClusterRole and controllers RBAC), one webhook
// registered from the chart. A tenant admin's new namespace refuses workloads
// until its baseline exists, then admits them; tenants cannot touch the
// baseline; drift is repaired; exactly one replica writes, and when it is
// killed the other takes over.
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/engine/types.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import type { Kube } from './fixtures/kube.js';
import { waitFor } from './fixtures/processes.js';
import { ALICE, createTenancy, TENANT_LABEL } from './fixtures/reference.js';
import { CHART_NAMESPACE, helmTemplate, installChartIdentity, renderChartWebhooks, tenancyConfigFile, TenantGuardServer } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);
const started = Date.now();
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const env = await setupEnv(t, { webhook: false });
const { admin, cluster, bins } = env;
await createTenancy(env);

const LEASE = 'tenant-guard-controllers';
const LEASE_SECONDS = 4;
const SA_USER = `system:serviceaccount:${CHART_NAMESPACE}:tenant-guard`;
const NS = 'tenant-1-b';

// tenant-guard's identity and the controllers' RBAC, both rendered from the chart.
const kubeconfig = await installChartIdentity(bins, cluster, admin);
for (const d of await helmTemplate(bins, cluster.dir, ['templates/controllers-rbac.yaml'])) await admin.create(d);

// The bundled tenancy, with the baseline on and tenant-guard's own service
// account among the platform controllers (what the chart renders).
const tenancy = parse(readFileSync(tenancyConfigFile, 'utf8')) as Record<string, any>;
tenancy.baseline = { enabled: true };
tenancy.platformControllers = {
  users: ['system:kube-controller-manager', 'system:kube-scheduler', SA_USER],
  groups: ['system:serviceaccounts:knative-serving', 'system:serviceaccounts:istio-system', 'system:serviceaccounts:kube-system'],
};
const configFile = join(cluster.dir, 'tenancy-baseline.yaml');
writeFileSync(configFile, stringify(tenancy));

// Until the test says so, the Lease is held by someone else: no replica may
// write, so the "open window" is observed deterministically.
const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE, namespace: CHART_NAMESPACE } };
await admin.create({ ...leaseRef, spec: { holderIdentity: 'e2e-blocker', leaseDurationSeconds: 3600, renewTime: new Date().toISOString().replace('Z', '000Z') } } as unknown as KubeObject);

const replicas: Record<'a' | 'b', TenantGuardServer> = { a: new TenantGuardServer(cluster), b: new TenantGuardServer(cluster) };
t.teardown(async () => {
  if (!t.passing()) for (const r of Object.values(replicas)) if (r.proc) t.comment(`--- last lines of ${r.proc.name} ---\n${r.proc.tail(60)}`);
  await Promise.all(Object.values(replicas).map((r) => r.stop()));
});
let t1 = Date.now();
for (const [name, r] of Object.entries(replicas)) {
  await r.start(kubeconfig, {
    name: `replica-${name}`,
    configFile,
    extraArgs: ['--controllers', '--lease-namespace', CHART_NAMESPACE, '--lease-name', LEASE, '--lease-duration', `${LEASE_SECONDS}s`],
    env: { POD_NAME: `replica-${name}` },
  });
}
t.comment(`e2e timing: two replicas ready in ${fmt(Date.now() - t1)}`);

// The chart's webhook configurations, pointed at replica b.
const webhookConfigs = await renderChartWebhooks(bins, cluster.dir, replicas.b);
for (const c of webhookConfigs) await admin.create(c);
let webhookTarget: TenantGuardServer = replicas.b;
await waitForWebhook(replicas.b);

/** Until a server-side dry run reaches `server` through the API server. */
async function waitForWebhook(server: TenantGuardServer): Promise<void> {
  const probe = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'e2e-webhook-probe' } } as KubeObject;
  const before = await server.metricSum('tenant_guard_admission_requests_total', { endpoint: /validate/ });
  await waitFor(
    `the API server to call ${server.proc?.name}`,
    async () => {
      await admin.create(probe, { dryRun: true }).catch(() => undefined);
      return (await server.metricSum('tenant_guard_admission_requests_total', { endpoint: /validate/ })) > before;
    },
    { timeoutMs: 30_000, intervalMs: 300, watch: server.proc ? [server.proc] : [] },
  );
}

async function pointWebhooksAt(server: TenantGuardServer): Promise<void> {
  const from = webhookTarget.url;
  for (const c of webhookConfigs) {
    const cur = await admin.read<KubeObject & { webhooks: { clientConfig: { url: string } }[] }>(c);
    for (const w of cur.webhooks) w.clientConfig.url = w.clientConfig.url.replace(from, server.url);
    await admin.replace(cur);
  }
  webhookTarget = server;
  await waitForWebhook(server);
}

const ksvc = (name: string): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] } } },
});
const paRef = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'tenant-guard-strict', namespace: NS } };
const apRef = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-allow-tenant', namespace: NS } };
const alice = env.as(ALICE);

async function leaseHolder(): Promise<string> {
  const l = await admin.read<KubeObject & { spec: { holderIdentity?: string } }>(leaseRef);
  return l.spec.holderIdentity ?? '';
}

async function leaders(): Promise<string[]> {
  const out: string[] = [];
  for (const [name, r] of Object.entries(replicas)) if (r.proc?.running && (await r.metricSum('tenant_guard_leader')) === 1) out.push(name);
  return out;
}

function postReview(server: TenantGuardServer, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = https.request(`${server.url}/validate`, { method: 'POST', ca: server.caPem, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

t.test('every replica serves admission while neither leads', async (t) => {
  t.same(await leaders(), [], 'the Lease is held by someone else: no replica leads');
  for (const [name, r] of Object.entries(replicas)) {
    t.equal((await r.get('/readyz')).status, 200, `replica ${name} ready`);
    const review = await postReview(r, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `e2e-${name}`,
        kind: { group: 'serving.knative.dev', version: 'v1', kind: 'Service' },
        resource: { group: 'serving.knative.dev', version: 'v1', resource: 'services' },
        namespace: 'tenant-1',
        name: 'x',
        operation: 'CREATE',
        userInfo: { username: 'alice', groups: ['tenant-1-admins'] },
        object: { ...ksvc('x'), metadata: { name: 'x', namespace: 'tenant-1' } },
        dryRun: false,
      },
    });
    t.equal(review.status, 200, `replica ${name} answers a review`);
    t.match(JSON.parse(review.body).response, { uid: `e2e-${name}` });
  }
});

let nsCreatedAt = 0;
t.test('a tenant admin creates a namespace: workloads are refused until its baseline appears, then admitted', async (t) => {
  // Tenant admins may create namespaces (the webhook labels them for their tenant).
  await admin.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'e2e-namespace-creator' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['create'] }] } as unknown as KubeObject);
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'e2e-namespace-creator' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-namespace-creator' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'tenant-1-admins' }],
  } as unknown as KubeObject);
  nsCreatedAt = Date.now();
  const created = await alice.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } as KubeObject);
  t.equal(created.metadata.labels?.[TENANT_LABEL], 'tenant-1', 'labelled for alice\'s tenant');
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'tenant-admins', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-tenant-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'tenant-1-admins' }],
  } as unknown as KubeObject);

  // Wait until the webhook's replica has seen the namespace (its tenant comes from the label).
  await waitFor('replica b to see the new namespace', async () => {
    const r = await alice.refusal('a Knative Service in the new namespace', () => alice.create(ksvc('hello'))).catch(() => undefined);
    return !!r && /TG-BASELINE-OPEN-WINDOW/.test(r.message);
  }, { timeoutMs: 20_000, intervalMs: 200 });
  const refused = await alice.refusal('a Knative Service in the new namespace', () => alice.create(ksvc('hello')));
  t.equal(refused.code, 403);
  t.match(refused.message, /\[TG-BASELINE-OPEN-WINDOW\] metadata\.namespace: namespace "tenant-1-b" \(tenant tenant-1\) does not have its baseline \(PeerAuthentication tenant-1-b\/tenant-guard-strict, AuthorizationPolicy tenant-1-b\/tenant-guard-allow-tenant\) yet: tenant-guard is creating it/);
  t.notOk(await admin.find(apRef), 'no baseline yet: no replica leads');

  // Hand the Lease over (as its holder would on shutdown): one replica takes it and writes the baseline.
  const released = Date.now();
  await admin.mergePatch(leaseRef, { spec: { holderIdentity: null, leaseDurationSeconds: 1 } });
  let refusals = 0;
  let admittedAt = 0;
  await waitFor('the Knative Service to be admitted', async () => {
    try {
      await alice.create(ksvc('hello'));
      admittedAt = Date.now();
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!/TG-BASELINE-OPEN-WINDOW/.test(msg)) throw e;
      refusals++;
      return false;
    }
  }, { timeoutMs: 30_000, intervalMs: 100 });
  const pa = await admin.read(paRef);
  const ap = await admin.read(apRef);
  t.same(pa.spec, { mtls: { mode: 'STRICT' } });
  t.same((ap.spec as any).rules[0].from[0].source.namespaces, ['tenant-1', 'tenant-1-b', 'istio-system', 'knative-serving']);
  t.equal(ap.metadata.labels?.['tenant-guard.dev/managed-by'], 'tenant-guard');
  t.same((ap.metadata as any).ownerReferences?.map((o: any) => `${o.kind}/${o.name}`), [`Namespace/${NS}`]);
  const act = await admin.read({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-activator-tenant-1', namespace: 'knative-serving' } });
  t.same((act.spec as any).rules[0].when, [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1', 'tenant-1-b'] }]);
  const pin = await admin.read({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-pin-activator-tenant-1', namespace: 'knative-serving' } });
  t.equal((pin.spec as any).action, 'DENY');
  t.same((pin.spec as any).rules, [{
    from: [{ source: { notNamespaces: ['istio-system', 'knative-serving', 'tenant-1', 'tenant-1-b'] } }],
    when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1', 'tenant-1-b'] }],
  }], 'the fence: nobody but tenant-1 and the platform may name its namespaces');
  // The gateway's side (issue 17): every caller reaches knative-local-gateway with its own identity and any
  // Host, and without istiod's ISTIO_GATEWAY_STRIP_HOST_PORT no per-tenant Host rule holds: the platform's only.
  const gwPlatform = await admin.read({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-platform-gateway', namespace: 'istio-system' } });
  t.same((gwPlatform.spec as any).rules[0], { from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] });
  t.notOk(await admin.find({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-gateway-tenant-1', namespace: 'istio-system' } } as KubeObject), 'no tenant ALLOW on the gateway');
  // The workload is admitted as soon as its own namespace is closed; the
  // leader's pass goes on with the other namespaces and ends with the
  // platform's activator policy (baselineObjectsFor's order), so wait for it.
  const platformRef = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'tenant-guard-platform-activator', namespace: 'knative-serving' } } as KubeObject;
  await waitFor('the leader to finish its first pass', async () => !!(await admin.find(platformRef)), { timeoutMs: 20_000, intervalMs: 100 });
  t.ok(await admin.find(platformRef), 'the platform\'s activator policy was written');
  for (const n of ['tenant-1', 'tenant-2']) t.ok(await admin.find({ ...apRef, metadata: { ...apRef.metadata, namespace: n } }), `${n} got its baseline too`);
  t.comment(`e2e timing: Lease released -> workload admitted in ${fmt(admittedAt - released)} (${refusals} refusals meanwhile); namespace created -> workload admitted in ${fmt(admittedAt - nsCreatedAt)}`);
});

t.test('two replicas elect one writer', async (t) => {
  const l = await leaders();
  t.equal(l.length, 1, `exactly one leader (${l.join(', ')})`);
  const leader = replicas[l[0] as 'a' | 'b'];
  const follower = replicas[l[0] === 'a' ? 'b' : 'a'];
  t.match(await leaseHolder(), new RegExp(`^replica-${l[0]}_`), 'the Lease names it');
  t.ok((await leader.metricSum('tenant_guard_baseline_writes_total')) >= 10, 'the leader wrote the baseline');
  t.equal(await follower.metricSum('tenant_guard_baseline_writes_total'), 0, 'the follower wrote nothing');
});

t.test('tenants may not edit or delete the baseline, nor forge it', async (t) => {
  const edit = await alice.refusal('loosening the managed PeerAuthentication', () => alice.mergePatch(paRef, { spec: { portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } } }));
  t.match(edit.message, /\[TG-BASELINE-MANAGED\].*PeerAuthentication tenant-1-b\/tenant-guard-strict is the peer-authentication baseline object tenant-guard keeps for this namespace; alice may not update it/);
  const del = await alice.refusal('deleting the managed AuthorizationPolicy', () => alice.delete(apRef));
  t.match(del.message, /\[TG-BASELINE-MANAGED\].*may not delete it/);
  const forged = await alice.refusal('a policy labelled as managed', () =>
    alice.create({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'mine', namespace: NS, labels: { 'tenant-guard.dev/managed-by': 'tenant-guard' } }, spec: { rules: [{ from: [{ source: { namespaces: [NS] } }] }] } } as KubeObject),
  );
  t.match(forged.message, /\[TG-BASELINE-MANAGED\]/);
  t.same((await admin.read(paRef)).spec, { mtls: { mode: 'STRICT' } }, 'unchanged');
});

async function driftAndRepair(t: Test, writer: TenantGuardServer, kube: Kube): Promise<number> {
  const before = await writer.metricSum('tenant_guard_baseline_drift_repairs_total');
  const t0 = Date.now();
  // A platform admin narrows the policy (admitted: it opens nothing); the reconciler puts it back.
  await kube.mergePatch(apRef, { spec: { rules: [{ from: [{ source: { namespaces: [NS] } }] }] } });
  await waitFor('the drift to be repaired', async () => ((await admin.read(apRef)).spec as any).rules[0].from[0].source.namespaces.length === 4, { timeoutMs: 20_000, intervalMs: 100 });
  t.ok((await writer.metricSum('tenant_guard_baseline_drift_repairs_total')) > before, 'counted as a drift repair by the writer');
  return Date.now() - t0;
}

t.test('drift is repaired by the leader', async (t) => {
  const [l] = await leaders();
  const ms = await driftAndRepair(t, replicas[l as 'a' | 'b'], admin);
  t.comment(`e2e timing: drift repaired in ${fmt(ms)}`);
});

t.test('the leader is killed: the other replica takes over and keeps the baseline', async (t) => {
  const [l] = await leaders();
  const leader = replicas[l as 'a' | 'b'];
  const follower = replicas[l === 'a' ? 'b' : 'a'];
  // The API server must keep a live webhook: admission never depended on leadership.
  if (webhookTarget === leader) await pointWebhooksAt(follower);
  const killed = Date.now();
  leader.proc!.kill();
  await waitFor('the follower to lead', async () => (await follower.metricSum('tenant_guard_leader')) === 1, { timeoutMs: (LEASE_SECONDS + 10) * 1000, intervalMs: 100 });
  const tookOver = Date.now() - killed;
  t.ok(tookOver >= (LEASE_SECONDS - 1) * 1000, `not before the Lease expired (${fmt(tookOver)})`);
  t.match(await leaseHolder(), new RegExp(`^replica-${l === 'a' ? 'b' : 'a'}_`));
  t.equal(await follower.metricSum('tenant_guard_leader_transitions_total', { event: /acquired/ }), 1);
  const ms = await driftAndRepair(t, follower, admin);
  t.comment(`e2e timing: leader killed -> other replica leads in ${fmt(tookOver)} (lease ${LEASE_SECONDS}s); drift then repaired by it in ${fmt(ms)}`);
});

t.test('a replica shutting down hands the Lease over at once', async (t) => {
  const [l] = await leaders();
  const leader = replicas[l as 'a' | 'b'];
  const t0 = Date.now();
  await leader.stop();
  await waitFor('the Lease to be released', async () => (await leaseHolder()) === '', { timeoutMs: 5_000, intervalMs: 100 });
  t.comment(`e2e timing: SIGTERM -> Lease released in ${fmt(Date.now() - t0)}`);
  t.pass('released');
});

t.comment(`e2e timing: baseline/leader-election tests took ${fmt(Date.now() - started)} including setup`);
