// The chart's ValidatingAdmissionPolicies (templates/validating-admission-policies.yaml),
// rendered by real helm: present only where the API server serves the kind,
// the policies exactly as `tenant-guard vap` generates them, the params
// ConfigMap equal to what the generator derives from the same tenancy config,
// and one binding per policy pointing at it.
import t from 'tap';
import { parse } from 'yaml';
import { parseTenancyConfigText } from '../../src/config/load.js';
import { mutatingPolicies } from '../../src/vap/mutating.js';
import { paramsData, validatingPolicies } from '../../src/vap/policies.js';
import { FULLNAME, NAMESPACE, find, render, template, type KubeDoc } from './chart-helm.js';

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
  const generated = validatingPolicies();
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

t.test('vap.validationActions', async (t) => {
  const docs = render([...SERVED, '--set', 'vap.validationActions={Warn,Audit}']);
  for (const b of kinds(docs, 'ValidatingAdmissionPolicyBinding')) t.same(b.spec.validationActions, ['Warn', 'Audit']);
  const both = template([...SERVED, '--set', 'vap.validationActions={Deny,Warn}']);
  t.not(both.status, 0);
  t.match(both.stderr, /Deny and Warn do not go together/);
  const bad = template([...SERVED, '--set', 'vap.validationActions={Block}']);
  t.not(bad.status, 0, 'the schema refuses an unknown action');
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
  t.equal(kinds(render([...MAP, '--set', 'vap.mutating=false']), 'MutatingAdmissionPolicy').length, 0, 'vap.mutating=false');
  t.equal(kinds(render([...MAP, '--set', 'vap.enabled=false']), 'MutatingAdmissionPolicy').length, 0, 'vap.enabled=false');
});
