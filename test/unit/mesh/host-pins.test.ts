// Activator rules pinned by Host (the seed reference's
// `hosts: ["*.tenant-1.svc.cluster.local"]`): on a route where the Host
// routes, only rules whose Hosts can route to the target decide; and the
// search judges a tenant's own write on a cluster with one such rule per
// tenant instead of giving up (issue 17, "No search cliff": it failed closed
// with "reachability search exceeded 200000 steps" from 300 tenants).
import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { evaluate } from '../../../src/engine/index.js';
import type { KubeObject } from '../../../src/engine/types.js';
import { parsePolicy } from '../../../src/mesh/policy.js';
import { hostPatternNamespaces, hostPinsOf, indexByRoutingPin, rulesHostRoutableTo } from '../../../src/mesh/routing-pins.js';
import { decisions } from '../../bench/scale/decisions.js';
import { allObjects, generateScaleState } from '../../bench/scale/state.js';

t.test('the namespaces a hosts value can route to', async (t) => {
  t.same(hostPatternNamespaces('*.tenant-1.svc.cluster.local'), ['tenant-1', 'svc', 'cluster', 'local']);
  t.same(hostPatternNamespaces('hello.tenant-1.svc.cluster.local:80'), ['hello', 'tenant-1', 'svc', 'cluster', 'local']);
  t.same(hostPatternNamespaces('*.Tenant-1'), ['tenant-1'], 'hosts match case-insensitively');
  for (const any of ['*', '*.svc.cluster.local', '*.svc', '*.cluster.local', 'hello.ten*', '*-1.svc.cluster.local', '*1.svc.cluster.local']) {
    t.equal(hostPatternNamespaces(any), undefined, `${any} may route to any namespace`);
  }
});

const ap = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace: 'knative-serving' },
  spec: { selector: { matchLabels: { app: 'activator' } }, action: 'ALLOW', ...spec },
});

t.test('rules pinned by Host are indexed by namespace; a rule with any unpinned operation is not', async (t) => {
  const one = parsePolicy(ap('t1', { rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], to: [{ operation: { hosts: ['*.tenant-1.svc.cluster.local'] } }] }] }));
  const open = parsePolicy(ap('open', { rules: [{ to: [{ operation: { hosts: ['*.tenant-2.svc.cluster.local'] } }, { operation: { ports: ['8012'] } }] }] }));
  const mixed = parsePolicy(
    ap('mixed', {
      rules: [{ to: [{ operation: { hosts: ['*.tenant-3.svc.cluster.local'] } }] }, { to: [{ operation: { hosts: ['*.tenant-4.svc.cluster.local'] } }] }, { from: [{ source: { namespaces: ['x'] } }] }],
    }),
  );
  t.same([...hostPinsOf(one.rules[0]!)!].sort(), ['cluster', 'local', 'svc', 'tenant-1']);
  t.equal(hostPinsOf(open.rules[0]!), undefined, 'an operation without hosts matches every Host');
  const index = indexByRoutingPin([one, open, mixed]);
  t.same(index.generalByHostPin.get('tenant-1')?.map((p) => p.name), ['t1']);
  t.same(index.generalNotHostPinned.map((p) => p.name).sort(), ['mixed', 'open']);
  t.ok(index.pinnedSelectors.some((p) => p.name === 't1'), 'a Host-pinned ALLOW still counts as present (it denies what it does not admit)');
  t.same(rulesHostRoutableTo(mixed, 'tenant-3').rules.length, 2, 'the tenant-4 rule cannot match a Host of tenant-3');
  t.equal(rulesHostRoutableTo(one, 'tenant-2').rules.length, 0);
});

t.test('seed-shaped activator policies at 300 tenants: a tenant admin writing its own ALLOW is judged, not failed closed', async (t) => {
  const s = generateScaleState(300, 'seed');
  const state = new MemoryStore();
  for (const o of allObjects(s)) state.upsert(o as KubeObject);
  const config = parseTenancyConfig(s.config, 'scale state');
  for (const d of decisions(300).filter((x) => x.key.startsWith('ap-'))) {
    const r = (JSON.parse(d.body) as { request: Record<string, unknown> }).request;
    const decision = evaluate(
      { operation: r.operation, kind: r.kind, namespace: r.namespace, name: r.name, object: r.object, oldObject: r.oldObject, userInfo: r.userInfo, dryRun: false } as Parameters<typeof evaluate>[0],
      state,
      config,
    );
    const rules = decision.violations.map((v) => `${v.rule}: ${v.message}`);
    t.notOk(rules.some((m) => m.startsWith('TG-ENGINE-ERROR')), `${d.name}: no engine error (${rules.join('; ')})`);
    t.equal(decision.allowed ? 'allowed' : 'denied', d.expect, d.name);
    if (d.expect === 'denied') t.ok(rules.some((m) => m.startsWith('TG-AUTHZ-OPENS-PATH')), 'refused for the path it opens');
  }
});
