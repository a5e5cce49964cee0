// `check` on issue 9's attack classes: each attack refused by its rule, each
// legitimate neighbour admitted, as a tenant admin against the reference state.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ALICE, checkJson, NAMESPACES, ruleIds } from './check-harness.js';

const STATE = ['--state', NAMESPACES, '--state', 'test/fixtures/reference/kind/config'];

t.test('attacks: every object refused, by the rule of its class', async (t) => {
  const { code, report } = await checkJson([...ALICE, ...STATE, '-f', 'test/fixtures/issue9/attacks.yaml']);
  t.equal(code, 1);
  const by = Object.fromEntries(report.results.map((r) => [`${r.kind}/${r.name}`, r.violations.map((v) => v.rule)]));
  t.same(by, {
    'ServiceEntry/hop': ['TG-ISTIO-FOREIGN-HOST'],
    'DestinationRule/hop': ['TG-ISTIO-FOREIGN-HOST'],
    // The destination (the gateway) and, since issue 17, the Host it sets (another tenant's service).
    'VirtualService/hop': ['TG-ISTIO-VS-DESTINATION', 'TG-ISTIO-FOREIGN-HOST'],
    'Service/alias': ['TG-SERVICE-EXTERNALNAME'],
    'EndpointSlice/pinned-1': ['TG-ENDPOINTS-ADDRESS'],
    'DomainMapping/shop.example.com': ['TG-KNATIVE-DOMAINMAPPING-REF'],
    'Deployment/snoop': ['TG-WORKLOAD-HOST-NAMESPACES', 'TG-WORKLOAD-HOST-PATH'],
  });
  t.ok(report.results.every((r) => !r.allowed && r.intercepted));
});

t.test('neighbours: admitted; the Deployment hardened against setuid(1337)', async (t) => {
  const { code, report } = await checkJson([...ALICE, ...STATE, '-f', 'test/fixtures/issue9/neighbours.yaml']);
  t.equal(code, 0, JSON.stringify(ruleIds(report)));
  const web = report.results.find((r) => r.name === 'web')!;
  t.same(
    web.patch.find((p) => p.path === '/spec/template/spec/containers/0/securityContext'),
    { op: 'add', path: '/spec/template/spec/containers/0/securityContext', value: { allowPrivilegeEscalation: false, capabilities: { drop: ['SETUID', 'SETGID'] } } },
  );
  const deny = mkdtempSync(join(tmpdir(), 'tg-i9-'));
  const cfg = join(deny, 'tenancy.yaml');
  writeFileSync(cfg, 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\nrootContainers: deny\ntenants:\n- {name: tenant-1, admins: {users: [alice]}, namespaces: [tenant-1]}\n- {name: tenant-2, admins: {users: [bob]}, namespaces: [tenant-2]}\n');
  const denied = await checkJson(['--config', cfg, ...ALICE, ...STATE, '-f', 'test/fixtures/issue9/neighbours.yaml']);
  t.same(denied.report.results.find((r) => r.name === 'web')!.violations.map((v) => v.rule), ['TG-WORKLOAD-SETUID'], 'rootContainers: deny refuses instead');
});

t.test('class 5 and 6: a relabelled last ALLOW is a delete; a terminating namespace may lose it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-i9-'));
  const relabelled = join(dir, 'relabelled.yaml');
  writeFileSync(
    relabelled,
    'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-traffic-to-tenant-1, namespace: tenant-1, labels: {istio.io/rev: canary}}\n' +
      'spec: {action: ALLOW, rules: [{from: [{source: {namespaces: [tenant-1, knative-serving, istio-system]}}]}]}\n',
  );
  const r = await checkJson([...ALICE, ...STATE, '-f', relabelled]);
  t.equal(r.code, 1);
  t.ok(ruleIds(r.report).includes('TG-AUTHZ-LAST-ALLOW'), JSON.stringify(ruleIds(r.report)));

  const terminating = join(dir, 'terminating.yaml');
  writeFileSync(terminating, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-1, labels: {istio-injection: enabled}, deletionTimestamp: "2026-01-01T00:00:00Z"}\nstatus: {phase: Terminating}\n');
  const target = join(dir, 'target.yaml');
  writeFileSync(target, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-traffic-to-tenant-1, namespace: tenant-1}\n');
  const live = await checkJson(['--operation', 'DELETE', ...STATE, '-f', target]);
  t.ok(ruleIds(live.report).includes('TG-AUTHZ-LAST-ALLOW'), 'a live namespace keeps its last ALLOW');
  const gone = await checkJson(['--operation', 'DELETE', ...STATE, '--state', terminating, '-f', target]);
  t.equal(gone.code, 0, JSON.stringify(ruleIds(gone.report)));
});

t.test('class 7: the reference drain rule against a configured node network', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-i9-'));
  const cfg = join(dir, 'tenancy.yaml');
  writeFileSync(
    cfg,
    'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\nclusterNetwork: {nodeCIDRs: [172.18.0.0/16]}\n' +
      'tenants:\n- {name: tenant-1, admins: {users: [alice]}, namespaces: [tenant-1]}\n- {name: tenant-2, admins: {users: [bob]}, namespaces: [tenant-2]}\n',
  );
  const openshift = ['--state', NAMESPACES, '--state', 'examples/reference-hardened/openshift'];
  const unset = await checkJson([...openshift, '-f', 'examples/reference-hardened/openshift']);
  t.equal(unset.code, 0, 'unset: admitted');
  t.ok(unset.report.results.flatMap((r) => r.warnings).some((w) => w.rule === 'TG-AUTHZ-DRAIN-OPEN'), 'a structured warning of TG-AUTHZ-DRAIN-OPEN');
  const set = await checkJson(['--config', cfg, ...openshift, '-f', 'examples/reference-hardened/openshift']);
  t.same([...new Set(ruleIds(set.report))], ['TG-AUTHZ-DRAIN-SOURCE'], 'set: the reference no-from drain rules are refused');
});
