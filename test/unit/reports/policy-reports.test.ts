import t from 'tap';
import type { AuditResult } from '../../../src/reports/audit-report.js';
import type { KubeObject } from '../../../src/engine/types.js';
import { buildPolicyReports, MAX_RESULTS, OPEN_PATH_RULE, PENDING_MUTATION_RULE, ROLLOUT_POLICY } from '../../../src/reports/policy-reports.js';

const as = { username: 'alice', groups: ['tenant-1-admins'] };
const obj = (kind: string, name: string, namespace?: string): KubeObject => ({ apiVersion: kind === 'Namespace' ? 'v1' : 'apps/v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) } }) as KubeObject;
const decision = (d: Partial<AuditResult['decision']> = {}): AuditResult['decision'] => ({ allowed: true, intercepted: true, violations: [], warnings: [], patch: [], ...d });
const now = new Date('2026-12-01T04:00:00Z');

t.test('one PolicyReport per namespace, cluster-scoped objects and open paths in the ClusterPolicyReport', async (t) => {
  const results: AuditResult[] = [
    { object: obj('Deployment', 'bad', 'tenant-1'), as, decision: decision({ allowed: false, violations: [{ rule: 'TG-X', message: 'no', path: 'spec.x' }] }) },
    { object: obj('Deployment', 'ok', 'tenant-1'), as, decision: decision() },
    { object: obj('Deployment', 'old', 'tenant-2'), as, decision: decision({ patch: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }], warnings: ['careful'] }) },
    { object: obj('Namespace', 'tenant-1'), as, decision: decision() },
  ];
  const open = [{ from: 'tenant-1', to: 'tenant-2', path: 'direct' as never, allowed: true, reason: 'no policy', peered: false }];
  const r = buildPolicyReports(results, open, now);
  t.same(r.namespaced.map((p) => p.metadata), [
    { name: 'tenant-guard', namespace: 'tenant-1', labels: { 'app.kubernetes.io/managed-by': 'tenant-guard' } },
    { name: 'tenant-guard', namespace: 'tenant-2', labels: { 'app.kubernetes.io/managed-by': 'tenant-guard' } },
  ]);
  const t1 = r.namespaced[0]!;
  t.same(t1.summary, { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
  t.match(t1.results[0], { policy: 'tenant-guard', rule: 'TG-X', result: 'fail', message: 'no', resources: [{ kind: 'Deployment', name: 'bad', namespace: 'tenant-1' }], properties: { path: 'spec.x', judgedAs: 'alice' }, timestamp: { seconds: 1796097600, nanos: 0 } });
  t.same(r.namespaced[1]!.results.map((x) => [x.result, x.rule]), [['warn', 'warning'], ['warn', PENDING_MUTATION_RULE]]);
  t.equal(r.cluster.kind, 'ClusterPolicyReport');
  t.same(r.cluster.results.map((x) => [x.result, x.rule ?? null]), [['fail', OPEN_PATH_RULE], ['fail', 'TG-X'], ['pass', null]]);
  t.match(r.cluster.results[0]!.message, /tenant tenant-1 can reach tenant tenant-2 over direct without a peering/);
});

t.test('a capped report keeps its failures and counts everything', async (t) => {
  const many: AuditResult[] = Array.from({ length: MAX_RESULTS + 5 }, (_, i) => ({ object: obj('Deployment', `d${i}`, 'n'), as, decision: decision() }));
  many.push({ object: obj('Deployment', 'bad', 'n'), as, decision: decision({ allowed: false, violations: [{ rule: 'TG-X', message: 'no', path: '' }] }) });
  const p = buildPolicyReports(many, [], now).namespaced[0]!;
  t.equal(p.results.length, MAX_RESULTS);
  t.equal(p.results[0]!.result, 'fail');
  t.same(p.summary, { pass: MAX_RESULTS + 5, fail: 1, warn: 0, error: 0, skip: 0 });
});

t.test('the rollout: each violation carries its configured action, exceptions are skips, and the ClusterPolicyReport counts per rule', async (t) => {
  const v = { rule: 'TG-X', message: 'no', path: 'spec.x' };
  const results: AuditResult[] = [
    { object: obj('Deployment', 'a', 'tenant-1'), as, decision: decision({ allowed: false, violations: [v] }), outcomes: [{ rule: 'TG-X', outcome: 'warn' }] },
    { object: obj('Deployment', 'b', 'tenant-1'), as, decision: decision({ allowed: false, violations: [v] }), outcomes: [{ rule: 'TG-X', outcome: 'exception', exception: 'legacy' }] },
  ];
  const r = buildPolicyReports(results, [], now);
  t.same(r.namespaced[0]!.results.map((x) => [x.result, x.properties?.action, x.properties?.exception ?? null]), [['fail', 'warn', null], ['skip', 'exception', 'legacy']]);
  const rollout = r.cluster.results.find((x) => x.policy === ROLLOUT_POLICY)!;
  t.match(rollout, { rule: 'TG-X', result: 'warn', properties: { wouldDeny: '2', deny: '0', warn: '1', audit: '0', excepted: '1' } });
  t.match(rollout.message, /2 live objects would be refused under deny: 0 in deny, 1 in warn, 0 in audit, 1 covered by exceptions \(legacy\)/);
});

t.test("a namespace's PolicyReport is rendered for its tenant: another tenant's objects named only by tenant", async (t) => {
  const { DecisionBuilder } = await import('../../../src/engine/decision.js');
  const { msg, ref } = await import('../../../src/kube/message-text.js');
  const secret = ref('AuthorizationPolicy tenant-1/secret-name-xyz (rules[0])', 'tenant-1', 'policy');
  const d = new DecisionBuilder().violate('TG-X', 'spec', msg`trusted by ${secret}`).warn(msg`TG-Y: see ${secret}`).build();
  const results: AuditResult[] = [
    { object: obj('Deployment', 'd', 'tenant-2'), as, decision: d },
    { object: obj('Namespace', 'tenant-2'), as, decision: d },
  ];
  const tenantOf = (ns: string) => (ns.startsWith('tenant-') ? ns : undefined);
  const r = buildPolicyReports(results, [], now, { tenantOf });
  const messages = r.namespaced[0]!.results.map((x) => x.message).join('\n');
  t.match(messages, /trusted by a policy of tenant tenant-1/);
  t.match(messages, /see a policy of tenant tenant-1/);
  t.notMatch(messages, /secret-name-xyz/);
  t.match(r.cluster.results.map((x) => x.message).join('\n'), /secret-name-xyz/, 'the ClusterPolicyReport (the platform\'s) keeps full detail');
  t.match(buildPolicyReports(results, [], now).namespaced[0]!.results[0]!.message, /secret-name-xyz/, 'without tenantOf: full');
});
