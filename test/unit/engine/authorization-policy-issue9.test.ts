// AuthorizationPolicy writes that amount to something else: a revision label
// istiod skips (a delete), a delete in a terminating namespace (exempt), and
// the drain-port exception limited to the node network.
import t from 'tap';
import { ignoredByIstiod } from '../../../src/mesh/istiod-ignores.js';
import type { KubeObject } from '../../../src/engine/types.js';
import { review, ruleIds } from '../mesh/admit.js';
import { ALICE, ap, config, namespace, referenceState } from '../mesh/reference-state.js';

const ALLOW_OWN = 'allow-traffic-to-tenant-1';

function ownAllow(s: ReturnType<typeof referenceState>): KubeObject {
  const p = s.list('security.istio.io/AuthorizationPolicy', 'tenant-1').find((x) => x.metadata.name === ALLOW_OWN);
  if (!p) throw new Error('reference tenant-1 allow policy missing');
  return structuredClone(p);
}

t.test('ignoredByIstiod: the revision label against the namespace\'s control plane', async (t) => {
  const cfg = config();
  const obj = (labels?: Record<string, string>): KubeObject => ({ ...ap('tenant-1', 'p', {}), metadata: { name: 'p', namespace: 'tenant-1', ...(labels ? { labels } : {}) } });
  const nsDefault = namespace('tenant-1', { 'istio-injection': 'enabled' });
  t.equal(ignoredByIstiod(obj(), nsDefault, cfg), undefined, 'unlabelled: global, read by every istiod');
  t.equal(ignoredByIstiod(obj({ 'istio.io/rev': 'default' }), nsDefault, cfg), undefined, 'the default revision serves istio-injection=enabled');
  t.match(ignoredByIstiod(obj({ 'istio.io/rev': 'canary' }), nsDefault, cfg), /istio\.io\/rev=canary names a control plane that does not serve namespace tenant-1/);
  const nsRev = namespace('tenant-1', { 'istio.io/rev': 'rev-a' });
  t.equal(ignoredByIstiod(obj({ 'istio.io/rev': 'rev-a' }), nsRev, cfg), undefined, 'the namespace\'s own revision');
  t.ok(ignoredByIstiod(obj({ 'istio.io/rev': 'default' }), nsRev, cfg), 'default does not serve a namespace on rev-a');
  const revCfg = config({ tenants: cfg.tenants.map((x) => ({ ...x, revision: x.name === 'tenant-1' ? 'rev-t1' : 'rev-t2' })) });
  t.equal(ignoredByIstiod(obj({ 'istio.io/rev': 'rev-t1' }), namespace('tenant-1'), revCfg), undefined, 'the tenant\'s configured revision');
  t.ok(ignoredByIstiod(obj({ 'istio.io/rev': 'rev-t2' }), namespace('tenant-1'), revCfg), 'another tenant\'s revision');
});

t.test('class 5: relabelling the only ALLOW for another revision is its delete', async (t) => {
  const s = referenceState('kind');
  const relabelled = ownAllow(s);
  relabelled.metadata.labels = { 'istio.io/rev': 'canary' };
  const d = review(s, relabelled, { operation: 'UPDATE', user: ALICE });
  t.notOk(d.allowed);
  t.ok(ruleIds(d).includes('TG-AUTHZ-LAST-ALLOW'), JSON.stringify(d.violations));
  t.match(d.violations.find((v) => v.rule === 'TG-AUTHZ-LAST-ALLOW')?.path, 'metadata.labels["istio.io/rev"]');
  t.match(d.violations.map((v) => v.message).join('\n'), /canary names a control plane/);

  // Neighbour: the serving revision's label changes nothing.
  const same = ownAllow(s);
  same.metadata.labels = { 'istio.io/rev': 'default' };
  t.ok(review(s, same, { operation: 'UPDATE', user: ALICE }).allowed, 'labelled for the default revision that serves the namespace');
  // Neighbour: a new, extra policy for another revision opens and closes nothing.
  const extra = ap('tenant-1', 'for-canary', { rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }] }] });
  extra.metadata.labels = { 'istio.io/rev': 'canary' };
  const d2 = review(s, extra, { operation: 'CREATE', user: ALICE });
  t.ok(d2.allowed, JSON.stringify(d2.violations));
  t.match(d2.warnings.join('\n'), /judges this write as a no-op/);
});

t.test('class 6: deleting the last ALLOW of a terminating namespace is admitted', async (t) => {
  for (const how of ['deletionTimestamp', 'phase'] as const) {
    const s = referenceState('kind');
    const ns = namespace('tenant-1', { 'istio-injection': 'enabled' });
    if (how === 'deletionTimestamp') ns.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    else ns.status = { phase: 'Terminating' };
    s.upsert(ns);
    const d = review(s, ownAllow(s), { operation: 'DELETE', user: { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] } });
    t.ok(d.allowed, `${how}: ${JSON.stringify(d.violations)}`);
  }
  const live = referenceState('kind');
  const d = review(live, ownAllow(live), { operation: 'DELETE', user: ALICE });
  t.ok(ruleIds(d).includes('TG-AUTHZ-LAST-ALLOW'), 'a live namespace still keeps its last ALLOW');
});

t.test('class 7: drain exceptions against the node network', async (t) => {
  const noFrom = ap('tenant-1', 'allow-wait-for-drain', { rules: [{ to: [{ operation: { ports: ['8022'], paths: ['/wait-for-drain'] } }] }] });
  const unset = review(referenceState('openshift'), noFrom, { user: ALICE });
  t.ok(unset.allowed, 'without nodeCIDRs the reference rule is admitted');
  t.match(unset.warnings.join('\n'), /TG-AUTHZ-DRAIN-OPEN: .*residual risk/);

  const cfg = config({ clusterNetwork: { serviceCIDRs: [], podCIDRs: [], nodeCIDRs: ['192.168.10.0/24'] } });
  const s = referenceState('openshift');
  const d = review(s, noFrom, { user: ALICE, cfg });
  t.notOk(d.allowed);
  t.same(ruleIds(d), ['TG-AUTHZ-DRAIN-SOURCE']);
  t.match(d.violations[0]!.message, /ipBlocks: \["192\.168\.10\.0\/24"\]/);

  const withBlocks = (blocks: string[], field = 'ipBlocks') =>
    ap('tenant-1', 'allow-wait-for-drain', { rules: [{ from: [{ source: { [field]: blocks } }], to: [{ operation: { ports: ['8022'], paths: ['/wait-for-drain'] } }] }] });
  const outside = review(s, withBlocks(['10.0.0.0/8']), { user: ALICE, cfg });
  t.same(ruleIds(outside), ['TG-AUTHZ-DRAIN-SOURCE'], 'ipBlocks wider than the node network');
  t.same(ruleIds(review(s, withBlocks(['192.168.10.0/24'], 'remoteIpBlocks'), { user: ALICE, cfg })), ['TG-AUTHZ-DRAIN-SOURCE'], 'remoteIpBlocks come from a header the caller writes');
  const inside = review(s, withBlocks(['192.168.10.0/24']), { user: ALICE, cfg });
  t.ok(inside.allowed, JSON.stringify(inside.violations));
  t.notMatch(inside.warnings.join('\n'), /TG-AUTHZ-DRAIN/);
  const narrower = review(s, withBlocks(['192.168.10.7']), { user: ALICE, cfg });
  t.ok(narrower.allowed, 'one node address');
  // An ordinary rule (mesh identity) on the drain port is not the exception.
  const identified = ap('tenant-1', 'own-drain', { rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], to: [{ operation: { ports: ['8022'] } }] }] });
  t.ok(review(s, identified, { user: ALICE, cfg }).allowed);
});
