// `check` refuses, at the first write that makes it possible, every way of
// letting a namespace another tenant can create tomorrow into a tenant:
// deny-lists, wildcards, names that do not exist yet, and names freed by a delete.
import { join } from 'node:path';
import t from 'tap';
import { ALICE, BOB, check, checkJson, NAMESPACES, ruleIds } from './check-harness.js';

const HARDENED = 'examples/reference-hardened/kind';

function policy(name: string, source: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: tenant-1}
spec:
  rules: [{from: [{source: ${source}}]}]
`;
}

const cases: Array<[string, string, RegExp]> = [
  ['notNamespaces', '{notNamespaces: [tenant-2]}', /any namespace created later \(for example "[a-z0-9]+"\) -> tenant-1 via direct/],
  ['a wildcard another tenant can squat', '{namespaces: ["tenant-1*", knative-serving, istio-system]}', /fits the pattern \(for example "tenant-1[a-z0-9]+"\) -> tenant-1/],
  ['a name that does not exist yet', '{namespaces: [tenant-1, tenant-1-b]}', /namespace tenant-1-b, which does not exist yet/],
  ['a principal pattern', '{principals: ["cluster.local/ns/tenant-1*"]}', /fits the pattern/],
];

for (const [what, source, message] of cases) {
  t.test(`${what}: refused for alice`, async (t) => {
    const dir = t.testdir({ 'ap.yaml': policy('p', source) });
    const { code, report } = await checkJson(['--state', NAMESPACES, '--state', HARDENED, ...ALICE, '-f', join(dir, 'ap.yaml')]);
    t.equal(code, 1);
    t.ok(ruleIds(report).includes('TG-AUTHZ-OPENS-PATH'), ruleIds(report).join());
    t.match(report.results[0]!.violations.map((v) => v.message).join('\n'), message);
  });
}

t.test("the issue's sequence in one run: the deny-list is refused, tenant-2's new namespace gets nothing from tenant-1", async (t) => {
  const dir = t.testdir({
    'ap.yaml': policy('all-but-tenant-2', '{notNamespaces: [tenant-2]}'),
    'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-2-b, labels: {tenant-guard.dev/tenant: tenant-2}}\n',
  });
  const { code, report } = await checkJson(['--matrix', '-f', NAMESPACES, '-f', HARDENED, '-f', join(dir, 'ap.yaml'), '-f', join(dir, 'ns.yaml')]);
  t.equal(code, 1, 'the policy is denied');
  t.same(report.results.filter((r) => !r.allowed).map((r) => r.name), ['all-but-tenant-2']);
  const into1 = report.matrix!.cells.filter((c) => c.to === 'tenant-1' && c.from !== 'tenant-1');
  t.ok(into1.length > 0 && into1.every((c) => !c.allowed), 'nothing reaches tenant-1');
});

t.test('a reused name: bob may not re-create a namespace that tenant-1 deleted but still trusts', async (t) => {
  const dir = t.testdir({
    'trust.yaml': policy('own', '{namespaces: [tenant-1, tenant-1-b, knative-serving, istio-system]}'),
    'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-1-b}\n',
  });
  const { code, report } = await checkJson(['--state', NAMESPACES, '--state', HARDENED, '--state', join(dir, 'trust.yaml'), ...BOB, '-f', join(dir, 'ns.yaml')]);
  t.equal(code, 1);
  t.same(ruleIds(report), ['TG-NS-TRUSTED-NAME']);
  t.match(report.results[0]!.violations[0]!.message, /"tenant-1-b" is trusted by AuthorizationPolicy tenant-1\/own/);
  // alice may take the name back.
  const back = await check(['--state', NAMESPACES, '--state', HARDENED, '--state', join(dir, 'trust.yaml'), ...ALICE, '-f', join(dir, 'ns.yaml')]);
  t.equal(back.code, 0, back.stdout);
});
