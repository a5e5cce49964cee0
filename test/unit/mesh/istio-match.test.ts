import t from 'tap';
import { cidrContains, hostMatch, istioStringMatch, namespaceMatch, parsePrincipal, serviceAccountMatch } from '../../../src/mesh/istio-match.js';
import { freshToken, routedHostCandidates, stringCandidates } from '../../../src/mesh/candidates.js';
import { parsePolicy, policyApplies } from '../../../src/mesh/policy.js';
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

t.test('hosts: case-insensitive, exact host with any port', async (t) => {
  t.ok(hostMatch('*.tenant-1.svc.cluster.local', 'A.TENANT-1.svc.cluster.local'));
  t.ok(hostMatch('hello.tenant-1', 'hello.tenant-1:80'));
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
