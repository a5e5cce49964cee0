import t from 'tap';
import { cidrContains, hostMatch, istioStringMatch, namespaceMatch, parsePrincipal, principalPatternFor, serviceAccountMatch } from '../../../src/mesh/istio-match.js';
import { freshToken, routedHostCandidates, stringCandidates } from '../../../src/mesh/candidates.js';
import { isDryRunValue, parsePolicy, policyApplies } from '../../../src/mesh/policy.js';
import { ap } from './reference-state.js';

const P2 = 'cluster.local/ns/tenant-2/sa/default';

t.test('string match: exact, prefix, suffix, presence', async (t) => {
  t.ok(istioStringMatch('abc', 'abc'));
  t.notOk(istioStringMatch('abc', 'abcd'));
  t.ok(istioStringMatch('ab*', 'abcd'));
  t.ok(istioStringMatch('*cd', 'abcd'));
  t.ok(istioStringMatch('*', 'x'));
  t.notOk(istioStringMatch('*', undefined), '* means present');
});

t.test('namespaces are regexes over the principal', async (t) => {
  t.ok(namespaceMatch('tenant-2', P2));
  t.notOk(namespaceMatch('tenant-1', P2));
  t.ok(namespaceMatch('tenant-*', P2));
  t.ok(namespaceMatch('*-2', P2));
  t.ok(namespaceMatch('*', P2));
  t.notOk(namespaceMatch('*', undefined), 'plaintext has no namespace');
  t.notOk(namespaceMatch('tenant-2', 'cluster.local/ns/tenant-20/sa/x'));
});

t.test('hosts: case-insensitive, the port is part of the value', async (t) => {
  t.ok(hostMatch('*.tenant-1.svc.cluster.local', 'A.TENANT-1.svc.cluster.local'));
  t.ok(hostMatch('HELLO.tenant-1', 'hello.TENANT-1'));
  t.notOk(hostMatch('hello.tenant-1', 'hello.tenant-1:80'), 'Istio matches :authority literally (no port stripping)');
  t.ok(hostMatch('hello.tenant-1:*', 'hello.tenant-1:80'));
  t.notOk(hostMatch('hello.tenant-1', 'hello.tenant-1.evil'));
  t.notOk(hostMatch('*.tenant-1.svc.cluster.local', 'a.tenant-1.svc.cluster.local:80'));
});

t.test('principals, service accounts, ip blocks', async (t) => {
  t.same(parsePrincipal('spiffe://cluster.local/ns/a/sa/b'), { trustDomain: 'cluster.local', namespace: 'a', serviceAccount: 'b' });
  t.ok(serviceAccountMatch('tenant-2/default', P2));
  t.notOk(serviceAccountMatch('tenant-2/other', P2));
  t.ok(cidrContains('10.0.0.0/8', '10.2.3.4'));
  t.notOk(cidrContains('10.0.0.0/8', '11.0.0.1'));
  t.ok(cidrContains('0.0.0.0/0', '198.51.100.23'));
  t.ok(cidrContains('2001:db8::/32', '2001:db8::17'));
  t.ok(cidrContains('192.168.1.1', '192.168.1.1'));
  t.notOk(cidrContains('not-an-ip', '1.2.3.4'));
});

t.test('witness candidates', async (t) => {
  const fresh = freshToken(['/admin*', '*.json']);
  t.notMatch(fresh, /[admin.json]/);
  const c = stringCandidates(['/admin*', '*.json'], [], fresh);
  t.ok(c.some((v) => v.startsWith('/admin') && v.endsWith('.json')), 'prefix and suffix at once');
  t.ok(c.some((v) => !v.startsWith('/admin') && !v.endsWith('.json')), 'neither');
  const hosts = routedHostCandidates('tenant-1', ['hello.tenant-1.svc.cluster.local'], 'qjx');
  t.ok(hosts.includes('hello.tenant-1.svc.cluster.local'));
  t.ok(hosts.includes('qjx.tenant-1:80'));
});

t.test('policy parsing and applicability', async (t) => {
  const p = parsePolicy(ap('tenant-1', 'x', { selector: { matchLabels: { app: 'a' } }, rules: [{ to: [{ operation: { ports: [8022] } }] }] }, { 'istio.io/dry-run': 'true' }));
  t.equal(p.action, 'ALLOW');
  t.ok(p.dryRun);
  t.same(p.rules[0]!.to![0]!.fields.ports, ['8022'], 'numeric ports read as strings');
  t.ok(policyApplies(p, { namespace: 'tenant-1', labels: { app: 'a', b: 'c' } }, 'istio-system'));
  t.notOk(policyApplies(p, { namespace: 'tenant-1', labels: {} }, 'istio-system'));
  t.notOk(policyApplies(p, { namespace: 'tenant-2', labels: { app: 'a' } }, 'istio-system'));
  const root = parsePolicy(ap('istio-system', 'r', {}));
  t.ok(policyApplies(root, { namespace: 'tenant-2', labels: {} }, 'istio-system'), 'root namespace is mesh-wide');
  t.equal(root.rules.length, 0);
  t.throws(() => parsePolicy(ap('tenant-1', 'x', { rules: [{ to: [{ operation: { ports: 'all' } }] }] })), { message: /spec\.rules\[0\]\.to\[0\]\.operation\.ports/ });
});

t.test('trust domain substitution in principals (trustdomain/bundle.go)', async (t) => {
  t.equal(principalPatternFor('cluster.local/ns/tenant-2/sa/default', 'example.org'), 'example.org/ns/tenant-2/sa/default', 'cluster.local means the local trust domain');
  t.equal(principalPatternFor('c*/ns/tenant-2/sa/default', 'cluster.local'), 'cluster.local/ns/tenant-2/sa/default', 'a trust-domain pattern is replaced by the trust domain');
  t.equal(principalPatternFor('*.local/ns/tenant-2/sa/default', 'cluster.local'), '*.local/ns/tenant-2/sa/default', 'a *suffix the trust domain ends with is kept');
  t.equal(principalPatternFor('other.org/ns/tenant-2/sa/default', 'cluster.local'), 'other.org/ns/tenant-2/sa/default', 'an unrelated trust domain is kept');
  t.equal(principalPatternFor('*/ns/tenant-2/sa/default', 'cluster.local'), '*/ns/tenant-2/sa/default', '* does not enforce a trust domain');
  t.equal(principalPatternFor('tenant-2/sa/default', 'cluster.local'), 'tenant-2/sa/default', 'not five parts: kept');
});

t.test('dry-run annotation is read with Go strconv.ParseBool', async (t) => {
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) t.ok(isDryRunValue(v), v);
  for (const v of ['tRuE', 'yes', '', '0', 'false', undefined]) t.notOk(isDryRunValue(v), String(v));
});

t.test('empty lists are unset, as istiod reads them', async (t) => {
  const p = parsePolicy(ap('tenant-1', 'x', { rules: [{ from: [{ source: { namespaces: [], principals: ['p'] } }], to: [{ operation: { hosts: [], ports: ['08012'] } }], when: [{ key: 'request.headers[x]', values: [], notValues: ['a'] }] }] }));
  const r = p.rules[0]!;
  t.same(Object.keys(r.from![0]!.fields), ['principals']);
  t.same(r.to![0]!.fields, { ports: ['8012'] }, 'ports are decimal numbers');
  t.equal(r.when[0]!.values, undefined);
  t.same(r.when[0]!.notValues, ['a']);
  t.throws(() => parsePolicy(ap('tenant-1', 'x', { rules: [null] })), { message: /spec\.rules\[0\]: must not be null/ });
});

t.test('values older istiods paste into regexes unescaped are refused as new writes, and read literally', async (t) => {
  const bad: Array<[object, RegExp]> = [
    [{ from: [{ source: { namespaces: ['tenant-.'] } }] }, /from\[0\]\.source\.namespaces\[0\]/],
    [{ from: [{ source: { notNamespaces: ['(tenant-1|tenant-2)'] } }] }, /notNamespaces\[0\]/],
    [{ when: [{ key: 'source.namespace', values: ['tenant-[12]'] }] }, /when\[0\]\.values\[0\]/],
    [{ from: [{ source: { principals: ['*/ns/tenant-./sa/default'] } }] }, /principals\[0\]/],
    [{ from: [{ source: { serviceAccounts: ['tenant-*/default'] } }] }, /serviceAccounts\[0\]/],
  ];
  for (const [rule, path] of bad) {
    const invalid = parsePolicy(ap('tenant-1', 'x', { rules: [rule] })).invalid ?? [];
    t.ok(invalid.some((e) => path.test(e.message) && /regular expression/.test(e.message)), JSON.stringify(rule));
  }
  t.notOk(namespaceMatch('tenant-.', 'cluster.local/ns/tenant-2/sa/default'), 'this Istio quotes the value (istio/istio#59992): a literal dot');
  const ok = [
    { from: [{ source: { namespaces: ['tenant-*', '*-1', '*'] } }] },
    { from: [{ source: { principals: ['cluster.local/ns/tenant-1/sa/my.sa', 'cluster.local/ns/tenant-1/*', '*/ns/tenant-1/sa/default'] } }] },
    { from: [{ source: { serviceAccounts: ['tenant-1/my.sa', 'robot'] } }] },
  ];
  for (const rule of ok) t.same(parsePolicy(ap('tenant-1', 'x', { rules: [rule] })).invalid, undefined, JSON.stringify(rule));
  t.ok(serviceAccountMatch('robot', 'cluster.local/ns/tenant-1/sa/robot', 'tenant-1'), 'a bare name is in the policy namespace');
  t.notOk(serviceAccountMatch('robot', 'cluster.local/ns/tenant-2/sa/robot', 'tenant-1'));
});

t.test('targetRefs bind Gateway API pods by label, never plain sidecars', async (t) => {
  const gw = parsePolicy(ap('tenant-1', 'g', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }], rules: [{}] }));
  t.ok(policyApplies(gw, { namespace: 'tenant-1', labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' } }, 'istio-system'));
  t.notOk(policyApplies(gw, { namespace: 'tenant-1', labels: {} }, 'istio-system'));
  t.notOk(policyApplies(gw, { namespace: 'tenant-2', labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' } }, 'istio-system'));
  const cls = parsePolicy(ap('istio-system', 'c', { targetRefs: [{ kind: 'GatewayClass', group: 'gateway.networking.k8s.io', name: 'istio' }], rules: [{}] }));
  t.notOk(policyApplies(cls, { namespace: 'tenant-1', labels: { 'gateway.networking.k8s.io/gateway-class-name': 'istio', 'gateway.networking.k8s.io/gateway-name': 'x' } }, 'istio-system'), 'GatewayClass binds waypoints only');
  const sel = parsePolicy(ap('tenant-1', 's', { rules: [{}] }));
  t.ok(policyApplies(sel, { namespace: 'tenant-1', labels: { 'gateway.networking.k8s.io/gateway-name': 'gw' } }, 'istio-system'), 'gateway pods honour selector policies (default flag)');
});
