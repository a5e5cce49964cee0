// helm lint, the kubeVersion constraint, values.schema.json and the chart's
// render-time checks, with the real helm binary.
import t from 'tap';
import { CHART, KUBE_VERSION, helm, template } from './chart-helm.js';

t.test('helm lint --strict is clean', async (t) => {
  const r = helm(['lint', CHART, '--strict', '--kube-version', KUBE_VERSION]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.notMatch(r.stdout, /\[(WARNING|ERROR)\]/);
  t.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

t.test('helm lint is clean with every optional mode switched on', async (t) => {
  const r = helm([
    'lint', CHART, '--strict', '--kube-version', KUBE_VERSION,
    '--set', 'certManager.enabled=true',
    '--set', 'webhook.url=https://127.0.0.1:9443',
    '--set-json', 'tenancy.tenants=[{"name":"tenant-1","namespaces":["tenant-1"]}]',
    '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.podMonitor.enabled=true',
    '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.dashboard.enabled=true', '--set', 'metrics.tls=true',
  ]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.notMatch(r.stdout, /\[(WARNING|ERROR)\]/);
});

t.test('refuses Kubernetes older than 1.30 (matchConditions must not be dropped)', async (t) => {
  const r = helm(['template', 'tg', CHART, '--namespace', 'tenant-guard', '--kube-version', '1.29.9']);
  t.not(r.status, 0);
  t.match(r.stderr, /kubeVersion: >=1\.30\.0-0/);
});

const rejected: [string, string[], RegExp][] = [
  ['replicaCount as a word', ['--set-string', 'replicaCount=two'], /replicaCount/],
  ['zero replicas', ['--set', 'replicaCount=0'], /replicaCount/],
  ['an unknown top-level key', ['--set', 'replicas=2'], /replicas/],
  ['an unknown failurePolicy', ['--set', 'webhook.failurePolicy.workloads=Deny'], /failurePolicy/],
  ['a timeout above the API server maximum of 30s', ['--set', 'webhook.timeoutSeconds=31'], /timeoutSeconds/],
  ['a plain-HTTP webhook URL', ['--set', 'webhook.url=http://127.0.0.1:9443'], /url/],
  ['a caBundle that is not base64', ['--set', 'webhook.caBundle=not base64!'], /caBundle/],
  ['a tenant name that is no namespace-like label', ['--set-json', 'tenancy.tenants=[{"name":"Tenant_1"}]'], /tenancy/],
  ['an unknown tenancy field', ['--set', 'tenancy.tenantLabels=x'], /tenantLabels/],
  ['an exempt user with a quote (CEL injection)', ['--set-json', `webhook.exemptIdentities.users=["a' || true || '"]`], /exemptIdentities/],
];
for (const [what, args, field] of rejected) {
  t.test(`values schema rejects ${what}`, async (t) => {
    const r = template(args);
    t.not(r.status, 0, 'rendering must fail');
    t.match(r.stderr, /values don't meet the specifications of the schema/);
    t.match(r.stderr, field);
  });
}

const refused: [string, string[], RegExp][] = [
  ['cert-manager and an existing Secret at once', ['--set', 'certManager.enabled=true', '--set', 'tls.existingSecret=mine', '--set', 'webhook.caBundle=QUJD'], /set only one/],
  ['an existing Secret without its CA', ['--set', 'tls.existingSecret=mine'], /needs webhook\.caBundle/],
  ['a grace period shorter than shutdown delay + timeout', ['--set', 'terminationGracePeriodSeconds=10'], /terminationGracePeriodSeconds \(10\) must be greater/],
  ['a platform controller name with a quote', ['--set-json', `tenancy.platformControllers.users=["o'brien"]`], /cannot be written into the webhooks' matchConditions/],
];
for (const [what, args, message] of refused) {
  t.test(`refuses to render ${what}`, async (t) => {
    const r = template(args);
    t.not(r.status, 0);
    t.match(r.stderr, message);
  });
}

t.test('refuses a release namespace that the webhook would have to judge', async (t) => {
  // The release namespace is excluded from every webhook: a system or tenant namespace must never be.
  for (const ns of ['istio-system', 'knative-serving']) {
    const r = helm(['template', 'tg', CHART, '--namespace', ns, '--kube-version', KUBE_VERSION]);
    t.not(r.status, 0, ns);
    t.match(r.stderr, /is a system namespace/, ns);
  }
  const r = helm([
    'template', 'tg', CHART, '--namespace', 'tenant-1', '--kube-version', KUBE_VERSION,
    '--set-json', 'tenancy.tenants=[{"name":"tenant-1","namespaces":["tenant-1"]}]',
  ]);
  t.not(r.status, 0);
  t.match(r.stderr, /belongs to a tenant/);
});
