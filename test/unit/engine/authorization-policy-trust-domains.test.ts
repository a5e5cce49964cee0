// issue 10: a DENY whose only source field is `trustDomains: [<other>]` denies
// nothing to callers of the mesh's own trust domain. Read as "deny everyone"
// (the field dropped), it made the delete of the namespace's last ALLOW look
// harmless, and Istio then lets every cluster.local caller in.
import t from 'tap';
import { GK } from '../../../src/cluster/state.js';
import { apply, review, ruleIds } from '../mesh/admit.js';
import { ALICE, ap, config, referenceState } from '../mesh/reference-state.js';

const otherDomainOnly = (source: object) => ap('tenant-1', 'deny-other-domain', { action: 'DENY', rules: [{ from: [{ source }] }] });

t.test('DENY trustDomains: [other], then deleting the last ALLOW is refused', async (t) => {
  const s = referenceState('kind');
  const deny = apply(s, otherDomainOnly({ trustDomains: ['other.example'] }), { user: ALICE });
  t.ok(deny.allowed, `the DENY itself opens nothing: ${JSON.stringify(deny.violations)}`);
  const allow = s.get(GK.AuthorizationPolicy, 'tenant-1', 'allow-traffic-to-tenant-1')!;
  const del = review(s, allow, { operation: 'DELETE', user: ALICE });
  t.notOk(del.allowed);
  t.ok(ruleIds(del).includes('TG-AUTHZ-LAST-ALLOW'), JSON.stringify(del.violations));
  t.match(del.violations.find((v) => v.rule === 'TG-AUTHZ-LAST-ALLOW')!.message, /-> tenant-1 via .*left with no enforced ALLOW policy/);
});

t.test('trust domains are matched against config.trustDomain', async (t) => {
  // A DENY of the mesh's own trust domain (wildcard or not) does deny every mTLS caller: the delete then opens nothing by mTLS.
  for (const trustDomains of [['cluster.local'], ['*.local'], ['c*'], ['*']]) {
    const s = referenceState('kind');
    t.ok(apply(s, otherDomainOnly({ trustDomains }), { user: ALICE }).allowed);
    const del = review(s, s.get(GK.AuthorizationPolicy, 'tenant-1', 'allow-traffic-to-tenant-1')!, { operation: 'DELETE', user: ALICE });
    t.ok(del.allowed, `${JSON.stringify(trustDomains)}: ${JSON.stringify(del.violations)}`);
  }
  // With another mesh trust domain, `cluster.local` is a foreign domain (istiod does not rewrite trustDomains values).
  const cfg = config({ trustDomain: 'corp.example' });
  const s = referenceState('kind');
  t.ok(apply(s, otherDomainOnly({ trustDomains: ['cluster.local'] }), { user: ALICE, cfg }).allowed);
  const del = review(s, s.get(GK.AuthorizationPolicy, 'tenant-1', 'allow-traffic-to-tenant-1')!, { operation: 'DELETE', user: ALICE, cfg });
  t.ok(ruleIds(del).includes('TG-AUTHZ-LAST-ALLOW'), JSON.stringify(del.violations));
});

t.test('notTrustDomains: an ALLOW of every other trust domain admits no cluster.local caller', async (t) => {
  const own = ap('tenant-1', 'not-other', { rules: [{ from: [{ source: { notTrustDomains: ['cluster.local'] } }] }] });
  const d = review(referenceState('kind'), own, { user: ALICE });
  t.notOk(ruleIds(d).includes('TG-AUTHZ-OPENS-PATH'), JSON.stringify(d.violations));
  const foreign = ap('tenant-1', 'any-domain', { rules: [{ from: [{ source: { trustDomains: ['*'] } }] }] });
  const opened = review(referenceState('kind'), foreign, { user: ALICE });
  t.ok(ruleIds(opened).includes('TG-AUTHZ-OPENS-PATH'), 'trustDomains: ["*"] admits every mTLS caller');
  t.match(opened.violations[0]!.message, /source\.trustDomains\[0\] = "\*"/);
});

t.test('the search reaches through path templates and split request principals', async (t) => {
  // A `{*}` path is a URI template: the search must try a path that fills it, not the literal string.
  const tmpl = ap('tenant-1', 'tmpl', { rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { paths: ['/api/{*}/x'] } }] }] });
  const d = review(referenceState('kind'), tmpl, { user: ALICE });
  t.ok(ruleIds(d).includes('TG-AUTHZ-OPENS-PATH'), JSON.stringify(d.violations));
  t.match(d.violations[0]?.message ?? "", /paths\[0\] = "\/api\/\{\*\}\/x"/);
  // requestPrincipals are caller-chosen (its own token): issuer and subject are found separately.
  const jwt = ap('tenant-1', 'jwt', { rules: [{ from: [{ source: { requestPrincipals: ['https://issuer/*'] } }] }] });
  t.ok(ruleIds(review(referenceState('kind'), jwt, { user: ALICE })).includes('TG-AUTHZ-OPENS-PATH'));
});
