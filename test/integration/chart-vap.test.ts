// The chart's ValidatingAdmissionPolicies (templates/validating-admission-policies.yaml),
// rendered by real helm: present only where the API server serves the kind,
// the policies exactly as `tenant-guard vap` generates them, the params
// ConfigMap equal to what the generator derives from the same tenancy config,
// and one binding per policy pointing at it.
import t from 'tap';
import { parse } from 'yaml';
import { parseTenancyConfigText } from '../../src/config/load.js';
import { mutatingPolicies } from '../../src/vap/mutating.js';
import { naming, paramsData, validatingPolicies } from '../../src/vap/policies.js';
import { FAMILIES } from '../../src/vap/rules.js';
import { CHART, FULLNAME, KUBE_VERSION, NAMESPACE, find, helm, parseDocs, render, template, type KubeDoc } from './chart-helm.js';

const SERVED = ['--api-versions', 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'];
const kinds = (docs: KubeDoc[], kind: string) => docs.filter((d) => d.kind === kind);

t.test('not rendered where the API server does not serve ValidatingAdmissionPolicy, or when disabled', async (t) => {
  t.equal(kinds(render(), 'ValidatingAdmissionPolicy').length, 0, 'offline render without the API version: nothing');
  t.equal(kinds(render([...SERVED, '--set', 'vap.enabled=false']), 'ValidatingAdmissionPolicy').length, 0, 'vap.enabled=false');
  t.equal(kinds(render([...SERVED, '--set', 'vap.enabled=false']), 'ValidatingAdmissionPolicyBinding').length, 0);
});

t.test('where served: the generated policies, one binding each, the params from the tenancy values', async (t) => {
  const values = ['--set', 'tenancy.tenants[0].name=tenant-1', '--set', 'tenancy.tenants[0].namespaces[0]=tenant-1', '--set', 'tenancy.tenants[0].namespaces[1]=a-1'];
  const docs = render([...SERVED, ...values]);
  const policies = kinds(docs, 'ValidatingAdmissionPolicy');
  const generated = validatingPolicies(naming('tg'));
  t.same(
    policies.map((p) => p.metadata.name),
    generated.map((p) => p.metadata.name),
  );
  for (const p of policies) {
    const g = generated.find((x) => x.metadata.name === p.metadata.name)!;
    t.same(p.spec, g.spec, `${p.metadata.name}: spec exactly as generated`);
    t.equal(p.metadata.labels?.['app.kubernetes.io/part-of'], 'tenant-guard');
    t.ok(p.metadata.labels?.['helm.sh/chart'], `${p.metadata.name}: the chart's labels`);
  }
  const params = find(docs, 'ConfigMap', `${FULLNAME}-vap-params`);
  t.equal(params.metadata.namespace, NAMESPACE);
  const serverConfig = find(docs, 'ConfigMap', `${FULLNAME}-config`);
  const config = parseTenancyConfigText((serverConfig as any).data['tenancy.yaml'], 'rendered');
  t.same(params.data, paramsData(config), "params equal the generator's from the config the server reads (its service account among the controllers)");
  t.match(params.data.platformControllerUsers, `system:serviceaccount:${NAMESPACE}:${FULLNAME}`);
  t.equal(params.data.tenantNamespaces, 'a-1\ntenant-1');
  const bindings = kinds(docs, 'ValidatingAdmissionPolicyBinding');
  t.equal(bindings.length, policies.length);
  for (const b of bindings) {
    t.ok(policies.some((p) => p.metadata.name === b.spec.policyName), `${b.metadata.name} binds a rendered policy`);
    t.same(b.spec.paramRef, { name: `${FULLNAME}-vap-params`, namespace: NAMESPACE, parameterNotFoundAction: 'Deny' });
    t.same(b.spec.validationActions, ['Deny']);
  }
});

t.test("shared hops' labels join the gateway's selector in the params (TG-WORKLOAD-GATEWAY-LABEL)", async (t) => {
  const values = [
    '--set', 'tenancy.sharedHops[0].name=ext', '--set', 'tenancy.sharedHops[0].namespace=istio-system',
    '--set', 'tenancy.sharedHops[0].labels.app=ext-gw', '--set', 'tenancy.sharedHops[0].labels.istio=external',
    '--set', 'tenancy.sharedHops[0].serviceAccount=ext-gw', '--set-string', 'tenancy.sharedHops[0].ports[0]=8080',
  ];
  const docs = render([...SERVED, ...values]);
  const params = find(docs, 'ConfigMap', `${FULLNAME}-vap-params`);
  const config = parseTenancyConfigText((find(docs, 'ConfigMap', `${FULLNAME}-config`) as any).data['tenancy.yaml'], 'rendered');
  t.equal(params.data.gatewaySelector, 'app=istio-ingressgateway,istio=ingressgateway\napp=ext-gw,istio=external');
  t.same(params.data, paramsData(config), "equal to the generator's");
});

t.test('the bindings follow tenancy.enforcement; exceptions not expired go into the params', async (t) => {
  const values = [
    '--set', 'tenancy.tenants[0].name=tenant-1', '--set', 'tenancy.tenants[0].namespaces[0]=tenant-1',
    '--set', 'tenancy.enforcement.action=audit',
    '--set', 'tenancy.enforcement.overrides[0].rules[0]=TG-WORKLOAD-*', '--set', 'tenancy.enforcement.overrides[0].tenants[0]=tenant-1', '--set', 'tenancy.enforcement.overrides[0].action=warn',
    '--set', 'tenancy.enforcement.overrides[1].rules[0]=TG-WORKLOAD-HOST-PATH', '--set', 'tenancy.enforcement.overrides[1].rules[1]=TG-DESTRULE-TLS-MODE',
    '--set', 'tenancy.enforcement.overrides[1].namespaces[0]=tenant-1', '--set', 'tenancy.enforcement.overrides[1].action=deny',
    '--set', 'tenancy.exceptions[0].rules[0]=TG-WORKLOAD-HOST-PATH', '--set', 'tenancy.exceptions[0].namespaces[0]=tenant-1', '--set', 'tenancy.exceptions[0].kinds[0]=apps/Deployment',
    '--set', 'tenancy.exceptions[0].names[0]=agent', '--set', 'tenancy.exceptions[0].reason=r', '--set-string', 'tenancy.exceptions[0].expires=2099-12-31',
    '--set', 'tenancy.exceptions[1].rules[0]=TG-WORKLOAD-*', '--set', 'tenancy.exceptions[1].tenants[0]=tenant-1', '--set', 'tenancy.exceptions[1].reason=r',
    '--set-string', 'tenancy.exceptions[1].expires=2099-01-01T10:00:00+02:00',
    '--set-string', 'tenancy.exceptions[1].selector.matchLabels.b=', '--set', 'tenancy.exceptions[1].selector.matchLabels.a=x',
    '--set', 'tenancy.exceptions[1].selector.matchExpressions[0].key=c', '--set', 'tenancy.exceptions[1].selector.matchExpressions[0].operator=In',
    '--set-string', 'tenancy.exceptions[1].selector.matchExpressions[0].values={1,2}',
    '--set', 'tenancy.exceptions[1].selector.matchExpressions[1].key=e', '--set', 'tenancy.exceptions[1].selector.matchExpressions[1].operator=Exists',
    '--set', 'tenancy.exceptions[2].rules[0]=TG-WORKLOAD-*', '--set', 'tenancy.exceptions[2].tenants[0]=tenant-1', '--set', 'tenancy.exceptions[2].reason=expired', '--set-string', 'tenancy.exceptions[2].expires=2020-01-01',
    '--set', 'tenancy.exceptions[3].rules[0]=TG-WORKLOAD-*', '--set', 'tenancy.exceptions[3].tenants[0]=tenant-1', '--set', 'tenancy.exceptions[3].reason=expired', '--set-string', 'tenancy.exceptions[3].expires=2020-01-01T00:00:00Z',
    '--set', 'tenancy.baseline.gatewayPolicy.selector.istio=gw',
  ];
  const docs = render([...SERVED, ...values]);
  const serverConfig = find(docs, 'ConfigMap', `${FULLNAME}-config`);
  const config = parseTenancyConfigText((serverConfig as any).data['tenancy.yaml'], 'rendered');
  for (const action of ['deny', 'warn', 'audit'] as const) {
    const name = action === 'deny' ? `${FULLNAME}-vap-params` : `${FULLNAME}-vap-params-${action}`;
    t.same(find(docs, 'ConfigMap', name).data, paramsData(config, action), `${name}: equal to the generator's`);
  }
  t.match(find(docs, 'ConfigMap', `${FULLNAME}-vap-params`).data.exceptions, /^TG-WORKLOAD-HOST-PATH\|\|tenant-1\|apps\/Deployment\|agent\|\nTG-WORKLOAD-\*\|tenant-1\|\|\|\|In:a:x;In:b:;In:c:1,2;Exists:e$/, 'the two live exceptions, the expired ones left out');
  const bindings = kinds(docs, 'ValidatingAdmissionPolicyBinding');
  t.equal(bindings.length, 3 * FAMILIES.length, 'deny, warn and audit are in use: three bindings a policy');
  const b = (name: string) => bindings.find((x) => x.metadata.name === name)!;
  t.same(b(`${FULLNAME}-workloads`).spec.validationActions, ['Deny']);
  t.same(b(`${FULLNAME}-workloads-warn`).spec.validationActions, ['Warn', 'Audit']);
  t.equal(b(`${FULLNAME}-workloads-warn`).spec.paramRef.name, `${FULLNAME}-vap-params-warn`);
  t.same(b(`${FULLNAME}-destination-rule-audit`).spec.validationActions, ['Audit']);
  t.equal(b(`${FULLNAME}-destination-rule-audit`).spec.policyName, `${FULLNAME}-destination-rule`);

  const warnOnly = render([...SERVED, '--set', 'tenancy.enforcement.action=warn']);
  t.same(
    kinds(warnOnly, 'ValidatingAdmissionPolicyBinding').map((x) => [x.metadata.name, x.spec.validationActions]),
    FAMILIES.map((f) => [`${FULLNAME}-${f.family}-warn`, ['Warn', 'Audit']]),
    'warn everywhere: only warn bindings',
  );
  t.same(
    kinds(warnOnly, 'ConfigMap').filter((c) => c.metadata.name.includes('vap-params')).map((c) => c.metadata.name),
    [`${FULLNAME}-vap-params`, `${FULLNAME}-vap-params-warn`],
  );
  const sep = template([...SERVED, ...values.slice(0, 4), '--set', 'tenancy.exceptions[0].rules[0]=TG-WORKLOAD-HOST-PATH', '--set', 'tenancy.exceptions[0].namespaces[0]=tenant-1', '--set', 'tenancy.exceptions[0].reason=r', '--set-string', 'tenancy.exceptions[0].expires=2099-12-31', '--set', 'tenancy.exceptions[0].names[0]=a:b']);
  t.not(sep.status, 0, 'a separator in an exception name is refused');
  t.match(sep.stderr, /tenancy.exceptions\[0\].names: "a:b" cannot be written/);
  const removed = template([...SERVED, '--set', 'vap.validationActions={Warn}']);
  t.not(removed.status, 0, 'vap.validationActions is gone (the bindings follow tenancy.enforcement)');
});

t.test('two releases do not collide: every object is named for its release', async (t) => {
  const names = (release: string) =>
    parseDocs(helm(['template', release, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...SERVED, '--api-versions', 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy']).stdout)
      .filter((d) => d.kind.includes('AdmissionPolicy') || d.metadata.name.includes('vap-params'))
      .map((d) => `${d.kind}/${d.metadata.name}`);
  const a = names('tg');
  const b = names('other');
  t.ok(a.length > 0);
  t.same(a.filter((n) => b.includes(n)), [], 'no name in common');
  t.ok(b.every((n) => n.split('/')[1]!.startsWith('other-tenant-guard-')), b.join(', '));
});

t.test('the rendered YAML is plain (no anchors) and parses as the API objects', async (t) => {
  const r = template(SERVED);
  t.equal(r.status, 0, r.stderr);
  t.notMatch(r.stdout, /&[a-z]\w* |\*[a-z]\w*\n/, 'no YAML aliases');
  for (const doc of r.stdout.split(/^---$/m)) parse(doc);
});

t.test('MutatingAdmissionPolicies only where served (Kubernetes 1.36+) and vap.mutating', async (t) => {
  t.equal(kinds(render(SERVED), 'MutatingAdmissionPolicy').length, 0, 'not served: none');
  const MAP = [...SERVED, '--api-versions', 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy'];
  const docs = render(MAP);
  const maps = kinds(docs, 'MutatingAdmissionPolicy');
  t.same(
    maps.map((m) => m.spec),
    mutatingPolicies().map((m) => m.spec),
    'exactly as generated',
  );
  const bindings = kinds(docs, 'MutatingAdmissionPolicyBinding');
  t.same(
    bindings.map((b) => b.spec.policyName),
    maps.map((m) => m.metadata.name),
  );
  for (const b of bindings) t.same(b.spec.paramRef, { name: `${FULLNAME}-vap-params`, namespace: NAMESPACE, parameterNotFoundAction: 'Deny' });
  t.same(maps.map((m) => m.metadata.name), [`${FULLNAME}-tenant-label`, `${FULLNAME}-sidecar-injection`]);
  t.equal(kinds(render([...MAP, '--set', 'vap.mutating=false']), 'MutatingAdmissionPolicy').length, 0, 'vap.mutating=false');
  t.equal(kinds(render([...MAP, '--set', 'vap.enabled=false']), 'MutatingAdmissionPolicy').length, 0, 'vap.enabled=false');
});
