// The activator's routing header sent several times, as Envoy matched it
// before its CVE-2026-26308 fix: the policies see the comma-joined values,
// the activator routes by the last value (or the first, in releases reading
// it with Header.Get) and by the Host when that value is empty
// (knative/serving pkg/activator/handler/context_handler.go). Behind
// tenant-1's fence (a DENY naming "tenant-1"), tenant-2 gets in wherever its
// own rules admit a joined string the fence does not name.
import t from 'tap';
import type { KubeObject } from '../../../src/engine/types.js';
import { MeshState } from '../../../src/mesh/mesh-state.js';
import { reachNamespace } from '../../../src/mesh/reach.js';
import { ap, config, namespace, referenceState } from './reference-state.js';

const H = 'request.headers[knative-serving-namespace]';
const sel = { matchLabels: { app: 'activator' } };
const allow = (name: string, rule: Record<string, unknown>) => ap('knative-serving', name, { selector: sel, action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], ...rule }] });
const deny = (name: string, rule: Record<string, unknown>) => ap('knative-serving', name, { selector: sel, action: 'DENY', rules: [rule] });

function reach(extra: KubeObject[]) {
  const m = new MeshState(referenceState('kind', extra), config());
  return reachNamespace(m, 'activator', { kind: 'foreign', tenant: 'tenant-1' }, 'tenant-1', false);
}

const cases: [string, KubeObject[], boolean, RegExp?][] = [
  ['an exact value holding a comma, the target last', [allow('a', { when: [{ key: H, values: ['tenant-2,tenant-1'] }] })], true, /sent as 2 values \("tenant-2", "tenant-1"\).*routes by the last one/],
  ['an exact value holding a comma, the target first', [allow('a', { when: [{ key: H, values: ['tenant-1,tenant-2'] }] })], true, /sent as 2 values \("tenant-1", "tenant-2"\).*routes by the first one/],
  ['a suffix reaching past the comma, a DENY on the leading part', [allow('a', { when: [{ key: H, values: ['*-2,tenant-1'] }] }), deny('d', { when: [{ key: H, values: ['tenant-1*'] }] })], true],
  ['a prefix pin of its own namespaces', [allow('a', { when: [{ key: H, values: ['tenant-2*'] }] })], true, /joined as "tenant-2.*,tenant-1"/],
  ['a prefix pin, a DENY on every value ending in the target: an empty last value routes by the Host', [allow('a', { to: [{ operation: { hosts: ['*.tenant-1.svc.cluster.local'] } }], when: [{ key: H, values: ['tenant-2*'] }] }), deny('d', { when: [{ key: H, values: ['*tenant-1'] }] })], true, /its last value is empty, so the activator routes by the Host/],
  ['presence of the header only', [allow('a', { when: [{ key: H, values: ['*'] }] })], true],
  ['an exact pin of its own namespace', [allow('a', { when: [{ key: H, values: ['tenant-2'] }] })], false],
  ['an exact pin of its own namespace and notValues of the target', [allow('a', { when: [{ key: H, values: ['tenant-2'], notValues: ['tenant-1'] }] })], false],
];

for (const [what, extra, open, reason] of cases) {
  t.test(what, async (t) => {
    const r = reach(extra);
    t.equal(r.allowed, open, r.allowed ? r.reason : 'closed');
    if (reason) t.match(r.reason, reason);
  });
}

t.test('many DENY rules on the header that pin nothing stay cheap to search', async (t) => {
  // The earlier pin's shape, one per namespace (`notValues` keeps them out of the pin index), and a rule admitting them all.
  const extra: KubeObject[] = [];
  for (let i = 0; i < 300; i++) {
    extra.push(namespace(`n-${i}`, { 'istio-injection': 'enabled' }));
    extra.push(deny(`pin-${i}`, { from: [{ source: { namespaces: [`n-${i}`] } }], when: [{ key: H, notValues: [`n-${i}`] }] }));
  }
  extra.push(ap('knative-serving', 'allow-n', { selector: sel, action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['n-*'] } }] }] }));
  const r = reach(extra);
  t.ok(r.allowed, 'found without exhausting the search budget');
  t.match(r.reason, /n-qjx/);
});
