import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK } from '../../../src/cluster/state.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { baselineObjectsFor } from '../../../src/tenancy/baseline-objects.js';
import { planBaseline } from '../../../src/controllers/baseline-plan.js';
import type { KubeObject } from '../../../src/engine/types.js';
import { defaultConfig } from '../engine/engine-test-config.js';

const config = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true } }, 'plan test config');

function ns(name: string, tenant?: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `uid-${name}`, ...(tenant ? { labels: { 'tenant-guard.dev/tenant': tenant } } : {}), ...extra } };
}

function store(...objs: KubeObject[]): MemoryStore {
  const s = new MemoryStore();
  for (const o of [ns('tenant-1', 'tenant-1'), ns('tenant-2', 'tenant-2'), ns('knative-serving'), ns('istio-system'), ...objs]) s.upsert(o);
  return s;
}

const summary = (s: MemoryStore) => planBaseline(baselineObjectsFor(config, s), s).map((a) => `${a.type} ${a.object.kind} ${a.object.metadata.namespace}/${a.object.metadata.name}`);

/** The state after every create of the plan went through (as the watch would deliver it). */
function converged(s: MemoryStore): MemoryStore {
  for (const a of planBaseline(baselineObjectsFor(config, s), s)) if (a.type === 'create') s.upsert({ ...a.object, metadata: { ...a.object.metadata, uid: 'u', resourceVersion: '1' } });
  return s;
}

t.test('an empty cluster: everything is created; once there, nothing to do (idempotent)', async (t) => {
  const s = store();
  t.equal(summary(s).length, 10);
  t.ok(summary(s).every((l) => l.startsWith('create ')));
  converged(s);
  t.same(summary(s), []);
});

t.test('drift is repaired; unrelated labels and annotations are kept; dry-run is removed', async (t) => {
  const s = converged(store());
  const ap = s.get(GK.AuthorizationPolicy, 'tenant-1', 'tenant-guard-allow-tenant')!;
  s.upsert({
    ...ap,
    metadata: { ...ap.metadata, labels: { ...ap.metadata.labels, team: 'x' }, annotations: { 'istio.io/dry-run': 'true', note: 'kept' } },
    spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['*'] } }] }] },
  });
  const plan = planBaseline(baselineObjectsFor(config, s), s);
  t.equal(plan.length, 1);
  const a = plan[0]!;
  t.equal(a.type, 'update');
  if (a.type !== 'update') return;
  t.same(a.drift, ['spec', 'metadata.annotations["istio.io/dry-run"]']);
  t.same(a.object.metadata.annotations, { note: 'kept' });
  t.equal(a.object.metadata.labels?.team, 'x');
  t.equal(a.object.metadata.resourceVersion, '1', 'optimistic: the update carries the resourceVersion it was computed from');
  t.same(a.object.spec.rules[0].from[0].source.namespaces, ['tenant-1', 'istio-system', 'knative-serving']);
});

t.test("a user's object with a baseline name is never touched", async (t) => {
  const s = store({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'tenant-guard-strict', namespace: 'tenant-1' }, spec: { mtls: { mode: 'STRICT' } } });
  t.ok(summary(s).includes('conflict PeerAuthentication tenant-1/tenant-guard-strict'));
  t.notOk(summary(s).some((l) => l.includes('tenant-1/tenant-guard-strict') && !l.startsWith('conflict')));
});

t.test('managed objects whose namespace or tenant is gone are deleted; terminating namespaces are left to their deletion', async (t) => {
  const s = converged(store(ns('tenant-2-b', 'tenant-2')));
  // A platform admin hands the namespace back: it belongs to no tenant any more.
  s.upsert(ns('tenant-2-b'));
  t.same(summary(s).sort(), [
    'delete AuthorizationPolicy tenant-2-b/tenant-guard-allow-tenant',
    'delete PeerAuthentication tenant-2-b/tenant-guard-strict',
    'update AuthorizationPolicy knative-serving/tenant-guard-activator-tenant-2',
    'update AuthorizationPolicy knative-serving/tenant-guard-pin-activator-tenant-2',
    'update AuthorizationPolicy tenant-2/tenant-guard-allow-tenant',
  ]);
  // tenant-1's namespace is terminating: its objects go with it, its activator policy goes now.
  const s2 = converged(store());
  s2.upsert(ns('tenant-1', 'tenant-1', { deletionTimestamp: '2026-01-01T00:00:00Z' }));
  t.same(summary(s2).sort(), [
    'delete AuthorizationPolicy knative-serving/tenant-guard-activator-tenant-1',
    'delete AuthorizationPolicy knative-serving/tenant-guard-pin-activator-tenant-1',
  ]);
  // A namespace deleted and finalized took its objects with it: nothing to delete there.
  const s4 = converged(store(ns('tenant-2-b', 'tenant-2')));
  s4.remove(ns('tenant-2-b'));
  t.notOk(summary(s4).some((l) => l.startsWith('delete') && l.includes('tenant-2-b/')));
  // A user's policy without the label in a gone namespace is not ours to delete.
  const s3 = store({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'mine', namespace: 'tenant-9', labels: { 'tenant-guard.dev/managed-by': 'tenant-guard' } }, spec: {} });
  t.notOk(summary(s3).some((l) => l.includes('tenant-9')), 'the managed-by label alone (no baseline role) does not make it ours');
});

t.test('a renamed baseline object: the successor is created before the old one is deleted', async (t) => {
  const s = converged(store());
  const renamed = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true, authorizationPolicy: { name: 'closed' } } }, 'renamed');
  const plan = planBaseline(baselineObjectsFor(renamed, s), s).map((a) => `${a.type} ${a.object.metadata.namespace}/${a.object.metadata.name}`);
  t.same(plan, ['create tenant-1/closed', 'create tenant-2/closed', 'delete tenant-1/tenant-guard-allow-tenant', 'delete tenant-2/tenant-guard-allow-tenant']);
});
