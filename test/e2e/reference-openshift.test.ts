// The OpenShift variant of the reference setup (openshift/): deny-all by
// default in knative-serving, the activator policies keyed on
// app.kubernetes.io/component, and per tenant an identity-less ALLOW on the
// drain port 8022. It has to be admitted as a whole, and audit has to find
// it as isolated as the kind/ variant.
import t from 'tap';
import { DATA_PATHS } from '../../src/mesh/matrix.js';
import { matrixCells, runAuditCli } from './fixtures/audit.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { describe } from './fixtures/kube.js';
import { applyReference, createTenancy } from './fixtures/reference.js';

t.setTimeout(E2E_TIMEOUT_MS);
const started = Date.now();
const env = await setupEnv(t, { webhook: true });
await createTenancy(env, ['knative-eventing']);

t.test('the openshift/ variant is admitted (objects of kinds without a CRD here are skipped)', async (t) => {
  const applied = await applyReference(env, 'openshift');
  t.same(
    applied.filter((a) => a.refusal).map((a) => a.refusal),
    [],
    'no object refused',
  );
  // ClusterDomainClaim (networking.internal.knative.dev) and DomainMapping
  // v1alpha1 belong to Knative releases whose CRDs the e2e does not load.
  t.same(
    applied.filter((a) => a.skipped).map((a) => `${a.object.apiVersion} ${a.object.kind}`).sort(),
    ['networking.internal.knative.dev/v1alpha1 ClusterDomainClaim', 'serving.knative.dev/v1alpha1 DomainMapping'],
    'only kinds this API server does not serve are skipped',
  );
  const stored = applied.filter((a) => a.stored).map((a) => describe(a.object));
  t.ok(stored.includes('AuthorizationPolicy knative-serving/deny-all-by-default'), 'deny-all-by-default admitted');
  t.ok(stored.includes('AuthorizationPolicy tenant-1/allow-wait-for-drain'), 'the drain-port exception admitted');
});

t.test('audit: no violation, same tenant allowed and cross tenant denied on all four paths', async (t) => {
  const run = await runAuditCli(env.cluster);
  t.equal(run.code, 0, `audit exits 0 (stderr: ${run.stderr.trim()})`);
  const report = run.report!;
  t.equal(report.summary.violating, 0);
  t.equal(report.summary.openCrossTenantPaths, 0);
  const cells = matrixCells(report);
  for (const path of DATA_PATHS) {
    for (const [from, to, want] of [
      ['tenant-1', 'tenant-1', true],
      ['tenant-2', 'tenant-2', true],
      ['tenant-1', 'tenant-2', false],
      ['tenant-2', 'tenant-1', false],
    ] as const) {
      t.equal(cells.get(`${from}->${to} via ${path}`), want, `${from} -> ${to} via ${path}: ${want ? 'allowed' : 'denied'}`);
    }
  }
});

t.teardown(() => t.comment(`e2e timing: reference (openshift/) tests took ${((Date.now() - started) / 1000).toFixed(1)}s including setup`));
