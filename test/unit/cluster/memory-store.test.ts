import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { OverlayState } from '../../../src/cluster/overlay.js';
import { GK } from '../../../src/cluster/state.js';
import type { KubeObject } from '../../../src/engine/types.js';

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const ap = (namespace: string, name: string, version = 'v1'): KubeObject => ({
  apiVersion: `security.istio.io/${version}`,
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace },
  spec: {},
});

t.test('stores by kind, namespace and name; versions share one key', async (t) => {
  const s = new MemoryStore();
  s.upsert(ap('tenant-1', 'a', 'v1beta1'));
  s.upsert(ap('tenant-1', 'a', 'v1'));
  s.upsert(ap('tenant-2', 'b'));
  t.equal(s.list(GK.AuthorizationPolicy).length, 2);
  t.equal(s.list(GK.AuthorizationPolicy, 'tenant-1').length, 1);
  t.equal(s.get(GK.AuthorizationPolicy, 'tenant-1', 'a')?.apiVersion, 'security.istio.io/v1');
  t.equal(s.get(GK.AuthorizationPolicy, 'tenant-3', 'a'), undefined);
  t.ok(s.remove(ap('tenant-1', 'a')));
  t.notOk(s.remove(ap('tenant-1', 'a')));
  t.equal(s.size(), 1);
});

t.test('namespace label index follows updates and removals', async (t) => {
  const s = new MemoryStore();
  s.upsert(ns('t1-a', { tenant: 't1' }));
  s.upsert(ns('t1-b', { tenant: 't1' }));
  t.same(s.namespacesWithLabel('tenant', 't1').sort(), ['t1-a', 't1-b']);
  s.upsert(ns('t1-b', { tenant: 't2' }));
  t.same(s.namespacesWithLabel('tenant', 't1'), ['t1-a']);
  t.same(s.namespacesWithLabel('tenant', 't2'), ['t1-b']);
  s.remove(ns('t1-a'));
  t.same(s.namespacesWithLabel('tenant', 't1'), []);
  s.replaceKind(GK.Namespace, [ns('x', { tenant: 't9' })]);
  t.same(s.namespacesWithLabel('tenant', 't2'), []);
  t.same(s.namespacesWithLabel('tenant', 't9'), ['x']);
});

t.test('overlay shows a write or a delete without touching the base', async (t) => {
  const s = new MemoryStore();
  s.upsert(ap('tenant-1', 'a'));
  s.upsert(ns('tenant-1', { tenant: 't1' }));
  const written = { ...ap('tenant-1', 'b') };
  const w = new OverlayState(s, written, undefined);
  t.equal(w.list(GK.AuthorizationPolicy, 'tenant-1').length, 2);
  t.equal(w.list(GK.AuthorizationPolicy, 'tenant-2').length, 0);
  t.equal(w.get(GK.AuthorizationPolicy, 'tenant-1', 'b'), written);
  t.equal(s.list(GK.AuthorizationPolicy).length, 1, 'base unchanged');

  const replaced = { ...ap('tenant-1', 'a'), spec: { action: 'DENY' } };
  const r = new OverlayState(s, replaced, undefined);
  t.same(r.list(GK.AuthorizationPolicy).map((o) => o.spec), [{ action: 'DENY' }]);

  const d = new OverlayState(s, undefined, ap('tenant-1', 'a'));
  t.same(d.list(GK.AuthorizationPolicy), []);
  t.equal(d.get(GK.AuthorizationPolicy, 'tenant-1', 'a'), undefined);

  const relabel = new OverlayState(s, ns('tenant-1', { tenant: 't2' }), undefined);
  t.same(relabel.namespacesWithLabel('tenant', 't1'), []);
  t.same(relabel.namespacesWithLabel('tenant', 't2'), ['tenant-1']);
});

t.test('derivedAcross: kept until any object of the kind changes; an overlay writing that kind computes afresh', async (t) => {
  const s = new MemoryStore();
  s.upsert(ap('tenant-1', 'a'));
  let computed = 0;
  const count = () => s.derivedAcross('n', GK.AuthorizationPolicy, () => (computed++, s.list(GK.AuthorizationPolicy).length));
  t.equal(count(), 1);
  t.equal(count(), 1);
  t.equal(computed, 1, 'cached');
  s.upsert(ns('tenant-9'));
  t.equal(count(), 1);
  t.equal(computed, 1, 'another kind changing keeps it');
  s.upsert(ap('tenant-2', 'b'));
  t.equal(count(), 2, 'a change anywhere in the kind drops it');
  s.remove(ap('tenant-1', 'a'));
  t.equal(count(), 1);
  t.equal(computed, 3);
  const over = new OverlayState(s, ap('tenant-3', 'c'), undefined);
  t.equal(over.derivedAcross('n', GK.AuthorizationPolicy, () => over.list(GK.AuthorizationPolicy).length), 2, 'the overlay sees its write');
  t.equal(count(), 1, "and the base's value is untouched");
  const nsOver = new OverlayState(s, ns('tenant-8'), undefined);
  t.equal(nsOver.derivedAcross('n', GK.AuthorizationPolicy, () => -1), 1, 'an overlay of another kind shares the base value');
});
