import t, { type Test } from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { ruleCatalog } from '../../../src/engine/index.js';
import type { Decision, KubeObject } from '../../../src/engine/types.js';
import { apply, review, ruleIds } from '../mesh/admit.js';
import { ALICE, ap, config, namespace, referencePolicies, referenceState, seedReferenceState, unfencedReferenceState, VARIANTS, type Variant } from '../mesh/reference-state.js';

function rejected(t: Test, d: Decision, rule: string, message: RegExp) {
  t.notOk(d.allowed, `rejected by ${rule}`);
  const v = d.violations.find((x) => x.rule === rule);
  t.ok(v, `violations: ${JSON.stringify(d.violations)}`);
  if (v) t.match(v.message, message);
}

const from = (source: object) => ({ rules: [{ from: [{ source }] }] });

for (const variant of Object.keys(VARIANTS) as Variant[]) {
  for (const order of ['file order', 'reverse order'] as const) {
    t.test(`reference ${variant} is admitted object by object (${order})`, async (t) => {
      const s = new MemoryStore();
      for (const ns of ['tenant-1', 'tenant-2', 'knative-serving', 'istio-system']) s.upsert(namespace(ns));
      const docs = referencePolicies(variant);
      const pas = docs.filter((d) => d.kind === 'PeerAuthentication');
      for (const p of pas) s.upsert(p);
      // The gateway's policy first in either order: every caller reaches the gateway with its own identity,
      // so a policy admitting istio-system opens what an open gateway forwards (issue 17).
      const isGateway = (d: KubeObject) => d.metadata.namespace === 'istio-system';
      const aps = docs.filter((d) => d.kind === 'AuthorizationPolicy' && !isGateway(d));
      for (const p of [...docs.filter((d) => d.kind === 'AuthorizationPolicy' && isGateway(d)), ...(order === 'file order' ? aps : [...aps].reverse())]) {
        const d = apply(s, p);
        t.ok(d.allowed, `${p.metadata.namespace}/${p.metadata.name}: ${JSON.stringify(d.violations)}`);
      }
    });
  }
}

t.test('openshift allow-wait-for-drain: admitted with the drain warning', async (t) => {
  const s = referenceState('openshift');
  const drain = s.get('security.istio.io/AuthorizationPolicy', 'tenant-1', 'allow-wait-for-drain')!;
  const d = review(s, drain);
  t.ok(d.allowed);
  t.match(d.warnings.join('\n'), /TG-AUTHZ-DRAIN-PATH/);
  const limited = ap('tenant-1', 'allow-wait-for-drain', { rules: [{ to: [{ operation: { ports: ['8022'], paths: ['/wait-for-drain'] } }] }] });
  const d2 = review(s, limited);
  t.ok(d2.allowed);
  t.notMatch(d2.warnings.join('\n'), /TG-AUTHZ-DRAIN-PATH/);
});

t.test('per-tenant activator rules: refused by Host alone (the activator routes by header), admitted with the header pinned', async (t) => {
  // Without the fences: what the rule alone opens (behind tenant-2's fence it is refused all the same, see below).
  const s = unfencedReferenceState('kind');
  const act = seedReferenceState('kind').get('security.istio.io/AuthorizationPolicy', 'knative-serving', 'allow-tenant-1-to-activator')!;
  const d = review(s, act);
  t.notOk(d.allowed);
  t.ok(d.violations.every((v) => v.rule === 'TG-AUTHZ-OPENS-PATH'), d.violations.map((v) => v.rule).join());
  const msg = d.violations.map((v) => v.message).join('\n');
  t.match(msg, /tenant-1 -> .* via activator/);
  t.match(msg, /header knative-serving-namespace: /);
  t.match(msg, /add when: \[\{key: "request\.headers\[knative-serving-namespace\]"/);
  const pinned: KubeObject = structuredClone(act);
  pinned.spec.rules[0].when = [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1'] }];
  const d2 = review(s, pinned);
  t.ok(d2.allowed, JSON.stringify(d2.violations));
  const fenced = review(referenceState('kind'), act);
  t.notOk(fenced.allowed, 'behind the fences the Host-only rule is refused too');
  t.match(fenced.violations.map((v) => v.message).join('\n'), /tenant-1 -> .* via activator/);
  t.ok(review(referenceState('kind'), pinned).allowed, 'and the pinned one admitted');
});

t.test('threats: rejected, with the cell and the rule named', async (t) => {
  const cases: Array<[string, KubeObject, string, RegExp]> = [
    ['another tenant namespace', ap('tenant-1', 'x', from({ namespaces: ['tenant-1', 'tenant-2'] })), 'TG-AUTHZ-OPENS-PATH', /tenant-2 -> tenant-1 via direct: rules\[0\]\.from\[0\]\.source\.namespaces\[1\] = "tenant-2"/],
    ['another tenant principal', ap('tenant-1', 'x', from({ principals: ['cluster.local/ns/tenant-2/sa/default'] })), 'TG-AUTHZ-OPENS-PATH', /tenant-2 -> tenant-1 via .*principals\[0\]/],
    ['another tenant service account', ap('tenant-1', 'x', from({ serviceAccounts: ['tenant-2/robot'] })), 'TG-AUTHZ-OPENS-PATH', /serviceAccounts\[0\] = "tenant-2\/robot"/],
    ['namespace wildcard', ap('tenant-1', 'x', from({ namespaces: ['tenant-*'] })), 'TG-AUTHZ-OPENS-PATH', /namespaces\[0\] = "tenant-\*"/],
    ['principal wildcard', ap('tenant-1', 'x', from({ principals: ['*'] })), 'TG-AUTHZ-OPENS-PATH', /principals\[0\] = "\*"/],
    ['notNamespaces', ap('tenant-1', 'x', from({ notNamespaces: ['tenant-3'] })), 'TG-AUTHZ-OPENS-PATH', /notNamespaces/],
    ['no from', ap('tenant-1', 'x', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }), 'TG-AUTHZ-OPENS-PATH', /has no from/],
    ['to-only on a serving port', ap('tenant-1', 'x', { rules: [{ to: [{ operation: { ports: ['8012'] } }] }] }), 'TG-AUTHZ-OPENS-PATH', /ports\[0\] = "8012"/],
    ['ipBlocks', ap('tenant-1', 'x', from({ ipBlocks: ['10.0.0.0/8'] })), 'TG-AUTHZ-OPENS-PATH', /ipBlocks\[0\]/],
    ['remoteIpBlocks', ap('tenant-1', 'x', from({ remoteIpBlocks: ['0.0.0.0/0'] })), 'TG-AUTHZ-OPENS-PATH', /remoteIpBlocks\[0\]/],
    ['requestPrincipals', ap('tenant-1', 'x', from({ requestPrincipals: ['https://issuer/*'] })), 'TG-AUTHZ-OPENS-PATH', /requestPrincipals\[0\]/],
    ['header-only identity', ap('tenant-1', 'x', { rules: [{ when: [{ key: 'request.headers[x-caller]', values: ['tenant-1'] }] }] }), 'TG-AUTHZ-OPENS-PATH', /when\[0\] request\.headers\[x-caller\] = "tenant-1"/],
    ['when source.namespace', ap('tenant-1', 'x', { rules: [{ when: [{ key: 'source.namespace', values: ['tenant-2'] }] }] }), 'TG-AUTHZ-OPENS-PATH', /when\[0\] source\.namespace = "tenant-2"/],
    ['activator: other tenant hosts', ap('knative-serving', 'x', { selector: { matchLabels: { app: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['*.tenant-1.svc.cluster.local'] } }] }] }), 'TG-AUTHZ-OPENS-PATH', /tenant-2 -> tenant-1 via activator: .*hosts\[0\] = "\*\.tenant-1\.svc\.cluster\.local"/],
    ['mesh root namespace', ap('istio-system', 'x', from({ namespaces: ['tenant-2'] })), 'TG-AUTHZ-OPENS-PATH', /tenant-2 -> tenant-1 via direct/],
  ];
  for (const [name, obj, rule, msg] of cases) {
    t.test(name, async (t) => rejected(t, review(referenceState('kind'), obj), rule, msg));
  }
});

t.test('a tenant admin is refused the same way', async (t) => {
  const d = review(referenceState('kind'), ap('tenant-1', 'x', from({ namespaces: ['tenant-2'] })), { user: ALICE });
  rejected(t, d, 'TG-AUTHZ-OPENS-PATH', /(tenant-2|any caller.*) -> tenant-1/);
});

t.test('UPDATE widening the tenant policy', async (t) => {
  const s = referenceState('kind');
  const p = structuredClone(s.get('security.istio.io/AuthorizationPolicy', 'tenant-1', 'allow-traffic-to-tenant-1')!);
  p.spec.rules[0].from[0].source.namespaces.push('tenant-2');
  rejected(t, review(s, p), 'TG-AUTHZ-OPENS-PATH', /namespaces\[3\] = "tenant-2"/);
});

t.test('DELETE or dry-run of the last ALLOW policy', async (t) => {
  const s = referenceState('kind');
  const p = s.get('security.istio.io/AuthorizationPolicy', 'tenant-1', 'allow-traffic-to-tenant-1')!;
  rejected(t, review(s, p, { operation: 'DELETE' }), 'TG-AUTHZ-LAST-ALLOW', /(tenant-2|any caller.*) -> tenant-1 via direct: .*no enforced ALLOW policy/);
  const dry = structuredClone(p);
  dry.metadata.annotations = { 'istio.io/dry-run': 'true' };
  rejected(t, review(s, dry), 'TG-AUTHZ-LAST-ALLOW', /(tenant-2|any caller.*) -> tenant-1/);
  const audit = structuredClone(p);
  audit.spec.action = 'AUDIT';
  rejected(t, review(s, audit), 'TG-AUTHZ-LAST-ALLOW', /(tenant-2|any caller.*) -> tenant-1/);
  // Deleting one of two ALLOW policies is fine.
  s.upsert(ap('tenant-1', 'second', from({ namespaces: ['tenant-1'] })));
  t.ok(review(s, p, { operation: 'DELETE' }).allowed);
  // Deleting the activator's per-tenant rule only closes a path.
  const act = s.get('security.istio.io/AuthorizationPolicy', 'knative-serving', 'allow-tenant-1-to-activator')!;
  t.ok(review(s, act, { operation: 'DELETE' }).allowed);
  // Deleting every activator ALLOW opens the activator to all, and the
  // activator's identity is trusted by every tenant.
  s.remove(s.get('security.istio.io/AuthorizationPolicy', 'knative-serving', 'allow-traffic-to-activator')!);
  s.remove(s.get('security.istio.io/AuthorizationPolicy', 'knative-serving', 'allow-tenant-2-to-activator')!);
  // (The hardened reference's fences deny tenant-1 as the header's only value; a repeated header gets past them under
  // Envoy's joined matching.)
  rejected(t, review(s, act, { operation: 'DELETE' }), 'TG-AUTHZ-LAST-ALLOW', /(tenant-2|any caller.*|\(another tenant\)) -> tenant-1 via activator: .*activator is left with no enforced ALLOW/);
});

t.test('deleting a DENY that held a cell closed', async (t) => {
  const s = referenceState('kind', [
    ap('tenant-1', 'broad', { rules: [{}] }),
    ap('tenant-1', 'deny-others', { action: 'DENY', rules: [{ from: [{ source: { notNamespaces: ['tenant-1', 'knative-serving', 'istio-system'] } }] }] }),
  ]);
  const d = review(s, s.get('security.istio.io/AuthorizationPolicy', 'tenant-1', 'deny-others')!, { operation: 'DELETE' });
  rejected(t, d, 'TG-AUTHZ-OPENS-PATH', /(tenant-2|any caller.*) -> tenant-1 via direct: the change lifts the policy that denied/);
});

t.test('foreign source even where the cell is already open', async (t) => {
  // tenant-1 has no ALLOW policy: every cell into it is already open.
  const s = referenceState('kind');
  s.remove(s.get('security.istio.io/AuthorizationPolicy', 'tenant-1', 'allow-traffic-to-tenant-1')!);
  const d = review(s, ap('tenant-1', 'x', from({ namespaces: ['tenant-1', 'tenant-2'] })));
  rejected(t, d, 'TG-AUTHZ-FOREIGN-SOURCE', /tenant-2 -> tenant-1 via direct calls: rules\[0\]\.from\[0\]\.source\.namespaces\[1\] = "tenant-2"/);
  t.notOk(ruleIds(d).includes('TG-AUTHZ-OPENS-PATH'), 'the cell was already open');
  const own = review(s, ap('tenant-1', 'own', from({ namespaces: ['tenant-1', 'knative-serving', 'istio-system'] })));
  t.ok(own.allowed, 'own namespace plus the platform is fine');
});

t.test('legitimate variants stay admitted', async (t) => {
  const ok: Array<[string, KubeObject]> = [
    ['own namespace and platform', ap('tenant-1', 'a', from({ namespaces: ['tenant-1', 'knative-serving', 'istio-system'] }))],
    ['own principals', ap('tenant-1', 'a', from({ principals: ['cluster.local/ns/tenant-1/sa/default', 'cluster.local/ns/knative-serving/sa/controller'] }))],
    ['own service account, selector', ap('tenant-1', 'a', { selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { serviceAccounts: ['tenant-1/frontend'] } }] }] })],
    ['DENY naming another tenant', ap('tenant-1', 'd', { action: 'DENY', ...from({ namespaces: ['tenant-2'] }) })],
    ['DENY everything', ap('tenant-1', 'd', { action: 'DENY', rules: [{}] })],
    ['spec: {}', ap('tenant-1', 'deny-all', {})],
    ['own namespace with a tenant-2 header condition', ap('tenant-1', 'a', { rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], when: [{ key: 'request.headers[x-from]', values: ['tenant-2'] }] }] })],
    ['AUDIT of anything', ap('tenant-1', 'audit', { action: 'AUDIT', rules: [{}] })],
    ['CUSTOM', ap('tenant-1', 'ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] })],
    ['dry-run policy naming tenant-2', ap('tenant-1', 'try', from({ namespaces: ['tenant-2'] }), { 'istio.io/dry-run': 'true' })],
    ['activator rule for tenant-2 with its own hosts', ap('knative-serving', 'a2', { selector: { matchLabels: { app: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['*.tenant-2.svc.cluster.local', '*.tenant-2.svc', '*.tenant-2'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-2'] }] }] })],
    ['root namespace: platform only', ap('istio-system', 'r', from({ namespaces: ['knative-serving', 'istio-system'] }))],
    ['system namespace policy (autoscaler)', ap('knative-serving', 'as', { selector: { matchLabels: { app: 'autoscaler' } }, ...from({ namespaces: ['knative-serving'] }) })],
  ];
  for (const [name, obj] of ok) {
    const d = review(referenceState('kind'), obj);
    t.ok(d.allowed, `${name}: ${JSON.stringify(d.violations)}`);
  }
});

t.test('peerings declared in the config are allowed', async (t) => {
  const cfg = config({ peerings: [{ from: 'tenant-2', to: 'tenant-1' }] });
  const d = review(referenceState('kind'), ap('tenant-1', 'peer', from({ namespaces: ['tenant-2'] })), { cfg });
  t.ok(d.allowed, JSON.stringify(d.violations));
  const other = review(referenceState('kind'), ap('tenant-2', 'peer', from({ namespaces: ['tenant-1'] })), { cfg });
  t.notOk(other.allowed, 'a peering has a direction');
});

t.test('malformed policies are denied with the field', async (t) => {
  const d = review(referenceState('kind'), ap('tenant-1', 'bad', { action: 'ALLOW', rules: [{ from: { source: {} } }] }));
  rejected(t, d, 'TG-AUTHZ-MALFORMED', /spec\.rules\[0\]\.from: must be a list/);
  const d2 = review(referenceState('kind'), ap('tenant-1', 'bad', { rules: [{ when: [{ values: ['x'] }] }] }));
  rejected(t, d2, 'TG-AUTHZ-MALFORMED', /when\[0\]\.key/);
});

t.test('v1beta1 is routed the same', async (t) => {
  const obj = { ...ap('tenant-1', 'x', from({ namespaces: ['tenant-2'] })), apiVersion: 'security.istio.io/v1beta1' };
  t.notOk(review(referenceState('kind'), obj).allowed);
});

t.test('rule docs', async (t) => {
  const ids = ruleCatalog.filter((r) => r.id.startsWith('TG-AUTHZ-')).map((r) => r.id);
  t.same(ids.sort(), ['TG-AUTHZ-DRAIN-OPEN', 'TG-AUTHZ-DRAIN-PATH', 'TG-AUTHZ-DRAIN-SOURCE', 'TG-AUTHZ-FOREIGN-SOURCE', 'TG-AUTHZ-LAST-ALLOW', 'TG-AUTHZ-MALFORMED', 'TG-AUTHZ-OPENS-PATH']);
});
