// decideRequest, one class of Istio behaviour per test: each expectation is
// what istiod's translation (pilot/pkg/security/authz) and Envoy's RBAC filter
// do, as the shared istio-oracle confirmed (npm run test:oracle).
import t from 'tap';
import type { KubeObject } from '../../../src/kube/objects.js';
import { decideRequest, type ConcreteRequest, type DecideOptions } from '../../../src/mesh/decide.js';
import { pathTemplateRegex } from '../../../src/mesh/istio-match.js';
import { parsePolicy } from '../../../src/mesh/policy.js';
import { ap } from './reference-state.js';

const OPTS = { rootNamespace: 'istio-system', trustDomain: 'cluster.local' };
const W = { namespace: 'tenant-1', labels: { app: 'hello' } };
const P2 = 'cluster.local/ns/tenant-2/sa/default';
const req = (r: Partial<ConcreteRequest> = {}): ConcreteRequest => ({ principal: P2, sourceIP: '10.1.2.3', port: 8080, host: 'hello.tenant-1', method: 'GET', path: '/', ...r });
const allow = (rule: object, name = 'a') => ap('tenant-1', name, { rules: [rule] });
const deny = (rule: object, name = 'd') => ap('tenant-1', name, { action: 'DENY', rules: [rule] });
const verdict = (policies: KubeObject[], r: Partial<ConcreteRequest> = {}) => decideRequest(policies, W, req(r), OPTS).verdict;

t.test('precedence: DENY first, then some ALLOW rule if any ALLOW applies; dry-run, AUDIT, CUSTOM never decide', async (t) => {
  t.equal(verdict([]), 'allow');
  t.equal(verdict([ap('tenant-1', 'none', {})]), 'deny', 'spec: {} is an ALLOW without rules');
  const d = decideRequest([allow({}), deny({ to: [{ operation: { paths: ['/admin'] } }] })], W, req({ path: '/admin' }), OPTS);
  t.same([d.verdict, d.deciding], ['deny', 'tenant-1/d']);
  t.equal(verdict([ap('tenant-1', 'x', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'true' })]), 'allow');
  t.equal(verdict([ap('tenant-1', 'x', { action: 'AUDIT', rules: [{}] }), ap('tenant-1', 'c', { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] })]), 'allow');
  t.equal(verdict([ap('tenant-2', 'other-ns', { rules: [] })]), 'allow', 'another namespace never applies');
});

t.test('trustDomains / notTrustDomains are read against the peer SPIFFE id', async (t) => {
  const td = (trustDomains: string[], principal: string | null = P2) => verdict([allow({ from: [{ source: { trustDomains } }] })], { principal });
  t.equal(td(['cluster.local']), 'allow');
  t.equal(td(['other.org']), 'deny');
  t.equal(td(['other.org'], 'other.org/ns/tenant-2/sa/default'), 'allow');
  t.equal(td(['*']), 'allow', '`*`: any mTLS peer');
  t.equal(td(['*'], null), 'deny', 'plaintext has no trust domain');
  t.equal(td(['c*']), 'allow');
  t.equal(td(['*.local']), 'allow');
  t.equal(td(['*.org']), 'deny');
  t.equal(td(['cluster']), 'deny', 'the whole trust domain, not a prefix');
  t.equal(verdict([deny({ from: [{ source: { notTrustDomains: ['cluster.local'] } }] })], { principal: null }), 'deny', 'plaintext passes a not* field');
  t.equal(verdict([allow({ when: [{ key: 'source.trustDomain', values: ['other.org'] }] })]), 'deny', 'the when key reads the peer, not a caller-chosen value');
});

t.test('requestPrincipals: split at the last `/` into iss and sub', async (t) => {
  const rp = (requestPrincipals: string[], jwt: Record<string, unknown> | null) => verdict([allow({ from: [{ source: { requestPrincipals } }] })], { jwt });
  t.equal(rp(['https://issuer/a/tenant-1'], { iss: 'https://issuer/a', sub: 'tenant-1' }), 'allow');
  t.equal(rp(['issuer/x/tenant-1'], { iss: 'issuer', sub: 'x/tenant-1' }), 'deny', 'a sub with `/` is never matched by the joined string');
  t.equal(rp(['https://issuer/*'], { iss: 'https://issuer', sub: 'anyone' }), 'allow');
  t.equal(rp(['https://issuer*'], { iss: 'https://issuer', sub: 'x' }), 'deny', 'split at the last `/`: iss "https:/", sub prefix "issuer"');
  t.equal(rp(['*/tenant-1'], { iss: 'https://other', sub: 'tenant-1' }), 'allow');
  t.equal(rp(['*tenant-1'], { iss: 'x', sub: 'my-tenant-1' }), 'allow', 'no `/`: any issuer, subject suffix');
  t.equal(rp(['*'], { iss: 'x', sub: '' }), 'deny', '`*` is `.+` for both');
  t.equal(rp(['*'], null), 'deny', 'no token');
  t.equal(rp(['a/b'], { iss: ['a'], sub: 'b' }), 'deny', 'only string claims');
});

t.test('JWT claims, audiences and presenter match a string or one element of a list', async (t) => {
  const c = (key: string, values: string[], jwt: Record<string, unknown>) => verdict([allow({ when: [{ key, values }] })], { jwt });
  t.equal(c('request.auth.audiences', ['tenant-1'], { aud: ['x', 'tenant-1'] }), 'allow');
  t.equal(c('request.auth.audiences', ['tenant-1'], { aud: 'tenant-1' }), 'allow');
  t.equal(c('request.auth.claims[groups]', ['admins'], { groups: ['users'] }), 'deny');
  t.equal(c('request.auth.claims[a][b]', ['v'], { a: { b: 'v' } }), 'allow', 'nested claims');
  t.equal(c('request.auth.presenter', ['*'], { azp: '' }), 'deny', '`*` is `.+`');
});

t.test('paths: query and fragment stripped, `{*}` and `{**}` as URI templates', async (t) => {
  const p = (paths: string[], path: string) => verdict([allow({ to: [{ operation: { paths } }] })], { path });
  t.equal(p(['/admin'], '/admin?x=1'), 'allow');
  t.equal(p(['/admin'], '/admin#frag'), 'allow');
  t.equal(verdict([allow({}), deny({ to: [{ operation: { paths: ['/admin'] } }] })], { path: '/admin?x=1' }), 'deny', 'a query does not escape a DENY');
  t.equal(p(['*.json'], '/x.json?y'), 'allow');
  t.equal(p(['/api/{*}/x'], '/api/v1/x'), 'allow');
  t.equal(p(['/api/{*}/x'], '/api/v1/y/x'), 'deny', '{*} is one segment');
  t.equal(p(['/api/{*}/x'], '/api/{*}/x'), 'deny', 'never the literal string');
  t.equal(p(['/api/{**}'], '/api/v1/y/z'), 'allow');
  t.equal(p(['/api/{**}'], '/api/'), 'allow');
  t.equal(p(['/api/{**}'], '/api'), 'deny');
  t.equal(pathTemplateRegex('/a/{**}/{*}'), undefined, 'Envoy rejects an operator after {**}');
});

t.test('hosts and headers: presence for `*`, hosts case-insensitive and with the port', async (t) => {
  t.equal(verdict([allow({ to: [{ operation: { hosts: ['HELLO.tenant-1'] } }] })]), 'allow');
  t.equal(verdict([allow({ to: [{ operation: { hosts: ['hello.tenant-1'] } }] })], { host: 'hello.tenant-1:80' }), 'deny');
  t.equal(verdict([allow({ when: [{ key: 'request.headers[X-Tenant]', values: ['*'] }] })], { headers: { 'x-tenant': '' } }), 'allow', 'present, even empty');
  t.equal(verdict([allow({ when: [{ key: 'connection.sni', notValues: ['*'] }] })], { sni: undefined }), 'allow', 'no SNI is the empty name, which `*` (.+) does not match');
});

t.test('values istiod cannot translate: an ALLOW loses the rule, a DENY the value', async (t) => {
  const badIp = { from: [{ source: { ipBlocks: ['bogus'] } }] };
  t.equal(verdict([allow(badIp), allow({ to: [{ operation: { paths: ['/x'] } }] }, 'b')]), 'deny', 'ALLOW rule dropped (smaller allow policy)');
  t.equal(verdict([deny(badIp)]), 'deny', 'DENY value dropped: the source no longer restricts, so the rule denies everyone');
  t.equal(verdict([deny({ from: [{ source: { ipBlocks: ['bogus', '192.168.0.0/16'] } }] })]), 'allow', 'the valid value still decides');
  t.equal(verdict([deny({ to: [{ operation: { ports: ['70000'] } }] })]), 'deny');
  t.equal(verdict([allow({ to: [{ operation: { ports: ['abc', '8080'] } }] })]), 'deny');
  t.equal(verdict([allow({ to: [{ operation: { ports: ['08080'] } }] })]), 'allow', 'ParseUint reads 08080 as 8080');
  t.equal(verdict([deny({ from: [{ source: { ipBlocks: ['010.1.2.3'] } }] })]), 'deny', "Go's parser refuses leading zeros");
  t.equal(verdict([deny({ when: [{ key: 'request.headersX', values: ['a'] }] })]), 'deny', 'a malformed header key drops the condition of a DENY');
  t.equal(verdict([allow({}), deny({ when: [{ key: 'request.nothing', values: ['a'] }] })]), 'allow', 'an unknown key drops the whole rule, DENY too');
  t.equal(verdict([allow({ when: [{ key: 'request.nothing', values: ['a'] }] })]), 'deny');
  t.equal(verdict([allow({ when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }, { key: 'remote.ip', values: ['bogus'] }] })]), 'deny');
});

t.test('regex characters are literal in this Istio (istio/istio#59992)', async (t) => {
  t.equal(verdict([allow({ from: [{ source: { namespaces: ['tenant-.'] } }] })]), 'deny');
  t.equal(verdict([allow({ from: [{ source: { principals: ['*.local/ns/tenant-2/sa/default'] } }] })]), 'allow', '`*<rest>` is a suffix match');
  t.equal(verdict([allow({ from: [{ source: { serviceAccounts: ['tenant-2/default'] } }] })]), 'allow');
});

t.test('an unreadable policy counts as "may allow anything, denies nothing"', async (t) => {
  const odd = ap('tenant-1', 'odd', { action: 'DENY', rules: [{ from: [{ source: { trustDomain: ['x'] } }] }] });
  const d = decideRequest([ap('tenant-1', 'none', {}), odd], W, req(), OPTS);
  t.equal(d.verdict, 'allow');
  t.match(d.refused[0], /^tenant-1\/odd: spec\.rules\[0\]\.from\[0\]\.source\.trustDomain: unknown field "trustDomain"/);
  t.equal(decideRequest([ap('tenant-2', 'none', {}), { ...odd, metadata: { ...odd.metadata, namespace: 'tenant-2' } }], { namespace: 'tenant-2' }, req(), OPTS).verdict, 'allow');
});

t.test('unknown fields anywhere in the spec are refused, naming the field', async (t) => {
  const cases: Array<[object, RegExp]> = [
    [{ rules: [{}], extra: 1 }, /^spec\.extra: unknown field/],
    [{ selector: { matchLabels: {}, matchExpressions: [] } }, /^spec\.selector\.matchExpressions/],
    [{ rules: [{ from: [{ source: { ip_blocks: ['1.2.3.4'] } }] }] }, /source\.ip_blocks/],
    [{ rules: [{ to: [{ operation: { path: ['/'] } }] }] }, /operation\.path: unknown field/],
    [{ rules: [{ when: [{ key: 'source.ip', value: ['1.2.3.4'] }] }] }, /when\[0\]\.value: unknown field/],
    [{ rules: [{ from: [{ source: {}, extra: {} }] }] }, /from\[0\]\.extra/],
    [{ targetRefs: [{ kind: 'Gateway', name: 'gw', sectionName: 'x' }] }, /targetRefs\[0\]\.sectionName/],
    [{ action: 'CUSTOM', provider: { name: 'x', port: 1 }, rules: [{}] }, /spec\.provider\.port/],
    [{ action: 'DENY', rules: [{ from: [null] }] }, /from\[0\]: must be an object/],
  ];
  for (const [spec, message] of cases) t.throws(() => parsePolicy(ap('tenant-1', 'x', spec)), { message }, JSON.stringify(spec));
});

t.test("new writes istiod's validation rejects carry istiod's reason", async (t) => {
  const invalid = (spec: object, annotations?: Record<string, string>) => (parsePolicy(ap('tenant-1', 'x', spec, annotations)).invalid ?? []).map((e) => e.message).join(' | ');
  t.match(invalid({ rules: [{ from: [{ source: { ipBlocks: ['300.1.1.1'] } }] }] }), /ipBlocks\[0\]: bad IP address/);
  t.match(invalid({ rules: [{ to: [{ operation: { ports: ['70000'] } }] }] }), /bad port/);
  t.match(invalid({ rules: [{ when: [{ key: 'request.nothing', values: ['a'] }] }] }), /unknown attribute: request\.nothing/);
  t.match(invalid({ rules: [{ when: [{ key: 'source.ip' }] }] }), /at least one of `values` or `notValues` must be set/);
  t.match(invalid({ action: 'DENY' }), /DENY action without `rules`/);
  t.match(invalid({ rules: [{ to: [{ operation: { paths: ['/a/{**}/{*}'] } }] }] }), /\{\*\*\} is not the last operator/);
  t.match(invalid({ action: 'AUDIT', rules: [{}] }, { 'istio.io/dry-run': 'true' }), /only supports action ALLOW\/DENY/);
  t.match(invalid({ targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw', namespace: 'tenant-2' }] }), /cross namespace referencing/);
  t.match(invalid({ rules: [{ from: [{ source: { trustDomains: ['a*b'] } }] }] }), /wildcard is only allowed at the start or end/);
  t.equal(invalid({ rules: [{ from: [{ source: { trustDomains: ['*.local'], requestPrincipals: ['https://issuer/*'] } }], to: [{ operation: { paths: ['/api/{*}/x'] } }] }] }), '');
});

t.test('CUSTOM, given the mesh ext_authz providers: fail closed as istiod builds it', async (t) => {
  const ext = { ...OPTS, extAuthz: { providers: ['ext-authz'] } };
  const custom = (name: string, provider: string, rule: object, annotations?: Record<string, string>) => ap('tenant-1', name, { action: 'CUSTOM', provider: { name: provider }, rules: [rule] }, annotations);
  const v = (policies: KubeObject[], opts: DecideOptions = ext, r: Partial<ConcreteRequest> = {}) => decideRequest(policies, W, req(r), opts);
  t.equal(v([custom('c', 'ext-authz', {})]).verdict, 'allow', 'a known provider asks the authorizer, which allows');
  t.equal(v([custom('c', 'ext-authz', {})], { ...OPTS, extAuthz: { providers: ['ext-authz'], allows: false } }).verdict, 'deny');
  const unknown = v([custom('c', 'nope', { to: [{ operation: { paths: ['/admin'] } }] })], ext, { path: '/admin' });
  t.same([unknown.verdict, unknown.deciding], ['deny', 'tenant-1/c'], 'an unknown provider denies what its rules match');
  t.equal(v([custom('c', 'nope', { to: [{ operation: { paths: ['/admin'] } }] })]).verdict, 'allow', 'and only that');
  t.equal(v([custom('a', 'ext-authz', {}), custom('b', 'other', { to: [{ operation: { paths: ['/x'] } }] })]).verdict, 'deny', 'two providers on one workload: both fail closed');
  t.equal(v([custom('c', 'ext-authz', {}, { 'istio.io/dry-run': 'true' })]).verdict, 'deny', 'a dry-run CUSTOM rule is enforced as DENY');
  t.equal(v([custom('c', 'nope', {})], OPTS).verdict, 'allow', 'without the provider list, CUSTOM never decides');
});
