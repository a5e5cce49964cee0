// The generator of `tenant-guard vap`: the rule table against the engine's
// catalogue, the params from a tenancy config, the command's output, and the
// chart's copy of the policies. The policies' verdicts themselves are proven
// on a real kube-apiserver: test/e2e/vap.test.ts and vap-differential.test.ts.
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { main } from '../../../src/cli/main.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { ruleCatalog } from '../../../src/engine/index.js';
import { CAPTURE_KNOBS } from '../../../src/engine/sidecar-metadata-checks.js';
import { renderChartMutatingPolicies, renderChartPolicies } from '../../../src/vap/chart-file.js';
import { PATH_RULES } from '../../../src/config/rule-classes.js';
import { actionOf, actionsInUse, encodeExceptions, liftedBy } from '../../../src/vap/enforcement.js';
import { paramsConfigMaps, paramsData, policyBindings, releaseFullname, validatingPolicies, vapManifests } from '../../../src/vap/policies.js';
import { CEL_RULES, FAMILIES, UNCOMPILED } from '../../../src/vap/rules.js';

const config = parseTenancyConfig(
  {
    apiVersion: 'tenant-guard.dev/v1alpha1',
    kind: 'TenancyConfig',
    platformAdmins: { users: ['root'], groups: ['platform-admins'] },
    drainPorts: ['8022', '9000'],
    tenants: [
      { name: 'tenant-1', admins: { users: ['alice'], groups: [] }, namespaces: ['tenant-1', 'shared-1'] },
      { name: 'tenant-2', admins: { users: ['bob'], groups: [] }, namespaces: [] },
    ],
  },
  'test',
);

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const code = await main(argv, { stdout, stderr, stdin: new PassThrough(), cwd: process.cwd(), env: {} } as never);
  return { code, stdout: out, stderr: err };
}

t.test('every compiled rule is an engine rule, compiled once, with a family that exists', async (t) => {
  const ids = new Set(ruleCatalog.map((r) => r.id));
  const seen = new Set<string>();
  for (const r of CEL_RULES) {
    t.ok(ids.has(r.id), `${r.id} is in the engine's catalogue`);
    t.notOk(seen.has(r.id), `${r.id} compiled once`);
    seen.add(r.id);
    t.ok(FAMILIES.some((f) => f.family === r.family), `${r.id}: family ${r.family}`);
    t.notOk(r.expression.includes('\n'), `${r.id}: one line`);
  }
  for (const id of Object.keys(UNCOMPILED)) {
    t.ok(ids.has(id), `${id} (uncompiled) is in the engine's catalogue`);
    t.notOk(seen.has(id), `${id} is not both compiled and uncompiled`);
  }
});

t.test("a compiled rule's kinds are all matched by its family's policy", async (t) => {
  const resourceOf: Record<string, string> = {
    Pod: 'pods',
    ReplicationController: 'replicationcontrollers',
    'apps/Deployment': 'deployments',
    'apps/StatefulSet': 'statefulsets',
    'apps/DaemonSet': 'daemonsets',
    'apps/ReplicaSet': 'replicasets',
    'batch/Job': 'jobs',
    'batch/CronJob': 'cronjobs',
    'serving.knative.dev/Service': 'services',
    'serving.knative.dev/Configuration': 'configurations',
    'serving.knative.dev/Revision': 'revisions',
    'serving.knative.dev/Route': 'routes',
    'serving.knative.dev/DomainMapping': 'domainmappings',
    'security.istio.io/PeerAuthentication': 'peerauthentications',
    'networking.istio.io/DestinationRule': 'destinationrules',
  };
  for (const r of CEL_RULES) {
    const doc = ruleCatalog.find((d) => d.id === r.id)!;
    const family = FAMILIES.find((f) => f.family === r.family)!;
    for (const kind of doc.kinds) {
      const group = kind.includes('/') ? kind.slice(0, kind.lastIndexOf('/')) : '';
      const resource = resourceOf[kind];
      t.ok(resource, `${r.id}: ${kind} has a resource`);
      t.ok(
        family.resourceRules.some((rr) => rr.apiGroups.includes(group) && rr.resources.includes(resource!) && rr.operations.includes('CREATE') && rr.operations.includes('UPDATE')),
        `${r.id}: ${kind} is matched by tenant-guard-${r.family}`,
      );
    }
  }
});

t.test('every capture knob carries its CEL test, over v only', async (t) => {
  for (const k of CAPTURE_KNOBS) {
    t.ok(k.cel.length > 0, k.key);
    t.notMatch(k.cel, /variables\.|object\./, `${k.key}: a test of the value alone`);
  }
});

t.test('one policy per family: validations carry the rule id first in their message', async (t) => {
  const policies = validatingPolicies();
  t.same(
    policies.map((p) => p.metadata.name),
    FAMILIES.map((f) => `tenant-guard-${f.family}`),
  );
  for (const p of policies) {
    const spec = p.spec as { validations: { expression: string; messageExpression: string }[]; failurePolicy: string; paramKind: unknown };
    t.equal(spec.failurePolicy, 'Fail', `${p.metadata.name}: fails closed`);
    t.same(spec.paramKind, { apiVersion: 'v1', kind: 'ConfigMap' });
    for (const v of spec.validations) t.match(v.messageExpression, /^'TG-[A-Z-]+: ' \+ variables\.subject \+ '.*Fix: /, 'rule id, subject, fix');
  }
  const workloads = policies.find((p) => p.metadata.name === 'tenant-guard-workloads')!.spec as { matchConditions?: { expression: string }[] };
  t.match(workloads.matchConditions?.[0]?.expression ?? '', /platformControllerUsers/, 'platform controllers skip the workload policy');
  const pa = policies.find((p) => p.metadata.name === 'tenant-guard-peer-authentication')!.spec as { matchConditions?: unknown };
  t.equal(pa.matchConditions, undefined, 'PeerAuthentication rules hold for every identity, as in the engine');
});

t.test('params: the tenancy config as lists one item a line', async (t) => {
  t.same(paramsData(config, 'deny', NOW), {
    tenantLabel: 'tenant-guard.dev/tenant',
    tenantNamespaces: 'shared-1\ntenant-1',
    namespaceTenants: 'shared-1=tenant-1\ntenant-1=tenant-1',
    systemNamespaces: 'istio-system\nknative-serving',
    meshRootNamespace: 'istio-system',
    drainPorts: '8022\n9000',
    platformAdminUsers: 'root',
    platformAdminGroups: 'platform-admins',
    platformControllerUsers: 'system:kube-controller-manager\nsystem:kube-scheduler',
    platformControllerGroups: 'system:serviceaccounts:istio-system\nsystem:serviceaccounts:knative-serving\nsystem:serviceaccounts:kube-system',
    gatewaySelector: 'app=istio-ingressgateway,istio=ingressgateway',
    action: 'deny',
    enforcementAction: 'deny',
    enforcementOverrides: '',
    exceptions: '',
  });
  const bindings = policyBindings(config, { namespace: 'guard' });
  t.equal(bindings.length, FAMILIES.length, 'all deny: one binding per policy');
  for (const b of bindings) {
    t.same((b.spec as { paramRef: unknown }).paramRef, { name: 'tenant-guard-vap-params', namespace: 'guard', parameterNotFoundAction: 'Deny' });
    t.same((b.spec as { validationActions: unknown }).validationActions, ['Deny']);
  }
  t.equal(vapManifests(config, { namespace: 'guard' }).length, 1 + 2 * FAMILIES.length, 'params, policies, bindings');
});

const NOW = Date.parse('2026-12-07T12:00:00Z');

const enforced = parseTenancyConfig(
  {
    apiVersion: 'tenant-guard.dev/v1alpha1',
    kind: 'TenancyConfig',
    tenants: [{ name: 'tenant-1', admins: { users: ['alice'], groups: [] }, namespaces: ['tenant-1'] }],
    baseline: { gatewayPolicy: { selector: { istio: 'gw' } } },
    enforcement: {
      action: 'audit',
      overrides: [
        { rules: ['TG-WORKLOAD-*'], tenants: ['tenant-1'], action: 'warn' },
        { rules: ['TG-WORKLOAD-HOST-PATH', 'TG-DESTRULE-TLS-MODE'], namespaces: ['tenant-1', 'x'], action: 'deny' },
      ],
    },
    exceptions: [
      { rules: ['TG-WORKLOAD-HOST-PATH'], namespaces: ['tenant-1'], kinds: ['apps/Deployment', 'Pod'], names: ['agent'], reason: 'r', expires: '2027-01-01' },
      {
        rules: ['TG-WORKLOAD-*'],
        tenants: ['tenant-1'],
        selector: { matchLabels: { b: '', a: 'x' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['1', '2'] }, { key: 'd', operator: 'NotIn', values: [] }, { key: 'e', operator: 'Exists' }] },
        reason: 'r',
        expires: '2026-12-07',
      },
      { rules: ['*'], tenants: ['tenant-1'], reason: 'expired', expires: '2026-12-06T23:59:59Z' },
    ],
  },
  'test',
);

t.test('enforcement and exceptions in the params; one binding per policy and action in use', async (t) => {
  const d = paramsData(enforced, 'warn', NOW);
  t.equal(d.action, 'warn');
  t.equal(d.enforcementAction, 'audit');
  t.equal(d.enforcementOverrides, 'warn|TG-WORKLOAD-*|tenant-1|\ndeny|TG-WORKLOAD-HOST-PATH,TG-DESTRULE-TLS-MODE||tenant-1,x');
  t.equal(d.exceptions, 'TG-WORKLOAD-HOST-PATH||tenant-1|apps/Deployment,Pod|agent|\nTG-WORKLOAD-*|tenant-1||||In:a:x;In:b:;In:c:1,2;NotIn:d;Exists:e', 'the expired exception is left out; no values is told apart from one empty value');
  t.equal(d.gatewaySelector, 'istio=gw');
  t.equal(encodeExceptions(enforced, Date.parse('2026-12-08T00:00:00Z')).split('\n').length, 1, 'a date is valid through that day (UTC)');
  t.same(actionsInUse(enforced), ['deny', 'warn', 'audit']);
  const bindings = policyBindings(enforced, { namespace: 'guard', release: 'prod' });
  t.equal(bindings.length, 3 * FAMILIES.length);
  const byName = new Map(bindings.map((b) => [b.metadata.name, b.spec as { policyName: string; paramRef: { name: string }; validationActions: string[] }]));
  t.same(byName.get('prod-tenant-guard-workloads'), { policyName: 'prod-tenant-guard-workloads', paramRef: { name: 'prod-tenant-guard-vap-params', namespace: 'guard', parameterNotFoundAction: 'Deny' }, validationActions: ['Deny'] });
  t.same(byName.get('prod-tenant-guard-workloads-warn')?.validationActions, ['Warn', 'Audit']);
  t.equal(byName.get('prod-tenant-guard-workloads-warn')?.paramRef.name, 'prod-tenant-guard-vap-params-warn');
  t.same(byName.get('prod-tenant-guard-peer-authentication-audit')?.validationActions, ['Audit']);
  t.same(
    paramsConfigMaps(enforced, { namespace: 'guard', release: 'prod' }, NOW).map((c) => [c.metadata.name, (c as unknown as { data: { action: string } }).data.action]),
    [
      ['prod-tenant-guard-vap-params', 'deny'],
      ['prod-tenant-guard-vap-params-warn', 'warn'],
      ['prod-tenant-guard-vap-params-audit', 'audit'],
    ],
  );
  const auditOnly = parseTenancyConfig({ apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig', enforcement: { action: 'audit' } }, 'test');
  t.same(
    policyBindings(auditOnly, { namespace: 'guard' }).map((b) => b.metadata.name),
    FAMILIES.map((f) => `tenant-guard-${f.family}-audit`),
    'audit only: no deny binding',
  );
  t.same(
    paramsConfigMaps(auditOnly, { namespace: 'guard' }).map((c) => c.metadata.name),
    ['tenant-guard-vap-params', 'tenant-guard-vap-params-audit'],
    'the deny params stay: the mutating policies read them',
  );
  const bad = parseTenancyConfig(
    { apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig', exceptions: [{ rules: ['TG-WORKLOAD-HOST-PATH'], namespaces: ['a'], selector: { matchLabels: { 'a|b': 'x' } }, reason: 'r', expires: '2099-01-01' }] },
    'test',
  );
  t.throws(() => paramsData(bad, 'deny', NOW), /exceptions\[0\]\.selector\.matchLabels: "a\|b" cannot be written/, 'a separator in a label key is refused, naming the field');
});

t.test('release names: the chart fullname rule', async (t) => {
  t.equal(releaseFullname('tenant-guard'), 'tenant-guard');
  t.equal(releaseFullname('prod'), 'prod-tenant-guard');
  t.equal(releaseFullname('tenant-guard-canary'), 'tenant-guard-canary');
  t.same(
    validatingPolicies().map((p) => p.metadata.name),
    FAMILIES.map((f) => `tenant-guard-${f.family}`),
  );
});

t.test('no compiled rule is lifted by a path (the CEL exceptions do not re-judge paths)', async (t) => {
  t.same(CEL_RULES.filter((r) => PATH_RULES.has(r.id)).map((r) => r.id), []);
});

t.test("every validation fails only in its action's binding; exceptions lift hardening rules only, with the rules they hide", async (t) => {
  for (const p of validatingPolicies()) {
    for (const v of (p.spec as { validations: { expression: string }[] }).validations) t.match(v.expression, / != params\.data\.action$/);
  }
  t.equal(liftedBy('TG-WORKLOAD-GATEWAY-LABEL'), 'false', 'an isolation rule is never lifted');
  t.equal(liftedBy('TG-PEERAUTHN-MESH-STRICT'), 'false');
  t.match(liftedBy('TG-WORKLOAD-HOST-PATH'), /^variables\.enfExceptions\.exists\(/);
  t.match(liftedBy('TG-PEERAUTHN-MODE'), /TG-PEERAUTHN-WEAKEN/, 'a rule that hides another is lifted only with it');
  t.match(actionOf('TG-PEERAUTHN-PORT-MODE'), /TG-PEERAUTHN-WEAKEN/, 'and is never more lenient than it');
});

t.test('tenant-guard vap prints the manifests', async (t) => {
  const r = await run(['vap', '--namespace', 'guard']);
  t.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
  t.same(
    docs.map((d) => d.kind),
    ['ConfigMap', ...FAMILIES.map(() => 'ValidatingAdmissionPolicy'), ...FAMILIES.map(() => 'ValidatingAdmissionPolicyBinding')],
  );
  t.notMatch(r.stdout, /[&*]a\d/, 'no YAML aliases (kubectl reads them, but people do not)');
  const json = await run(['vap', '--only', 'policies', '-o', 'json']);
  t.equal(json.code, 0);
  t.equal((JSON.parse(json.stdout) as { items: unknown[] }).items.length, FAMILIES.length);
  const gone = await run(['vap', '--validation-actions', 'Deny']);
  t.equal(gone.code, 2, 'the bindings follow the config enforcement: no --validation-actions');
  const prod = await run(['vap', '--release', 'prod', '--mutating']);
  t.equal(prod.code, 0, prod.stderr);
  const names = parseAllDocuments(prod.stdout).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);
  t.ok(names.length > 0 && names.every((n) => n.startsWith('prod-tenant-guard-')), `every object named for the release: ${names.join(', ')}`);
  const badRelease = await run(['vap', '--release', 'Prod_1']);
  t.equal(badRelease.code, 2);
  t.match(badRelease.stderr, /--release "Prod_1" is not a valid name/);
  const missing = await run(['vap', '--config', 'no-such-file.yaml']);
  t.equal(missing.code, 2);
  t.notMatch(missing.stderr, /\n\s+at /, 'no stack trace');
});

t.test("the chart's copy of the policies is current (npx tsx test/tools/write-vap-chart.ts)", async (t) => {
  const file = readFileSync(new URL('../../../charts/tenant-guard/files/vap-policies.yaml', import.meta.url), 'utf8');
  t.equal(file, renderChartPolicies());
  const maps = readFileSync(new URL('../../../charts/tenant-guard/files/map-policies.yaml', import.meta.url), 'utf8');
  t.equal(maps, renderChartMutatingPolicies());
});

t.test('--mutating adds the MutatingAdmissionPolicies and their bindings', async (t) => {
  const r = await run(['vap', '--mutating']);
  t.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: any });
  const maps = docs.filter((d) => d.kind === 'MutatingAdmissionPolicy');
  t.same(
    maps.map((m) => m.metadata.name),
    ['tenant-guard-tenant-label', 'tenant-guard-sidecar-injection'],
  );
  for (const m of maps) {
    t.equal(m.spec.failurePolicy, 'Fail');
    t.equal(m.spec.reinvocationPolicy, 'IfNeeded');
    t.match(m.spec.matchConditions[0].expression, /platformControllerUsers/, 'platform controllers are never mutated');
    for (const mu of m.spec.mutations) t.equal(mu.patchType, 'JSONPatch');
  }
  t.equal(docs.filter((d) => d.kind === 'MutatingAdmissionPolicyBinding').length, 2);
  const plain = await run(['vap']);
  t.notMatch(plain.stdout, /MutatingAdmissionPolicy/, 'not without --mutating (older API servers do not serve them)');
});
