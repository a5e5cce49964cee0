// One rejection per kind family, through `check` as a user would run it:
// exit 1 and the rule id in the JSON output.
import t from 'tap';
import { ALICE, check, checkJson, NAMESPACES, ruleIds } from './check-harness.js';

const KIND_CONFIG = 'test/fixtures/reference/kind/config';
const STATE = ['--state', NAMESPACES, '--state', KIND_CONFIG];

const KSVC_OPT_OUT = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: no-mesh, namespace: tenant-1}
spec:
  template:
    metadata:
      annotations: {sidecar.istio.io/inject: "false"}
    spec:
      containers: [{image: ghcr.io/knative/helloworld-go:latest}]
`;

const PERMISSIVE = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tenant-1}
spec:
  mtls: {mode: PERMISSIVE}
`;

const FOREIGN_SOURCE = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: let-tenant-2-in, namespace: tenant-1}
spec:
  action: ALLOW
  rules:
    - from: [{source: {namespaces: [tenant-2]}}]
`;

// Harmless content (STRICT), wrong place: only the namespace makes it a violation.
const INTO_SYSTEM = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: tenant-1-override, namespace: knative-serving}
spec:
  selector: {matchLabels: {app: activator}}
  mtls: {mode: STRICT}
`;

t.test('Knative Service opting out of the sidecar is denied', async (t) => {
  const { code, report } = await checkJson([...STATE, ...ALICE, '-f', '-'], { stdin: KSVC_OPT_OUT });
  t.equal(code, 1);
  t.ok(ruleIds(report).includes('TG-WORKLOAD-INJECT-OPTOUT'), `rules: ${ruleIds(report).join(', ')}`);
});

t.test('PeerAuthentication PERMISSIVE in a tenant namespace is denied', async (t) => {
  const { code, report } = await checkJson([...STATE, ...ALICE, '-f', '-'], { stdin: PERMISSIVE });
  t.equal(code, 1);
  t.equal(report.results[0]!.operation, 'UPDATE', 'tenant-1/default exists in the state: an update');
  t.ok(ruleIds(report).includes('TG-PEERAUTHN-MODE'), `rules: ${ruleIds(report).join(', ')}`);
});

t.test('AuthorizationPolicy letting another tenant in is denied', async (t) => {
  const { code, report } = await checkJson([...STATE, ...ALICE, '-f', '-'], { stdin: FOREIGN_SOURCE });
  t.equal(code, 1);
  // TG-AUTHZ-OPENS-PATH when the model sees the new path open, TG-AUTHZ-FOREIGN-SOURCE for the rule on its own.
  t.ok(ruleIds(report).some((id) => id === 'TG-AUTHZ-OPENS-PATH' || id === 'TG-AUTHZ-FOREIGN-SOURCE'), `rules: ${ruleIds(report).join(', ')}`);
  t.match(report.results[0]!.violations[0]!.message, /tenant-2/, 'the message names the foreign tenant');
});

t.test("deleting a tenant's last ALLOW policy is denied", async (t) => {
  const { code, report } = await checkJson([
    ...STATE,
    ...ALICE,
    '--operation',
    'DELETE',
    '-f',
    `${KIND_CONFIG}/authentication-policy-tenant-1.yaml`,
  ]);
  t.equal(code, 1);
  t.equal(report.results[0]!.operation, 'DELETE');
  t.ok(ruleIds(report).includes('TG-AUTHZ-LAST-ALLOW'), `rules: ${ruleIds(report).join(', ')}`);
});

t.test('a tenant writing into a system namespace is denied, and the denied object does not join the state', async (t) => {
  const { code, report } = await checkJson([...STATE, ...ALICE, '-f', '-', '-f', KIND_CONFIG], { stdin: INTO_SYSTEM + '---\n' + INTO_SYSTEM });
  t.equal(code, 1);
  const [first, second] = report.results;
  t.equal(first!.allowed, false);
  t.same(first!.violations.map((v) => v.rule), ['TG-SYSTEM-NAMESPACE-WRITE']);
  t.equal(first!.patch.length, 0, 'a denied request carries no patch');
  t.equal(second!.operation, 'CREATE', 'the denied object was not added to the state');

  const text = await check([...STATE, ...ALICE, '-f', '-'], { stdin: INTO_SYSTEM });
  t.equal(text.code, 1);
  t.match(text.stdout, /^DENIED PeerAuthentication knative-serving\/tenant-1-override \(CREATE\)\n {2}TG-SYSTEM-NAMESPACE-WRITE metadata\.namespace: alice .*"knative-serving"/m);
  t.match(text.stdout, /^1 object: 0 allowed, 1 denied, 0 passed \(not intercepted\), 0 with warnings$/m);
});

t.test('the same policy is admitted for the platform admin (default identity)', async (t) => {
  const { code, report } = await checkJson([...STATE, '-f', '-'], { stdin: INTO_SYSTEM });
  t.equal(code, 0, ruleIds(report).join(', '));
});
