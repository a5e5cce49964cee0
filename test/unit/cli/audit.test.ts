// `audit`'s pure parts: which identity submits an object, and the report.
// The command against a live cluster: test/e2e/reference-*.test.ts.
import t from 'tap';
import { auditIdentity, AUDIT_USER, controllerIdentity, writtenByController } from '../../../src/reports/audit-identity.js';
import { buildReport, openCrossTenantPaths, reportFails, type AuditResult } from '../../../src/reports/audit-report.js';
import { formatAuditText } from '../../../src/cli/audit-text.js';
import { runAudit } from '../../../src/cli/audit.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { Tenancy } from '../../../src/tenancy/tenancy.js';
import type { Decision } from '../../../src/engine/types.js';
import type { ReachabilityMatrix } from '../../../src/mesh/matrix.js';
import { PassThrough } from 'node:stream';

const config = parseTenancyConfig(
  {
    apiVersion: 'tenant-guard.dev/v1alpha1',
    kind: 'TenancyConfig',
    platformAdmins: { users: ['root'], groups: ['platform-admins'] },
    tenants: [
      { name: 'tenant-1', admins: { users: ['alice'], groups: ['tenant-1-admins'] }, namespaces: ['tenant-1'] },
      { name: 'tenant-2', admins: { users: ['bob'], groups: [] }, namespaces: ['tenant-2'] },
    ],
  },
  'test',
);
const store = new MemoryStore();
store.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-x', labels: { [config.tenantLabel]: 'tenant-x' } } });
const tenancy = new Tenancy(config, store);

t.test('auditIdentity: the writer an object would normally have', async (t) => {
  t.same(auditIdentity(config, tenancy, 'tenant-1'), { username: AUDIT_USER, groups: ['tenant-1-admins', 'system:authenticated'] }, "tenant namespace: the tenant's admin group");
  t.same(auditIdentity(config, tenancy, 'tenant-2'), { username: 'bob', groups: ['system:authenticated'] }, 'no admin group: the first admin user');
  t.same(
    auditIdentity(config, tenancy, 'team-x'),
    { username: 'system:serviceaccount:team-x:default', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-x', 'system:authenticated'] },
    'a tenant known only from a label: the namespace service account',
  );
  const platform = { username: AUDIT_USER, groups: ['platform-admins', 'system:authenticated'] };
  t.same(auditIdentity(config, tenancy, undefined), platform, 'cluster-scoped: platform admin');
  t.same(auditIdentity(config, tenancy, 'knative-serving'), platform, 'system namespace: platform admin');
  t.same(auditIdentity(config, tenancy, 'default'), platform, 'unowned namespace: platform admin');
  // The identities map to the roles the engine expects.
  t.same(tenancy.actor(auditIdentity(config, tenancy, 'tenant-1')), { role: 'tenant', username: AUDIT_USER, tenants: ['tenant-1'], admin: true });
  t.same(tenancy.actor(auditIdentity(config, tenancy, 'team-x')).role, 'tenant');
  t.same(tenancy.actor(auditIdentity(config, tenancy, undefined)).role, 'platform-admin');
});

t.test('writtenByController: the Services and endpoints controllers maintain are audited as a controller', async (t) => {
  const svc = (name: string, spec: object, owners?: object[]) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'tenant-1', ...(owners ? { ownerReferences: owners } : {}) }, spec });
  const services = new Map([['web', svc('web', { selector: { app: 'web' } })], ['manual', svc('manual', { ports: [{ port: 80 }] })]]);
  const lookup = (_ns: string, name: string) => services.get(name);
  const knativeRoute = svc('hello', { type: 'ExternalName', externalName: 'knative-local-gateway.istio-system.svc.cluster.local' }, [{ apiVersion: 'serving.knative.dev/v1', kind: 'Route', name: 'hello', controller: true }]);
  t.ok(writtenByController(knativeRoute, lookup), "Knative's route Service (controller ownerReference)");
  t.notOk(writtenByController(svc('alias', { type: 'ExternalName', externalName: 'x.tenant-2.svc.cluster.local' }), lookup), 'a Service without a controller owner');
  const ep = (name: string) => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'tenant-1' }, subsets: [] });
  t.ok(writtenByController(ep('web'), lookup), 'Endpoints of a Service with a selector');
  t.notOk(writtenByController(ep('manual'), lookup), 'hand-written Endpoints of a selector-less Service');
  const slice = (managedBy: string) => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'tenant-1', labels: { 'endpointslice.kubernetes.io/managed-by': managedBy } } });
  t.ok(writtenByController(slice('endpointslice-controller.k8s.io'), lookup));
  t.notOk(writtenByController(slice('me'), lookup));
  t.notOk(writtenByController({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', ownerReferences: [{ controller: true }] } }, lookup), 'other kinds keep their audit identity');
  t.same(tenancy.actor(controllerIdentity(config)!).role, 'platform-controller');
});

const decision = (d: Partial<Decision>): Decision => ({ allowed: true, intercepted: true, violations: [], warnings: [], patch: [], ...d });
const as = { username: 'u', groups: [] };
const matrix = (crossAllowed: boolean, peered = false): ReachabilityMatrix => ({
  tenants: ['tenant-1', 'tenant-2'],
  sources: ['tenant-1', 'tenant-2'],
  paths: ['direct'],
  cells: [
    { from: 'tenant-1', to: 'tenant-1', path: 'direct', allowed: true, reason: 'own', peered: false },
    { from: 'tenant-1', to: 'tenant-2', path: 'direct', allowed: crossAllowed, reason: 'policy p', peered },
  ],
  unreadablePolicies: [],
  gateway: 'assumed',
});

t.test('report: clean cluster', async (t) => {
  const results: AuditResult[] = [{ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, as, decision: decision({}) }];
  const r = buildReport(results, matrix(false), []);
  t.same(r.summary, { objects: 1, violating: 0, violations: 0, wouldMutate: 0, openCrossTenantPaths: 0, refusedAsConfigured: 0 });
  t.same(r.rollout, []);
  t.same(r.findings, [], 'clean objects are only counted');
  t.equal(reportFails(r), false);
  t.match(formatAuditText(r, 'MATRIX\n'), /1 object judged: 0 violating[\s\S]*RESULT: OK/);
});

t.test('report: violations, pending mutations, open paths', async (t) => {
  const results: AuditResult[] = [
    {
      object: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 's', namespace: 'tenant-1' } },
      as,
      decision: decision({ allowed: false, violations: [{ rule: 'TG-X', path: 'spec', message: 'bad' }, { rule: 'TG-Y', path: '', message: 'worse' }] }),
    },
    { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1' } }, as, decision: decision({ patch: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] }) },
  ];
  const r = buildReport(results, matrix(true), ['networking.istio.io/Sidecar']);
  t.same(r.summary, { objects: 2, violating: 1, violations: 2, wouldMutate: 1, openCrossTenantPaths: 1, refusedAsConfigured: 1 });
  t.equal(reportFails(r), true);
  const text = formatAuditText(r, 'MATRIX\n');
  t.match(text, /VIOLATIONS \(1 object\):\n  Service tenant-1\/s/);
  t.match(text, /TG-X spec: bad/);
  t.match(text, /TG-Y \(object\): worse/);
  t.match(text, /WOULD BE MUTATED[\s\S]*patch: add \/metadata\/labels\/x "y"/);
  t.match(text, /not served by this API server[^\n]*Sidecar/);
  t.match(text, /RESULT: FAIL/);
  t.equal(openCrossTenantPaths(matrix(true, true)).length, 0, 'a peered open path is wanted, not a finding');
});

t.test('report: trusted names nobody holds are listed, without failing the audit', async (t) => {
  const { missingReservedNamespaces } = await import('../../../src/engine/reserved-names.js');
  const { loadDefaultTenancyConfig } = await import('../../../src/config/default.js');
  const config = loadDefaultTenancyConfig();
  const missing = missingReservedNamespaces(config, (ns) => ns === 'kube-system' || ns === 'istio-system');
  t.same(missing.map((m) => m.namespace), ['knative-serving'], 'knative-serving does not exist yet');
  const r = buildReport([], matrix(false), [], missing);
  t.same(r.missingReservedNamespaces.map((m) => m.namespace), ['knative-serving'], 'in the JSON report');
  t.equal(reportFails(r), false);
  t.match(formatAuditText(r, 'MATRIX\n'), /TRUSTED NAMES NOT HELD \(1\)[^\n]*TG-NS-RESERVED-NAME\)\n  knative-serving: a system namespace/);
});

t.test('report: the rollout per rule and action, exceptions named', async (t) => {
  const svc = (name: string) => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name, namespace: 'tenant-1' } });
  const v = (rule: string) => ({ rule, path: 'spec', message: 'bad' });
  const results: AuditResult[] = [
    { object: svc('a'), as, decision: decision({ allowed: false, violations: [v('TG-X')] }), outcomes: [{ rule: 'TG-X', outcome: 'deny' }] },
    { object: svc('b'), as, decision: decision({ allowed: false, violations: [v('TG-X'), v('TG-Y')] }), outcomes: [{ rule: 'TG-X', outcome: 'warn' }, { rule: 'TG-Y', outcome: 'audit' }] },
    { object: svc('c'), as, decision: decision({ allowed: false, violations: [v('TG-X')] }), outcomes: [{ rule: 'TG-X', outcome: 'exception', exception: 'legacy' }] },
  ];
  const r = buildReport(results, matrix(false), []);
  t.same(r.rollout, [
    { rule: 'TG-X', wouldDeny: 3, deny: 1, warn: 1, audit: 0, excepted: 1, exceptions: [{ exception: 'legacy', kind: 'Service', namespace: 'tenant-1', name: 'c' }] },
    { rule: 'TG-Y', wouldDeny: 1, deny: 0, warn: 0, audit: 1, excepted: 0, exceptions: [] },
  ]);
  t.equal(r.summary.violating, 3, 'violating counts what deny would refuse');
  t.equal(r.summary.refusedAsConfigured, 1);
  t.match(r.findings[1]!.violations, [{ rule: 'TG-X', action: 'warn' }, { rule: 'TG-Y', action: 'audit' }]);
  const text = formatAuditText(r, 'MATRIX\n');
  t.match(text, /ROLLOUT[^\n]*\n\s+RULE\s+WOULD-DENY\s+DENY\s+WARN\s+AUDIT\s+EXCEPTED\n\s+TG-X\s+3\s+1\s+1\s+0\s+1\n\s+covered by exception legacy: Service tenant-1\/c/);
  t.match(text, /TG-X \(warn\) spec: bad/);
  t.match(text, /1 object refused as configured/);
});

t.test('runAudit: usage and kubeconfig errors exit 2 with a coded message', async (t) => {
  const io = () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d) => (out += d));
    stderr.on('data', (d) => (err += d));
    return { io: { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: process.cwd() }, out: () => out, err: () => err };
  };
  let c = io();
  t.equal(await runAudit(['--help'], c.io), 0);
  t.match(c.out(), /usage: tenant-guard audit/);
  c = io();
  t.equal(await runAudit(['-o', 'xml'], c.io), 2);
  t.match(c.err(), /TG_ERR_USAGE: -o must be one of text, json, yaml/);
  c = io();
  t.equal(await runAudit(['--kubeconfig', '/nonexistent/kubeconfig'], c.io), 2);
  t.match(c.err(), /^TG_ERR_CLUSTER: cannot load the kubeconfig/);

  // A kubeconfig naming an API server nobody answers at.
  const dir = t.testdir({
    kubeconfig: [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: x}}]',
      'contexts: [{name: ctx, context: {cluster: c, user: u}}]',
      'current-context: ctx',
    ].join('\n'),
  });
  c = io();
  t.equal(await runAudit(['--kubeconfig', `${dir}/kubeconfig`], c.io), 2);
  t.match(c.err(), /^TG_ERR_CLUSTER: cannot read the cluster at https:\/\/127\.0\.0\.1:1\//);
  c = io();
  t.equal(await runAudit(['--kubeconfig', `${dir}/kubeconfig`, '--context', 'nope'], c.io), 2);
  t.match(c.err(), /no context "nope"/);
});
