import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import t from 'tap';
import { check, checkJson, EXAMPLE_CONFIG, NAMESPACES, REPO } from './check-harness.js';

const cm = (name: string, ns?: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}\ndata: {k: v}\n`;

// What `helm template` prints: "# Source:" comments, documents holding only
// comments (a template whose condition was false), kinds no rule looks at.
const HELM_STREAM = `---
# Source: app/templates/configmap.yaml
${cm('app-config')}---
# Source: app/templates/disabled.yaml
# (rendered empty)
---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: app
  labels: {app.kubernetes.io/name: app}
spec:
  ports: [{port: 80, targetPort: 8080}]
  selector: {app: app}
---
# Source: app/crds/widgets.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
---
`;

t.test('helm template output on stdin passes; kinds no rule looks at are not intercepted', async (t) => {
  const { code, report } = await checkJson(['-f', '-', '-n', 'apps'], { stdin: HELM_STREAM });
  t.equal(code, 0);
  t.same(
    report.results.map((r) => [r.kind, r.namespace, r.name, r.operation, r.allowed, r.intercepted]),
    [
      ['ConfigMap', 'apps', 'app-config', 'CREATE', true, false],
      // Services are judged (ExternalName, externalIPs: src/engine/service-aliases.ts); a plain one is admitted.
      ['Service', 'apps', 'app', 'CREATE', true, true],
      ['CustomResourceDefinition', '', 'widgets.example.com', 'CREATE', true, false],
    ],
  );
  t.notOk('matrix' in report, 'no matrix unless asked');
  const text = await check(['-f', '-', '-n', 'apps'], { stdin: HELM_STREAM });
  t.equal(text.code, 0);
  t.match(text.stdout, /^PASSED \(not intercepted\) ConfigMap apps\/app-config \(CREATE\)$/m);
  t.match(text.stdout, /^PASSED \(not intercepted\) CustomResourceDefinition widgets\.example\.com \(CREATE\)$/m);
  t.match(text.stdout, /^ALLOWED Service apps\/app \(CREATE\)$/m);
  t.match(text.stdout, /^3 objects: 1 allowed, 0 denied, 2 passed \(not intercepted\), 0 with warnings\n$/m);
  t.equal(text.stderr, '');
});

t.test('JSON result entries carry exactly the contract fields', async (t) => {
  const { report } = await checkJson(['-f', '-'], { stdin: cm('x') });
  t.same(Object.keys(report), ['results']);
  t.same(Object.keys(report.results[0]!).sort(), ['allowed', 'apiVersion', 'intercepted', 'kind', 'name', 'namespace', 'operation', 'patch', 'violations', 'warnings']);
  t.equal(report.results[0]!.namespace, 'default', 'namespaced objects without a namespace land in "default"');
});

t.test('objects are submitted against --state plus what the run already admitted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-'));
  writeFileSync(join(dir, 'state.yaml'), cm('existing', 'apps'));
  writeFileSync(join(dir, 'run.yaml'), [cm('existing', 'apps'), cm('fresh', 'apps'), cm('fresh', 'apps'), cm('fresh', 'other')].join('---\n'));
  const { report } = await checkJson(['--state', 'state.yaml', '-f', 'run.yaml'], { cwd: dir });
  t.same(
    report.results.map((r) => `${r.namespace}/${r.name} ${r.operation}`),
    ['apps/existing UPDATE', 'apps/fresh CREATE', 'apps/fresh UPDATE', 'other/fresh CREATE'],
  );
});

t.test('--operation DELETE deletes; admitted deletes leave the state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-'));
  writeFileSync(join(dir, 'cm.yaml'), cm('gone', 'apps'));
  const del = await checkJson(['--state', 'cm.yaml', '--operation', 'delete', '-f', 'cm.yaml', '-f', 'cm.yaml'], { cwd: dir });
  t.same(del.report.results.map((r) => [r.operation, r.allowed]), [['DELETE', true], ['DELETE', true]], 'operation is case-insensitive');
  const text = await check(['--operation', 'DELETE', '-f', 'cm.yaml'], { cwd: dir });
  t.match(text.stdout, /^PASSED \(not intercepted\) ConfigMap apps\/gone \(DELETE\)$/m);
});

t.test('--operation UPDATE needs the old object in --state', async (t) => {
  const r = await check(['--operation', 'UPDATE', '-f', '-'], { stdin: cm('nope', 'apps') });
  t.equal(r.code, 2);
  t.match(r.stderr, /^TG_ERR_INPUT_INVALID: <stdin> document 1 \(line 1\): --operation UPDATE needs the current ConfigMap apps\/nope in --state/);
});

t.test('cluster-scoped kinds ignore -n and any namespace they carry', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-x, namespace: bogus}\n';
  const cdc = 'apiVersion: networking.internal.knative.dev/v1alpha1\nkind: ClusterDomainClaim\nmetadata: {name: a.example.com}\nspec: {namespace: tenant-1}\n';
  const { report } = await checkJson(['-n', 'apps', '-f', '-'], { stdin: `${ns}---\n${cdc}` });
  t.same(report.results.map((r) => r.namespace), ['', '']);
});

t.test('usage errors: exit 2, one line naming the problem, never a stack trace', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /^TG_ERR_USAGE: missing -f/],
    [['-f', NAMESPACES, '--bogus'], /^TG_ERR_USAGE: Unknown option '--bogus'/],
    [['-f'], /^TG_ERR_USAGE: Option '-f, --filename <value>' argument missing/],
    [['-f', NAMESPACES, 'extra'], /^TG_ERR_USAGE: Unexpected argument 'extra'/],
    [['-f', NAMESPACES, '-o', 'xml'], /^TG_ERR_USAGE: -o must be one of text, json, yaml, not "xml"/],
    [['-f', NAMESPACES, '--operation', 'PATCH'], /^TG_ERR_USAGE: --operation must be one of CREATE, UPDATE, DELETE/],
    [['-f', NAMESPACES, '-n', 'Not_A_Namespace'], /^TG_ERR_USAGE: -n "Not_A_Namespace" is not a valid namespace name/],
    [['-f', NAMESPACES, '--as-group', 'tenant-1-admins'], /^TG_ERR_USAGE: --as-group needs --as/],
    [['-f', 'no/such/dir'], /^TG_ERR_INPUT_READ: no\/such\/dir: no such file or directory/],
    [['-f', '-', '--state', '-'], /^TG_ERR_USAGE: stdin \(-\) can be given only once/],
  ];
  for (const [args, message] of cases) {
    const r = await check(args, { stdin: cm('x') });
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, message, args.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.equal(r.stdout, '', 'nothing on stdout');
  }
});

t.test('input errors name file and document', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-'));
  writeFileSync(join(dir, 'malformed.yaml'), `${cm('ok')}---\nmetadata: {name: [\n`);
  writeFileSync(join(dir, 'nokind.yaml'), `${cm('ok')}---\n${cm('ok2')}---\napiVersion: v1\nmetadata: {name: x}\n`);
  writeFileSync(join(dir, 'noname.yaml'), 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {namespace: tenant-1}\nspec: {mtls: {mode: STRICT}}\n');
  writeFileSync(join(dir, 'empty.yaml'), '# nothing here\n---\n');
  const cases: [string, RegExp][] = [
    ['malformed.yaml', /^TG_ERR_INPUT_PARSE: malformed\.yaml document 2 \(line \d+, column \d+\): /],
    ['nokind.yaml', /^TG_ERR_INPUT_INVALID: nokind\.yaml document 3 \(line 11\): has no "kind"/],
    ['noname.yaml', /^TG_ERR_INPUT_INVALID: noname\.yaml document 1 \(line 1\): PeerAuthentication has no metadata\.name/],
    ['empty.yaml', /^TG_ERR_INPUT_INVALID: no Kubernetes objects found in empty\.yaml/],
  ];
  for (const [file, message] of cases) {
    const r = await check(['-f', file], { cwd: dir });
    t.equal(r.code, 2, `${file} exits 2`);
    t.match(r.stderr, message);
    t.notMatch(r.stderr, /\n\s+at /);
  }
  const inState = await check(['--state', 'nokind.yaml', '-f', 'empty.yaml'], { cwd: dir });
  t.match(inState.stderr, /nokind\.yaml document 3/, '--state inputs are validated too');
});

t.test('config errors: exit 2 naming the file and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-'));
  writeFileSync(join(dir, 'bad-config.yaml'), 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ndrainPorts: 8022\n');
  const r = await check(['--config', 'bad-config.yaml', '-f', '-'], { cwd: dir, stdin: cm('x') });
  t.equal(r.code, 2);
  t.match(r.stderr, /^TG_ERR_CONFIG_INVALID: .*bad-config\.yaml: drainPorts: must be array\n$/);
  const missing = await check(['--config', 'absent.yaml', '-f', '-'], { cwd: dir, stdin: cm('x') });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /^TG_ERR_CONFIG_READ: .*absent\.yaml: cannot read: no such file or directory/);
});

t.test('a custom --config is used for tenancy decisions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-check-'));
  writeFileSync(join(dir, 'config.yaml'), 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenants: [{name: solo, admins: {users: [carol]}, namespaces: [solo]}]\n');
  const r = await check(['--config', 'config.yaml', '--as', 'carol', '-f', '-'], { cwd: dir, stdin: cm('x', 'solo') });
  t.equal(r.code, 0, r.stderr);
});

t.test('--help prints the contract and exits 0', async (t) => {
  const r = await check(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /tenant-guard check --config FILE -f PATH\.\.\. \[--state PATH\.\.\.\]/);
  t.match(r.stdout, /kubernetes-admin in system:masters/);
});

t.test('--matrix: a failure of the reachability model is exit 2 with a message, and no half report', async (t) => {
  const { runCheck } = await t.mockImport<typeof import('../../../src/cli/check.js')>('../../../src/cli/check.js', {
    '../../../src/mesh/matrix.js': {
      computeMatrix: () => {
        throw new Error('policy x is unreadable');
      },
      formatMatrixText: () => '',
      openCrossTenantCells: () => [],
    },
  });
  for (const output of ['text', 'json']) {
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: REPO };
    let out = '';
    let err = '';
    io.stdout.on('data', (d: Buffer) => (out += d.toString()));
    io.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await runCheck([...EXAMPLE_CONFIG, '--matrix', '-o', output, '-f', NAMESPACES], io);
    t.equal(code, 2, output);
    t.equal(err, 'TG_ERR_ENGINE: cannot compute the reachability matrix: policy x is unreadable\n');
    t.equal(out, '', 'nothing on stdout');
  }
});
