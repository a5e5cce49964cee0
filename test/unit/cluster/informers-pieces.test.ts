// The pure parts of the cluster watcher: backoff, event application,
// normalisation and REST paths. The list+watch loop itself runs against a
// real kube-apiserver in test/e2e/cluster-watcher.test.ts.
import t from 'tap';
import { resourcePath, splitGroupKind, type ResourceInfo } from '../../../src/cluster/kube-discovery.js';
import { normalizeObject } from '../../../src/cluster/kube-list.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK } from '../../../src/cluster/state.js';
import { Backoff, sleep } from '../../../src/cluster/watch-backoff.js';
import { applyWatchEvent, ResourceVersionExpiredError } from '../../../src/cluster/watch-events.js';

const apRes: ResourceInfo = { gk: GK.AuthorizationPolicy, group: 'security.istio.io', version: 'v1', kind: 'AuthorizationPolicy', plural: 'authorizationpolicies', namespaced: true };
const nsRes: ResourceInfo = { gk: GK.Namespace, group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

t.test('Backoff', async (t) => {
  t.test('grows by the factor up to the ceiling, half fixed and half jitter', async (t) => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    t.same([lo.next(), lo.next(), lo.next(), lo.next(), lo.next(), lo.next()], [50, 100, 200, 400, 500, 500]);
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    t.same([hi.next(), hi.next(), hi.next(), hi.next(), hi.next()], [100, 200, 400, 800, 1000]);
    t.equal(hi.consecutiveFailures, 5);
  });
  t.test('reset starts over', async (t) => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    b.next();
    b.next();
    b.reset();
    t.equal(b.consecutiveFailures, 0);
    t.equal(b.next(), 50);
  });
  t.test('rejects nonsense settings', async (t) => {
    t.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), RangeError);
    t.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), RangeError);
  });
});

t.test('sleep ends early and quietly on abort', async (t) => {
  const ac = new AbortController();
  const started = Date.now();
  const p = sleep(60_000, ac.signal);
  ac.abort();
  await p;
  t.ok(Date.now() - started < 1000);
  await sleep(60_000, ac.signal); // already aborted: returns at once
  t.pass();
});

t.test('normalizeObject', async (t) => {
  const got = normalizeObject({ metadata: { name: 'a', namespace: 'n', managedFields: [{ manager: 'kubectl' }], labels: { x: 'y' } }, spec: { action: 'ALLOW' } }, apRes);
  t.same(got, { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'a', namespace: 'n', labels: { x: 'y' } }, spec: { action: 'ALLOW' } }, 'list items get apiVersion/kind, lose managedFields');
  t.equal(normalizeObject({ metadata: { name: 'x' } }, nsRes).apiVersion, 'v1', 'core group: bare version');
  const own = normalizeObject({ apiVersion: 'security.istio.io/v1beta1', kind: 'AuthorizationPolicy', metadata: { name: 'a' } }, apRes);
  t.equal(own.apiVersion, 'security.istio.io/v1beta1', "an object's own apiVersion is kept");
});

t.test('resourcePath and splitGroupKind', async (t) => {
  t.equal(resourcePath(nsRes), '/api/v1/namespaces');
  t.equal(resourcePath(nsRes, 'ignored'), '/api/v1/namespaces', 'cluster-scoped kinds ignore the namespace');
  t.equal(resourcePath(apRes), '/apis/security.istio.io/v1/authorizationpolicies');
  t.equal(resourcePath(apRes, 'tenant-1'), '/apis/security.istio.io/v1/namespaces/tenant-1/authorizationpolicies');
  t.same(splitGroupKind(GK.Namespace), { group: '', kind: 'Namespace' });
  t.same(splitGroupKind(GK.KnativeService), { group: 'serving.knative.dev', kind: 'Service' });
});

t.test('applyWatchEvent', async (t) => {
  const store = new MemoryStore();
  const ap = (rv: string, action = 'ALLOW') => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'tenant-1', resourceVersion: rv }, spec: { action } });

  t.equal(applyWatchEvent(store, { type: 'ADDED', object: ap('10') }, apRes, '5'), '10', 'resumes from the event resourceVersion');
  t.equal(store.get(GK.AuthorizationPolicy, 'tenant-1', 'p')?.spec.action, 'ALLOW');
  applyWatchEvent(store, { type: 'MODIFIED', object: ap('11', 'DENY') }, apRes, '10');
  t.equal(store.get(GK.AuthorizationPolicy, 'tenant-1', 'p')?.spec.action, 'DENY', 'modified in place');
  t.equal(applyWatchEvent(store, { type: 'BOOKMARK', object: { kind: 'AuthorizationPolicy', metadata: { resourceVersion: '20' } } }, apRes, '11'), '20', 'bookmarks only move the resourceVersion');
  t.equal(store.list(GK.AuthorizationPolicy).length, 1);
  applyWatchEvent(store, { type: 'DELETED', object: ap('21') }, apRes, '20');
  t.equal(store.get(GK.AuthorizationPolicy, 'tenant-1', 'p'), undefined, 'deleted');
  t.equal(applyWatchEvent(store, { type: 'ADDED', object: { metadata: { name: 'q', namespace: 'tenant-1' } } }, apRes, '21'), '21', 'no resourceVersion: keep the last one');

  t.throws(
    () => applyWatchEvent(store, { type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version: 1 (5)' } }, apRes, '21'),
    ResourceVersionExpiredError,
    '410 Gone asks for a relist',
  );
  t.throws(() => applyWatchEvent(store, { type: 'ERROR', object: { kind: 'Status', code: 500, message: 'boom' } }, apRes, '21'), /ended with an error event \(500\): boom/);
  t.throws(() => applyWatchEvent(store, { type: 'WHAT' as never, object: {} }, apRes, '21'), /unknown event type/);
});

t.test('namespace label index follows watch events', async (t) => {
  const store = new MemoryStore();
  const ns = (labels: Record<string, string>) => ({ metadata: { name: 'team-a', labels } });
  applyWatchEvent(store, { type: 'ADDED', object: ns({ 'tenant-guard.dev/tenant': 'tenant-1' }) }, nsRes, '1');
  t.same(store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-1'), ['team-a']);
  applyWatchEvent(store, { type: 'MODIFIED', object: ns({ 'tenant-guard.dev/tenant': 'tenant-2' }) }, nsRes, '2');
  t.same(store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-1'), []);
  t.same(store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-2'), ['team-a']);
});
