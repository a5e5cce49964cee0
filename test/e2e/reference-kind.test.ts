// The reference setup (kind/ variant) on a real API server with tenant-guard
// registered from the Helm chart: everything the reference applies is
// admitted (and mutated), every threat is refused by the API server with the
// rule id, dry runs agree and store nothing, and `audit` finds the result
// clean, with no cross-tenant path open. Then the webhook is unregistered, as
// in a cluster that predates it, and audit has to find what slipped in.
import t from 'tap';
import { DATA_PATHS } from '../../src/mesh/matrix.js';
import { matrixCells, runAuditCli } from './fixtures/audit.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { describe, type Kube } from './fixtures/kube.js';
import { waitFor } from './fixtures/processes.js';
import { ALICE, applyReference, BOB, createTenancy, TENANT_LABEL, TENANTS } from './fixtures/reference.js';
import { threats } from './fixtures/threats.js';
import type { KubeObject } from '../../src/engine/types.js';

t.setTimeout(E2E_TIMEOUT_MS);
const started = Date.now();
const env = await setupEnv(t, { webhook: true });
const { admin } = env;
await createTenancy(env);

const ksvcRef = (name: string, namespace: string) => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace } });
const labelsOf = (o: KubeObject | undefined, ...path: string[]): Record<string, string> => {
  let cur: any = o;
  for (const p of path) cur = cur?.[p];
  return cur?.labels ?? {};
};

t.test('the platform admin and the tenant admins apply the reference setup: all admitted', async (t) => {
  const applied = await applyReference(env, 'kind');
  t.same(
    applied.filter((a) => a.refusal).map((a) => a.refusal),
    [],
    'no object of the reference setup is refused',
  );
  t.same(applied.filter((a) => a.skipped).map((a) => describe(a.object)), [], 'every kind of kind/ is served');
  t.ok(applied.length >= 12, `${applied.length} objects applied`);
});

t.test('stored objects carry the mutations', async (t) => {
  for (const { name } of TENANTS) {
    const ns = await admin.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    t.equal(ns.metadata.labels?.[TENANT_LABEL], name, `Namespace ${name} labelled for its tenant`);
    t.equal(ns.metadata.labels?.['istio-injection'], 'enabled', `Namespace ${name} keeps istio-injection=enabled`);
  }
  for (const { name } of TENANTS) {
    for (const svc of ['svc-always-scaled', 'svc-activator-in-path']) {
      const got = await admin.read(ksvcRef(svc, name));
      t.equal(labelsOf(got, 'metadata')[TENANT_LABEL], name, `${name}/${svc}: tenant label`);
      const tpl = labelsOf(got, 'spec', 'template', 'metadata');
      t.equal(tpl[TENANT_LABEL], name, `${name}/${svc}: tenant label on the revision template`);
      t.equal(tpl['sidecar.istio.io/inject'], 'true', `${name}/${svc}: injection requested on the revision template`);
      // rootContainers: drop (the default): no container of the revision can reach UID 1337 at run time.
      t.same(
        (got.spec as { template: { spec: { containers: { securityContext?: unknown }[] } } }).template.spec.containers[0]!.securityContext,
        { allowPrivilegeEscalation: false, capabilities: { drop: ['SETUID', 'SETGID'] } },
        `${name}/${svc}: setuid hardening stored`,
      );
    }
    const curl = await admin.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'curl', namespace: name } });
    t.equal(labelsOf(curl, 'spec', 'template', 'metadata')[TENANT_LABEL], name, `${name}/curl: tenant label on the pod template`);
  }
});

t.test('RBAC keeps tenant admins in their own namespaces (the webhook is the second line)', async (t) => {
  const alice = env.as(ALICE);
  const r = await alice.refusal('create in tenant-2', () =>
    alice.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'intruder', namespace: 'tenant-2' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } }),
  );
  t.equal(r.code, 403);
  t.match(r.message, /forbidden/);
  t.notMatch(r.message, /admission webhook/, 'refused by RBAC before admission');
});

t.test('every threat is refused by the API server with the rule id; dryRun=All gives the same verdict and stores nothing', async (t) => {
  for (const th of threats) {
    await t.test(th.name, async (t) => {
      const kube: Kube = env.as(th.as);
      const dry = await kube.refusal(`${th.name} (dry run)`, () => th.send(kube, true));
      t.ok(await th.unchanged(admin), 'the dry run changed nothing');
      const real = await kube.refusal(th.name, () => th.send(kube, false));
      t.match(real.message, /admission webhook ".*tenant-guard.dev" denied the request/, 'denied by tenant-guard');
      t.match(real.message, `[${th.rule}]`, `names ${th.rule}`);
      t.equal(real.code, 403);
      t.equal(dry.code, real.code, 'dry run: same status');
      t.equal(dry.message, real.message, 'dry run: same message');
      t.ok(await th.unchanged(admin), 'nothing stored');
    });
  }
});

t.test('kubectl exec into istio-proxy: refused at CONNECT admission; into the app container: passed on to the kubelet', async (t) => {
  const kube: Kube = env.as(ALICE);
  // Admission runs before the API server looks for the pod and its node
  // (k8s.io/apiserver handlers.ConnectResource), so no running pod is needed.
  const exec = (container: string | undefined) => () =>
    kube.client.request('POST', '/api/v1/namespaces/tenant-1/pods/svc-always-scaled-pod/exec', {
      query: { ...(container ? { container } : {}), command: 'sh', stdin: 'true', stdout: 'true' },
    });
  const proxy = await kube.refusal('exec into istio-proxy', exec('istio-proxy'));
  t.equal(proxy.code, 403);
  t.match(proxy.message, /admission webhook ".*tenant-guard.dev" denied the request/);
  t.match(proxy.message, '[TG-WORKLOAD-EXEC-PROXY]');
  const app = await kube.refusal('exec into the app container of a pod that does not exist', exec('user-container'));
  t.equal(app.code, 404, 'past admission: the pod is not found');
});

t.test("a tenant removing its namespace's protected labels: undone, not stored", async (t) => {
  // The engine restores removed tenant/injection labels rather than refusing
  // (a `kubectl replace` of a manifest without them should not fail); a
  // change of their value is refused (threat list above).
  const alice = env.as(ALICE);
  const ref = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1' } };
  const got = await alice.mergePatch(ref, { metadata: { labels: { [TENANT_LABEL]: null, 'istio-injection': null } } });
  t.equal(got.metadata.labels?.[TENANT_LABEL], 'tenant-1', 'the tenant label is put back');
  t.equal(got.metadata.labels?.['istio-injection'], 'enabled', 'istio-injection is put back');
  const stored = await admin.read(ref);
  t.same([stored.metadata.labels?.[TENANT_LABEL], stored.metadata.labels?.['istio-injection']], ['tenant-1', 'enabled'], 'as stored');
});

t.test('a dry run of an admissible object returns it mutated and stores nothing', async (t) => {
  const alice = env.as(ALICE);
  const obj = { ...ksvcRef('dry-only', 'tenant-1'), spec: { template: { spec: { containers: [{ image: 'docker.io/openshift/hello-openshift' }] } } } };
  const got = await alice.create(obj, { dryRun: true });
  t.equal(labelsOf(got, 'metadata')[TENANT_LABEL], 'tenant-1', 'the response carries the mutation');
  t.equal(await admin.find(obj), undefined, 'nothing stored');
});

t.test('the last ALLOW policy of a namespace cannot be deleted, a redundant one can', async (t) => {
  const alice = env.as(ALICE);
  const last = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow-traffic-to-tenant-1', namespace: 'tenant-1' } };
  const dry = await alice.refusal('delete the last ALLOW (dry run)', () => alice.delete(last, { dryRun: true }));
  const real = await alice.refusal('delete the last ALLOW', () => alice.delete(last));
  t.match(real.message, '[TG-AUTHZ-LAST-ALLOW]');
  t.equal(dry.message, real.message, 'dry run: same verdict');
  t.ok(await admin.find(last), 'the policy is still there');

  // With a second ALLOW in place the first one is no longer the last: the
  // webhook must have seen the new policy through its watch to know that.
  const extra = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'allow-own-tenant', namespace: 'tenant-1' },
    spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1', 'knative-serving', 'istio-system'] } }] }] },
  };
  await alice.create(extra);
  const refusedDryRun = (o: KubeObject) => alice.delete(o, { dryRun: true }).then(() => false, () => true);
  await waitFor('deleting the original policy to be allowed once the webhook knows the second one', async () => !(await refusedDryRun(last)), {
    timeoutMs: 15_000,
    intervalMs: 200,
  });
  await alice.delete(last);
  await waitFor('the second policy to become the protected last one', () => refusedDryRun(extra), { timeoutMs: 15_000, intervalMs: 200 });
  const refusedNow = await alice.refusal('delete the policy that is now the last', () => alice.delete(extra));
  t.match(refusedNow.message, '[TG-AUTHZ-LAST-ALLOW]', 'the remaining ALLOW policy is protected in turn');
  t.ok(await admin.find(extra), 'and still there');
  // Back to the reference setup for the audit below.
  await admin.create({ ...last, spec: extra.spec } as KubeObject);
  await waitFor('the restored policy to be known', () => admin.delete(extra, { dryRun: true }).then(() => true, () => false), { timeoutMs: 15_000, intervalMs: 200 });
  await admin.delete(extra);
});

t.test('audit of the resulting cluster: no violation, tenants reach themselves and not each other on all four paths', async (t) => {
  const run = await runAuditCli(env.cluster);
  t.equal(run.code, 0, `audit exits 0 (stderr: ${run.stderr.trim()})`);
  const report = run.report!;
  t.ok(report, 'a JSON report');
  t.equal(report.summary.violating, 0, 'no violating object');
  t.same(report.findings.filter((f) => !f.allowed), []);
  t.equal(report.summary.openCrossTenantPaths, 0);
  const cells = matrixCells(report);
  for (const path of DATA_PATHS) {
    t.equal(cells.get(`tenant-1->tenant-1 via ${path}`), true, `tenant-1 reaches itself via ${path}`);
    t.equal(cells.get(`tenant-2->tenant-2 via ${path}`), true, `tenant-2 reaches itself via ${path}`);
    t.equal(cells.get(`tenant-1->tenant-2 via ${path}`), false, `tenant-1 cannot reach tenant-2 via ${path}`);
    t.equal(cells.get(`tenant-2->tenant-1 via ${path}`), false, `tenant-2 cannot reach tenant-1 via ${path}`);
  }
  const text = await runAuditCli(env.cluster, 'text');
  t.equal(text.code, 0);
  t.match(text.stdout, /RESULT: OK/);
});

t.test('audit of a cluster that predates the webhook reports what the webhook would refuse', async (t) => {
  // Unregister tenant-guard, as before it was installed.
  for (const c of env.webhookConfigs) await admin.delete(c);
  const bob = env.as(BOB);
  const bad = [
    { ...ksvcRef('no-sidecar', 'tenant-2'), spec: { template: { metadata: { annotations: { 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ image: 'x' }] } } } },
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'let-tenant-1-in', namespace: 'tenant-2' },
      spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }] }] },
    },
  ] as KubeObject[];
  // The API server drops the webhooks a moment after the configurations go.
  await waitFor('writes to bypass the webhook', async () => {
    try {
      await bob.create(bad[0]!, { dryRun: true });
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 30_000, intervalMs: 300 });
  for (const o of bad) await bob.create(o);

  const run = await runAuditCli(env.cluster);
  t.equal(run.code, 1, `audit exits 1 ${run.stderr}`);
  const report = run.report!;
  const rules = report.findings.flatMap((f) => f.violations.map((v) => `${f.kind} ${f.namespace}/${f.name} ${v.rule}`));
  t.ok(rules.includes('Service tenant-2/no-sidecar TG-WORKLOAD-INJECT-OPTOUT'), 'the opted-out Knative Service');
  // Judged against the cluster without it, the policy is what opens the path (as the webhook would have said).
  t.ok(rules.includes('AuthorizationPolicy tenant-2/let-tenant-1-in TG-AUTHZ-OPENS-PATH'), 'the policy admitting another tenant');
  const open = report.openPaths.map((c) => `${c.from}->${c.to} via ${c.path}`);
  t.ok(open.includes('tenant-1->tenant-2 via direct'), 'the matrix shows tenant-1 reaching tenant-2');
  t.equal(report.summary.violating, report.findings.filter((f) => !f.allowed).length);
  const text = await runAuditCli(env.cluster, 'text');
  t.equal(text.code, 1);
  t.match(text.stdout, /TG-WORKLOAD-INJECT-OPTOUT/);
  t.match(text.stdout, /RESULT: FAIL/);
});

t.teardown(() => t.comment(`e2e timing: reference (kind/) tests took ${((Date.now() - started) / 1000).toFixed(1)}s including setup`));
