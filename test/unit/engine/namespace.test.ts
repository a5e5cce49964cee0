import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import {
  alice,
  bob,
  carol,
  knativeController,
  mallory,
  namespace,
  platformAdmin,
  referenceState,
  submit,
  TENANT_LABEL,
} from './workload-harness.js';

const T = TENANT_LABEL;

t.test('tenant admin CREATE: tenant label and istio-injection are added', async (t) => {
  const { d, result } = submit(namespace('tenant-1-dev'), alice, { state: new MemoryStore() });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  // Only the ops we make, with the label key escaped.
  t.same(d.patch, [
    { op: 'add', path: `/metadata/labels/${T.replace('/', '~1')}`, value: 'tenant-1' },
    { op: 'add', path: '/metadata/labels/istio-injection', value: 'enabled' },
  ]);
});

t.test('tenant admin CREATE of a namespace without labels map at all', async (t) => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1-x' } };
  const { d, result } = submit(ns, alice, { state: new MemoryStore() });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-1', 'istio-injection': 'enabled' });
});

t.test('the reference namespaces created by their admins are admitted and labelled', async (t) => {
  const one = submit(namespace('tenant-1'), alice, { state: new MemoryStore() });
  t.equal(one.d.allowed, true);
  t.same(one.result.metadata.labels, { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const two = submit(namespace('tenant-2', { 'istio-injection': 'enabled' }), bob, { state: new MemoryStore() });
  t.equal(two.d.allowed, true);
  t.same(two.result.metadata.labels, { 'istio-injection': 'enabled', [T]: 'tenant-2' });
  t.same(two.d.patch.length, 1, 'istio-injection already set: only the tenant label is added');
});

t.test('tenant admin may not create a namespace for another tenant', async (t) => {
  const byLabel = submit(namespace('sneaky', { [T]: 'tenant-2' }), alice, { state: new MemoryStore() });
  t.equal(byLabel.d.allowed, false);
  t.same(byLabel.rules, ['TG-NS-TENANT-OWNERSHIP']);
  t.equal(byLabel.d.violations[0]!.path, `metadata.labels["${T}"]`);
  t.same(byLabel.d.patch, []);
  const byConfig = submit(namespace('tenant-2'), alice, { state: new MemoryStore() });
  t.same(byConfig.rules, ['TG-NS-TENANT-OWNERSHIP'], 'tenant-2 is listed under tenant-2 in the config');
  const unknown = submit(namespace('x', { [T]: 'tenant-9' }), alice, { state: new MemoryStore() });
  t.same(unknown.rules, ['TG-NS-TENANT-OWNERSHIP']);
});

t.test('admin of several tenants must name the tenant', async (t) => {
  const missing = submit(namespace('shared'), carol, { state: new MemoryStore() });
  t.same(missing.rules, ['TG-NS-TENANT-AMBIGUOUS']);
  const named = submit(namespace('shared', { [T]: 'tenant-2' }), carol, { state: new MemoryStore() });
  t.equal(named.d.allowed, true);
  t.same(named.result.metadata.labels, { [T]: 'tenant-2', 'istio-injection': 'enabled' });
});

t.test('injection opt-out and ambient on CREATE are refused for tenants', async (t) => {
  const disabled = submit(namespace('tenant-1-dev', { 'istio-injection': 'disabled' }), alice, { state: new MemoryStore() });
  t.same(disabled.rules, ['TG-NS-INJECTION-DISABLED']);
  const ambient = submit(namespace('tenant-1-dev', { 'istio.io/dataplane-mode': 'ambient' }), alice, { state: new MemoryStore() });
  t.same(ambient.rules, ['TG-NS-AMBIENT']);
  const none = submit(namespace('tenant-1-dev', { 'istio.io/dataplane-mode': 'none' }), alice, { state: new MemoryStore() });
  t.equal(none.d.allowed, true, 'dataplane-mode none (not ambient) is fine');
});

t.test('users who are neither tenant admins nor platform admins', async (t) => {
  const claim = submit(namespace('grab', { [T]: 'tenant-1' }), mallory, { state: new MemoryStore() });
  t.same(claim.rules, ['TG-NS-TENANT-OWNERSHIP']);
  const plain = submit(namespace('scratch'), mallory, { state: new MemoryStore() });
  t.equal(plain.d.allowed, true);
  t.same(plain.d.patch, [], 'an untenanted namespace is not mutated');
});

t.test('system namespaces', async (t) => {
  const labelled = submit(namespace('istio-system', { [T]: 'tenant-1' }), platformAdmin, { state: new MemoryStore() });
  t.same(labelled.rules, ['TG-NS-SYSTEM-TENANT-LABEL']);
  const plain = submit(namespace('knative-serving'), platformAdmin, { state: new MemoryStore() });
  t.equal(plain.d.allowed, true);
  t.same(plain.d.patch, [], 'system namespaces get no tenant or injection labels');
  const byTenant = submit(namespace('knative-serving'), alice, { state: new MemoryStore() });
  t.ok(byTenant.rules.includes('TG-NS-TENANT-OWNERSHIP'));
});

t.test('platform admin CREATE of a tenant namespace gets the same labels', async (t) => {
  const listed = submit(namespace('tenant-1'), platformAdmin, { state: new MemoryStore() });
  t.equal(listed.d.allowed, true);
  t.same(listed.result.metadata.labels, { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const labelled = submit(namespace('team-blue', { [T]: 'tenant-2' }), platformAdmin, { state: new MemoryStore() });
  t.same(labelled.result.metadata.labels, { [T]: 'tenant-2', 'istio-injection': 'enabled' });
  const plain = submit(namespace('monitoring'), platformAdmin, { state: new MemoryStore() });
  t.same(plain.d.patch, [], 'not a tenant namespace: untouched');
  const conflict = submit(namespace('tenant-1', { [T]: 'tenant-2' }), platformAdmin, { state: new MemoryStore() });
  t.same(conflict.rules, ['TG-NS-TENANT-LABEL-CONFLICT']);
  const unknown = submit(namespace('lab', { [T]: 'tenant-9' }), platformAdmin, { state: new MemoryStore() });
  t.equal(unknown.d.allowed, true);
  t.match(unknown.d.warnings.join('\n'), /tenant-9.*does not define/);
});

t.test('platform admin may not disable injection on a tenant namespace, but may on others', async (t) => {
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const off = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'disabled' }), platformAdmin, { old });
  t.same(off.rules, ['TG-NS-INJECTION-DISABLED']);
  t.match(off.d.violations[0]!.path, 'metadata.labels["istio-injection"]');
  const oldLabelled = namespace('team-blue', { [T]: 'tenant-2', 'istio-injection': 'enabled' });
  const untenantAndDisable = submit(namespace('team-blue', { 'istio-injection': 'disabled' }), platformAdmin, { old: oldLabelled });
  t.same(untenantAndDisable.rules, ['TG-NS-INJECTION-DISABLED'], 'leaving tenancy and disabling injection are two steps');
  const untenant = submit(namespace('team-blue', { 'istio-injection': 'enabled' }), platformAdmin, { old: oldLabelled });
  t.equal(untenant.d.allowed, true);
  t.match(untenant.d.warnings.join('\n'), /leaves tenant tenant-2/);
  const later = submit(namespace('team-blue', { 'istio-injection': 'disabled' }), platformAdmin, { old: namespace('team-blue', { 'istio-injection': 'enabled' }) });
  t.equal(later.d.allowed, true, 'no longer a tenant namespace');
});

t.test('platform admin removing the injection label: restored with a warning', async (t) => {
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const { d, result } = submit(namespace('tenant-1', { [T]: 'tenant-1' }), platformAdmin, { old });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  t.match(d.warnings.join('\n'), /istio-injection was removed.*restored/);
});

t.test('platform admin canary upgrade of the shared control plane: istio.io/rev without istio-injection', async (t) => {
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const { d, result } = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio.io/rev': 'canary' }), platformAdmin, { old });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-1', 'istio.io/rev': 'canary' }, 'istio-injection is not re-added: it would override the revision');
});

t.test('platform admin relabels a namespace to another tenant: allowed with a warning', async (t) => {
  const old = namespace('team-blue', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const { d } = submit(namespace('team-blue', { [T]: 'tenant-2', 'istio-injection': 'enabled' }), platformAdmin, { old });
  t.equal(d.allowed, true);
  t.match(d.warnings.join('\n'), /moves from tenant tenant-1 to tenant-2/);
  const amb = submit(namespace('team-blue', { [T]: 'tenant-1', 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' }), platformAdmin, { old });
  t.equal(amb.d.allowed, true);
  t.match(amb.d.warnings.join('\n'), /ambient/);
});

t.test('tenants may not change protected labels on UPDATE', async (t) => {
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const off = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'disabled' }), alice, { old });
  t.ok(off.rules.includes('TG-NS-PROTECTED-LABEL'));
  t.ok(off.rules.includes('TG-NS-INJECTION-DISABLED'));
  const move = submit(namespace('tenant-1', { [T]: 'tenant-2', 'istio-injection': 'enabled' }), alice, { old });
  t.ok(move.rules.includes('TG-NS-PROTECTED-LABEL'));
  const rev = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }), alice, { old });
  t.same(rev.rules, ['TG-NS-PROTECTED-LABEL']);
  const byOther = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' }), mallory, { old });
  t.ok(byOther.rules.includes('TG-NS-PROTECTED-LABEL'));
  const claim = submit(namespace('scratch', { [T]: 'tenant-1' }), alice, { old: namespace('scratch') });
  t.same(claim.rules, ['TG-NS-PROTECTED-LABEL'], 'claiming an existing untenanted namespace');
});

t.test('tenant UPDATE that drops protected labels: restored, other labels pass', async (t) => {
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const { d, result } = submit(namespace('tenant-1', { team: 'payments' }), alice, { old });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { team: 'payments', [T]: 'tenant-1', 'istio-injection': 'enabled' });
  t.equal(d.warnings.length, 2);
  const unchanged = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled', team: 'x' }), alice, { old });
  t.equal(unchanged.d.allowed, true);
  t.same(unchanged.d.patch, []);
});

t.test('UPDATE re-adds missing labels on a namespace that predates tenant-guard', async (t) => {
  const old = namespace('tenant-2');
  const { d, result } = submit(namespace('tenant-2', { team: 'x' }), bob, { old });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { team: 'x', [T]: 'tenant-2', 'istio-injection': 'enabled' });
});

t.test('DELETE: tenant admins delete only their own namespaces; never mutated', async (t) => {
  const own = namespace('tenant-1-dev', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const ok = submit(own, alice, { op: 'DELETE', old: own });
  t.equal(ok.d.allowed, true);
  t.same(ok.d.patch, []);
  const other = submit(namespace('tenant-2'), alice, { op: 'DELETE', old: namespace('tenant-2') });
  t.same(other.rules, ['TG-NS-TENANT-OWNERSHIP']);
  const shared = submit(namespace('default'), alice, { op: 'DELETE', old: namespace('default') });
  t.same(shared.rules, ['TG-NS-TENANT-OWNERSHIP']);
  const system = submit(namespace('istio-system'), alice, { op: 'DELETE', old: namespace('istio-system', { [T]: 'tenant-1' }) });
  t.ok(system.rules.includes('TG-NS-TENANT-OWNERSHIP'), 'a (bogus) tenant label does not make a system namespace deletable');
  const byAdmin = submit(namespace('tenant-2'), platformAdmin, { op: 'DELETE', old: namespace('tenant-2') });
  t.equal(byAdmin.d.allowed, true);
});

t.test('platform controllers are never blocked and never mutated', async (t) => {
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const { d } = submit(namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'disabled' }), knativeController, { old });
  t.equal(d.allowed, true);
  t.same(d.patch, []);
  t.match(d.warnings.join('\n'), /TG-NS-INJECTION-DISABLED.*not enforced/);
});

t.test('reference state: namespaces already labelled pass UPDATE unchanged', async (t) => {
  const state = referenceState();
  for (const ns of ['tenant-1', 'tenant-2']) {
    const old = namespace(ns, { [T]: ns, 'istio-injection': 'enabled' });
    const { d } = submit(structuredClone(old), ns === 'tenant-1' ? alice : bob, { old, state });
    t.equal(d.allowed, true, ns);
    t.same(d.patch, [], ns);
  }
});

t.test("OpenShift's namespace-security-allocation controller annotating a tenant namespace is admitted unchanged", async (t) => {
  // It writes openshift.io/sa.scc.* annotations on every namespace; it is not a
  // configured platform controller, so it is judged as "other": annotations pass.
  const allocator = { username: 'system:serviceaccount:openshift-infra:namespace-security-allocation-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:openshift-infra'] };
  const old = namespace('tenant-1', { [T]: 'tenant-1', 'istio-injection': 'enabled' });
  const annotated = structuredClone(old);
  annotated.metadata.annotations = { 'openshift.io/sa.scc.uid-range': '1000650000/10000', 'openshift.io/sa.scc.mcs': 's0:c26,c5' };
  const { d } = submit(annotated, allocator, { old, state: referenceState() });
  t.same(d.violations, []);
  t.same(d.patch, []);
});

t.test('tenants may not opt a namespace out of the webhook with tenant-guard.dev/ignore', async (t) => {
  const { evaluate } = await import('../../../src/engine/index.js');
  const { MemoryStore } = await import('../../../src/cluster/memory-store.js');
  const { loadDefaultTenancyConfig } = await import('../../../src/config/default.js');
  const config = loadDefaultTenancyConfig();
  const alice = { username: 'alice', groups: ['tenant-1-admins'] };
  const ns = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1', labels } });
  const base = { 'tenant-guard.dev/tenant': 'tenant-1', 'istio-injection': 'enabled' };
  const kind = { group: '', version: 'v1', kind: 'Namespace' };
  const created = evaluate({ operation: 'CREATE', kind, name: 'tenant-1', object: ns({ ...base, 'tenant-guard.dev/ignore': 'true' }), userInfo: alice, dryRun: false }, new MemoryStore(), config);
  t.equal(created.allowed, false);
  t.match(created.violations, [{ rule: 'TG-NS-PROTECTED-LABEL', path: 'metadata.labels["tenant-guard.dev/ignore"]' }]);
  const updated = evaluate(
    { operation: 'UPDATE', kind, name: 'tenant-1', object: ns({ ...base, 'tenant-guard.dev/ignore': 'true' }), oldObject: ns(base), userInfo: alice, dryRun: false },
    new MemoryStore(),
    config,
  );
  t.equal(updated.allowed, false);
  t.match(updated.violations, [{ rule: 'TG-NS-PROTECTED-LABEL', path: 'metadata.labels["tenant-guard.dev/ignore"]' }]);
  const byAdmin = evaluate(
    { operation: 'UPDATE', kind, name: 'tenant-1', object: ns({ ...base, 'tenant-guard.dev/ignore': 'true' }), oldObject: ns(base), userInfo: { username: 'platform-admin', groups: [] }, dryRun: false },
    new MemoryStore(),
    config,
  );
  t.equal(byAdmin.allowed, true);
});
