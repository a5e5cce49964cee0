import t from 'tap';
import { FULL_AUDIENCE, msg, ref, refList, render, withheld } from '../../../src/kube/message-text.js';
import { audienceOf, decisionFor } from '../../../src/engine/audience.js';
import { DecisionBuilder, keepText } from '../../../src/engine/decision.js';

const mine = ref('AuthorizationPolicy tenant-2/own (rules[0])', 'tenant-2', 'policy');
const theirs = ref('AuthorizationPolicy tenant-1/secret (rules[3])', 'tenant-1', 'policy');
const theirs2 = ref('AuthorizationPolicy tenant-1/other (rules[0])', 'tenant-1', 'policy');
const platform = ref('AuthorizationPolicy istio-system/gw', undefined, 'policy');
const bob = { full: false, tenants: ['tenant-2'] } as const;

t.test('a reference reads in full to its own tenant and the platform, by tenant to others', async (t) => {
  const m = msg`trusted by ${theirs}, ${mine} and ${platform}.`;
  t.equal(String(m), 'trusted by AuthorizationPolicy tenant-1/secret (rules[3]), AuthorizationPolicy tenant-2/own (rules[0]) and AuthorizationPolicy istio-system/gw.');
  t.equal(render(m, FULL_AUDIENCE), String(m));
  t.equal(render(m, bob), 'trusted by a policy of tenant tenant-1, AuthorizationPolicy tenant-2/own (rules[0]) and AuthorizationPolicy istio-system/gw.');
  t.equal(render(m, { full: false, tenants: [] }), 'trusted by a policy of tenant tenant-1, a policy of tenant tenant-2 and AuthorizationPolicy istio-system/gw.');
  t.equal(render('plain', bob), 'plain');
});

t.test('withheld words read in full to platform readers only, even to the tenant that owns the object judged', async (t) => {
  const m = msg`could not judge Pod tenant-2/web: ${withheld('policy tenant-1/secret broke', 'an internal error')}; denied`;
  t.ok(m.namesTenantObjects, 'it reads differently per audience');
  t.equal(String(m), 'could not judge Pod tenant-2/web: policy tenant-1/secret broke; denied');
  t.equal(render(m, bob), 'could not judge Pod tenant-2/web: an internal error; denied');
  t.equal(render(m, { full: false, tenants: ['tenant-1', 'tenant-2'] }), 'could not judge Pod tenant-2/web: an internal error; denied');
  t.equal(render(msg`[R] ${m}`, FULL_AUDIENCE), '[R] could not judge Pod tenant-2/web: policy tenant-1/secret broke; denied');
});

t.test('a list counts hidden references per tenant and keeps "and N more"', async (t) => {
  const l = refList([theirs, mine, theirs2, platform], { separator: '; ', max: 3, plural: 'policies' });
  const m = msg`by ${l}.`;
  t.equal(String(m), 'by AuthorizationPolicy tenant-1/secret (rules[3]); AuthorizationPolicy tenant-2/own (rules[0]); AuthorizationPolicy tenant-1/other (rules[0]); and 1 more.');
  t.equal(render(m, bob), 'by AuthorizationPolicy tenant-2/own (rules[0]); 2 policies of tenant tenant-1; and 1 more.');
});

t.test('MessageTexts nest, and a message naming only platform objects is kept as a string', async (t) => {
  const inner = msg`x ${theirs}`;
  const outer = msg`[RULE] ${inner} y`;
  t.equal(render(outer, bob), '[RULE] x a policy of tenant tenant-1 y');
  t.equal(msg`only ${platform}`.namesTenantObjects, false);
  const d = new DecisionBuilder().violate('R', 'p', msg`only ${platform}`).build();
  t.equal(d.violations[0]!.text, undefined);
});

t.test('decisionFor renders violations, warnings and relaxed violations for the audience', async (t) => {
  const d = new DecisionBuilder().violate('R', 'metadata.name', msg`by ${theirs}`).warn(msg`see ${theirs}`).warn('plain').build();
  d.relaxed = [keepText(d.violations[0]!, { ...d.violations[0]!, action: 'audit' as const })];
  t.equal(d.violations[0]!.message, 'by AuthorizationPolicy tenant-1/secret (rules[3])');
  t.same(JSON.parse(JSON.stringify(d.violations[0])), { rule: 'R', path: 'metadata.name', message: 'by AuthorizationPolicy tenant-1/secret (rules[3])' }, 'JSON outputs (check, audit) carry the full message only');
  const forBob = decisionFor(d, audienceOf({ role: 'tenant', username: 'bob', tenants: ['tenant-2'], admin: true }));
  t.same(forBob.violations, [{ rule: 'R', path: 'metadata.name', message: 'by a policy of tenant tenant-1' }]);
  t.same(forBob.warnings, ['see a policy of tenant tenant-1', 'plain']);
  t.same(forBob.relaxed, [{ rule: 'R', path: 'metadata.name', message: 'by a policy of tenant tenant-1', action: 'audit' }]);
  t.equal(forBob.warningTexts, undefined);
  t.equal(decisionFor(d, audienceOf({ role: 'platform-admin', username: 'admin' })), d, 'platform admins get the decision as is');
  const plain = new DecisionBuilder().violate('R', 'p', 'nothing named').build();
  t.equal(decisionFor(plain, bob), plain, 'a decision naming no tenant object is not copied');
  t.same(audienceOf({ role: 'other', username: 'x' }), { full: false, tenants: [] });
});
