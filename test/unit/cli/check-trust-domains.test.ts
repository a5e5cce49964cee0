// issue 10 through `tenant-guard check`: a DENY with only
// `trustDomains: [<other domain>]` is admitted (it opens nothing), and with it
// in the state, deleting tenant-1's last ALLOW is still refused.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ALICE, checkJson, NAMESPACES, REPO, ruleIds } from './check-harness.js';

const DENY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-other-domain, namespace: tenant-1}
spec:
  action: DENY
  rules: [{from: [{source: {trustDomains: [other.example]}}]}]
`;
const ALLOW = join(REPO, 'test/fixtures/reference/kind/config/authentication-policy-tenant-1.yaml');
const REFERENCE = join(REPO, 'test/fixtures/reference/kind');

t.test('DENY trustDomains: [other], then DELETE of the last ALLOW: refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-td-'));
  writeFileSync(join(dir, 'deny.yaml'), DENY);
  const created = await checkJson(['--state', join(REPO, NAMESPACES), '--state', REFERENCE, ...ALICE, '-f', 'deny.yaml'], { cwd: dir });
  t.equal(created.code, 0, JSON.stringify(created.report.results.map((r) => r.violations)));
  const deleted = await checkJson(['--state', join(REPO, NAMESPACES), '--state', REFERENCE, '--state', 'deny.yaml', ...ALICE, '--operation', 'DELETE', '-f', ALLOW], { cwd: dir });
  t.not(deleted.code, 0);
  t.same(deleted.report.results.map((r) => [r.name, r.allowed]), [['allow-traffic-to-tenant-1', false]]);
  t.ok(ruleIds(deleted.report).includes('TG-AUTHZ-LAST-ALLOW'), JSON.stringify(deleted.report.results[0]?.violations));
});

t.test('a field the AuthorizationPolicy schema does not define is refused, naming it', async (t) => {
  const typo = DENY.replace('trustDomains', 'trustDomain');
  const r = await checkJson(['--state', join(REPO, NAMESPACES), ...ALICE, '-f', '-'], { stdin: typo });
  t.not(r.code, 0);
  const v = r.report.results[0]!.violations[0]!;
  t.equal(v.rule, 'TG-AUTHZ-MALFORMED');
  t.match(v.message, /spec\.rules\[0\]\.from\[0\]\.source\.trustDomain: unknown field "trustDomain"/);
});
