// The activator's policies indexed by the namespaces their rules pin
// `knative-serving-namespace` to: ALLOW policies whole, DENY policies rule by
// rule (a DENY denies if any of its rules matches, so a rule decides alone).
import t from 'tap';
import type { KubeObject } from '../../../src/engine/types.js';
import { parsePolicy } from '../../../src/mesh/policy.js';
import { indexByRoutingPin, rulesRoutableTo } from '../../../src/mesh/routing-pins.js';

const HEADER = 'request.headers[knative-serving-namespace]';
const ap = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace: 'knative-serving' },
  spec: { selector: { matchLabels: { app: 'activator' } }, ...spec },
});
const names = (ps: { name: string; rules: unknown[] }[]) => ps.map((p) => `${p.name}:${p.rules.length}`).sort();

t.test('DENY rules are indexed one by one: exact pins by namespace, patterns apart, the rest general', async (t) => {
  const fence = parsePolicy(ap('fence-a', { action: 'DENY', rules: [{ from: [{ source: { notNamespaces: ['a'] } }], when: [{ key: HEADER, values: ['a', 'a-2'] }] }] }));
  const mixed = parsePolicy(
    ap('mixed', {
      action: 'DENY',
      rules: [
        { when: [{ key: HEADER, values: ['b'] }] },
        { when: [{ key: HEADER, values: ['c-*'] }] },
        { from: [{ source: { namespaces: ['x'] } }], when: [{ key: HEADER, notValues: ['x'] }] },
        { to: [{ operation: { ports: ['9090'] } }] },
      ],
    }),
  );
  const allow = parsePolicy(ap('allow-a', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['a'] } }], when: [{ key: HEADER, values: ['a'] }] }] }));
  const index = indexByRoutingPin([fence, mixed, allow]);
  t.same(names(index.denyByPin.get('a') ?? []), ['fence-a:1']);
  t.same(names(index.denyByPin.get('a-2') ?? []), ['fence-a:1']);
  t.same(names(index.denyByPin.get('b') ?? []), ['mixed:1']);
  t.same(names(index.denyWildcardPinned), ['mixed:1']);
  t.same(names(index.general), ['mixed:2'], 'the notValues rule and the unpinned one stay general, in their policy');
  t.same(names(index.byPin.get('a') ?? []), ['allow-a:1'], 'ALLOW policies are indexed whole, as before');
  t.equal(index.denyByPin.get('z'), undefined, 'a namespace no rule names gets no DENY rule from the index');
  t.same(rulesRoutableTo(index.denyWildcardPinned[0]!, 'c-1').rules.length, 1, 'a pattern pin routable to a matching namespace');
  t.same(rulesRoutableTo(index.denyWildcardPinned[0]!, 'd').rules.length, 1, 'and to any other: "c-x,d" is a repeated header routed to d');
  const exact = parsePolicy(ap('exact', { action: 'ALLOW', rules: [{ when: [{ key: HEADER, values: ['a'] }] }] }));
  t.same(rulesRoutableTo(exact, 'b').rules.length, 0, 'an exact pin is routable to itself only');
  const joined = parsePolicy(ap('joined', { action: 'ALLOW', rules: [{ when: [{ key: HEADER, values: ['a,b'] }] }] }));
  t.same([rulesRoutableTo(joined, 'b').rules.length, rulesRoutableTo(joined, 'a').rules.length, rulesRoutableTo(joined, 'c').rules.length], [1, 1, 0], 'a value with a comma: routable to its last and first parts');
  t.same(names(indexByRoutingPin([joined]).wildcardPinned), ['joined:1'], 'and indexed with the patterns');
  const whole = parsePolicy(ap('unpinned', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['9090'] } }] }] }));
  t.equal(indexByRoutingPin([whole]).general[0], whole, 'a DENY without pinned rules is kept as it is');
});
