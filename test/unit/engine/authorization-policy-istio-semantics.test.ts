// Regressions for places where the model disagreed with how istiod compiles
// AuthorizationPolicy, each driven through evaluate() as the webhook does.
// Each case is a policy Istio would enforce as opening a cross-tenant path.
import t, { type Test } from 'tap';
import type { Decision, KubeObject } from '../../../src/engine/types.js';
import { computeMatrix } from '../../../src/mesh/matrix.js';
import { MeshState } from '../../../src/mesh/mesh-state.js';
import { apply, review, ruleIds } from '../mesh/admit.js';
import { ALICE, ap, config, pa, referenceState } from '../mesh/reference-state.js';

const from = (source: object) => ({ rules: [{ from: [{ source }] }] });
const AP = 'security.istio.io/AuthorizationPolicy';

function denied(t: Test, d: Decision, rule: string, message?: RegExp) {
  t.notOk(d.allowed, `denied by ${rule}`);
  const v = d.violations.find((x) => x.rule === rule);
  t.ok(v, `violations: ${JSON.stringify(d.violations)}`);
  if (v && message) t.match(v.message, message);
}

function crossOpen(s: ReturnType<typeof referenceState>, path = 'direct') {
  return computeMatrix(s, config()).cells.find((c) => c.from === 'tenant-2' && c.to === 'tenant-1' && c.path === path)!;
}

t.test('namespaces are unescaped regexes in Istio: regex characters are refused', async (t) => {
  for (const [name, obj] of [
    ['dot', ap('tenant-1', 'x', from({ namespaces: ['tenant-1', 'tenant-.'] }))],
    ['group', ap('tenant-1', 'x', from({ namespaces: ['(tenant-1|tenant-2)'] }))],
    ['when source.namespace', ap('tenant-1', 'x', { rules: [{ when: [{ key: 'source.namespace', values: ['tenant-[12]'] }] }] })],
    ['principal suffix form', ap('tenant-1', 'x', from({ principals: ['*/ns/tenant-./sa/default'] }))],
    ['service account', ap('tenant-1', 'x', from({ serviceAccounts: ['tenant-./default'] }))],
  ] as Array<[string, KubeObject]>) {
    t.test(name, async (t) => denied(t, review(referenceState('kind'), obj, { user: ALICE }), 'TG-AUTHZ-MALFORMED', /regular expression/));
  }
});

t.test('principals get the trust domain substituted (c* -> cluster.local)', async (t) => {
  const obj = ap('tenant-1', 'x', from({ principals: ['c*/ns/tenant-2/sa/default'] }));
  denied(t, review(referenceState('kind'), obj), 'TG-AUTHZ-OPENS-PATH', /tenant-2 -> tenant-1 via direct: .*principals\[0\] = "c\*\/ns\/tenant-2\/sa\/default"/);
  const td = config({ trustDomain: 'corp.example' });
  const cl = ap('tenant-1', 'x', from({ principals: ['cluster.local/ns/tenant-2/sa/default'] }));
  t.notOk(review(referenceState('kind'), cl, { cfg: td }).allowed, 'cluster.local names the mesh trust domain, whatever it is');
  const own = ap('tenant-1', 'x', from({ principals: ['cluster.local/ns/tenant-1/sa/default'] }));
  t.ok(review(referenceState('kind'), own, { cfg: td }).allowed);
});

t.test('an empty list does not restrict a source, operation or condition', async (t) => {
  const emptyNs = ap('tenant-1', 'x', from({ namespaces: [], principals: ['cluster.local/ns/tenant-2/sa/default'] }));
  denied(t, review(referenceState('kind'), emptyNs), 'TG-AUTHZ-OPENS-PATH', /principals\[0\]/);
  const emptyWhen = ap('tenant-1', 'x', { rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], when: [{ key: 'request.headers[x-a]', values: [], notValues: ['b'] }] }] });
  denied(t, review(referenceState('kind'), emptyWhen), 'TG-AUTHZ-OPENS-PATH');
  const emptyHosts = ap('knative-serving', 'x', { selector: { matchLabels: { app: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: [], methods: ['GET'] } }] }] });
  denied(t, review(referenceState('kind'), emptyHosts), 'TG-AUTHZ-OPENS-PATH', /via activator/);
});

t.test('istio.io/dry-run values Go ParseBool reads as true remove the last ALLOW', async (t) => {
  for (const v of ['1', 't', 'TRUE']) {
    const s = referenceState('kind');
    const p = structuredClone(s.get(AP, 'tenant-1', 'allow-traffic-to-tenant-1')!);
    p.metadata.annotations = { 'istio.io/dry-run': v };
    denied(t, review(s, p), 'TG-AUTHZ-LAST-ALLOW', /(tenant-2|any caller.*) -> tenant-1/);
  }
  const s = referenceState('kind');
  const p = structuredClone(s.get(AP, 'tenant-1', 'allow-traffic-to-tenant-1')!);
  p.metadata.annotations = { 'istio.io/dry-run': 'tRuE' };
  // Not a ParseBool value: istiod keeps enforcing such a policy already in the
  // cluster (isDryRunValue), but its validation refuses it as a new write.
  denied(t, review(s, p), 'TG-AUTHZ-MALFORMED', /strconv\.ParseBool/);
});

t.test('a Gateway targetRef binds any tenant pod carrying the gateway-name label', async (t) => {
  const obj = ap('tenant-1', 'gw', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }], rules: [{}] });
  const d = review(referenceState('kind'), obj, { user: ALICE });
  t.notOk(d.allowed);
  t.ok(ruleIds(d).some((r) => r === 'TG-AUTHZ-FOREIGN-SOURCE' || r === 'TG-AUTHZ-OPENS-PATH'), JSON.stringify(d.violations));
  t.match(d.violations.map((v) => v.message).join('\n'), /gateway-name/);
  const waypoint = ap('tenant-1', 'wp', { targetRefs: [{ kind: 'Service', group: '', name: 'svc' }], rules: [{}] });
  t.ok(review(referenceState('kind'), waypoint).allowed, 'Service targets bind waypoints only');
});

t.test('pods a workload PeerAuthentication makes PERMISSIVE accept plaintext callers', async (t) => {
  const perm = pa('tenant-1', 'perm', { selector: { matchLabels: { tier: 'legacy' } }, mtls: { mode: 'PERMISSIVE' } });
  const notOwn = ap('tenant-1', 'x', from({ notNamespaces: ['tenant-2'] }));
  denied(t, review(referenceState('kind', [perm]), notOwn), 'TG-AUTHZ-OPENS-PATH', /plaintext/);
  const c = crossOpen(referenceState('kind', [perm, notOwn]));
  t.ok(c.allowed, 'the matrix finds the pod labelled tier=legacy');
  t.match(c.reason, /"tier":"legacy"/);
  // The same with an ALLOW that selects other labels: the pod needs both.
  const sel = ap('tenant-1', 'x', { selector: { matchLabels: { app: 'api' } }, ...from({ notNamespaces: ['tenant-2'] }) });
  t.ok(crossOpen(referenceState('kind', [perm, sel])).allowed, 'labels app=api and tier=legacy together');
  t.notOk(review(referenceState('kind', [perm]), sel).allowed);
});

t.test('DENY on an exact host does not cover host:port', async (t) => {
  // tenant-1 lets everyone in; DENY A stops tenant-2 on the exact hello hosts,
  // DENY B on every host but those and their :80 forms. Istio matches
  // :authority literally, so "hello.tenant-1:80" escapes both (and routes).
  const hosts = ['hello.tenant-1.svc.cluster.local', 'hello.tenant-1.svc', 'hello.tenant-1'];
  const s = referenceState('kind', [
    ap('tenant-1', 'open', { rules: [{}] }),
    ap('tenant-1', 'deny-a', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts } }] }] }),
    ap('tenant-1', 'deny-b', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { notHosts: [...hosts, ...hosts.map((h) => `${h}:80`)] } }] }] }),
  ]);
  s.remove(s.get(AP, 'tenant-1', 'allow-traffic-to-tenant-1')!);
  const c = crossOpen(s);
  t.ok(c.allowed, c.reason);
  t.match(c.reason, /Host hello\.tenant-1[.a-z]*:80/);
});

t.test('a decoy knative-local-gateway outside knative-serving does not decide the gateway', async (t) => {
  const gw = (ns: string, tls: string | undefined): KubeObject => ({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'Gateway',
    metadata: { name: 'knative-local-gateway', namespace: ns },
    spec: { selector: { istio: 'ingressgateway' }, servers: [{ hosts: ['*'], port: { name: 'http', number: 8081, protocol: 'HTTP' }, ...(tls ? { tls: { mode: tls } } : {}) }] },
  });
  const s = referenceState('kind', [gw('knative-serving', undefined), gw('a-tenant', 'ISTIO_MUTUAL')]);
  const real = new MeshState(s, config()).gateway;
  t.ok(real.acceptsNoIdentity, 'the real gateway accepts plaintext');
  t.match(real.source, /^knative-serving\/knative-local-gateway: a server without ISTIO_MUTUAL/);
  // Without the hardened reference's gateway policies, plaintext callers (and any identity) get through it.
  for (const o of s.list(AP, 'istio-system')) s.remove(o);
  t.ok(crossOpen(s, 'gateway').allowed);
});

t.test('narrowing the only namespace-wide ALLOW to a selector opens the unselected pods', async (t) => {
  const s = referenceState('kind');
  const p = structuredClone(s.get(AP, 'tenant-1', 'allow-traffic-to-tenant-1')!);
  p.spec.selector = { matchLabels: { app: 'x' } };
  denied(t, review(s, p, { user: ALICE }), 'TG-AUTHZ-LAST-ALLOW', /pod in tenant-1 is left with no enforced ALLOW/);
  // Adding a selected ALLOW next to the namespace-wide one is fine.
  t.ok(apply(s, ap('tenant-1', 'api', { selector: { matchLabels: { app: 'x' } }, ...from({ namespaces: ['tenant-1'] }) })).allowed);
});

t.test('one admission on the reference state stays fast', async (t) => {
  const s = referenceState('kind');
  const obj = ap('tenant-1', 'x', from({ namespaces: ['tenant-1', 'knative-serving', 'istio-system'] }));
  review(s, obj); // warm up module loading
  const start = performance.now();
  for (let i = 0; i < 10; i++) review(s, obj);
  const each = (performance.now() - start) / 10;
  t.ok(each < 100, `${each.toFixed(1)} ms per admission`);
});
