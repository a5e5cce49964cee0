// Issue 21: the CLI conventions of kyverno/gator. Structured warnings,
// --fail-on-warnings, -q, -o yaml, --report (PolicyReport), `test` suites,
// shell completion, one-line usage errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { main } from '../../../src/cli/main.js';
import { structuredWarning } from '../../../src/reports/warnings.js';
import { fakeIO } from '../server/fake-io.js';
import { check, checkJson, NAMESPACES, REPO } from './check-harness.js';

// A platform controller's opt-out is never blocked: it is admitted with a warning naming rule and field.
const CONTROLLER = ['--as', 'system:serviceaccount:knative-serving:controller', '--as-group', 'system:serviceaccounts:knative-serving'];
const OPT_OUT = 'examples/bad-service.yaml';

t.test('warnings in -o json are structured: rule, path, message', async (t) => {
  const r = await checkJson([...CONTROLLER, '--state', NAMESPACES, '-f', OPT_OUT]);
  t.equal(r.code, 0);
  const w = r.report.results[0]!.warnings;
  t.ok(w.length > 0);
  t.match(w[0], { rule: 'TG-WORKLOAD-INJECT-OPTOUT', path: 'spec.template.metadata.annotations["sidecar.istio.io/inject"]', message: /^\(not enforced[^)]*\) sidecar\.istio\.io\/inject/ });
  t.same(structuredWarning('Namespace "x" joins tenant a: restart the pods.'), { rule: null, path: '', message: 'Namespace "x" joins tenant a: restart the pods.' }, 'a notice of no rule: rule null');
  t.same(structuredWarning('TG-AUTHZ-DRAIN-OPEN: ns/p spec.rules[0] admits'), { rule: 'TG-AUTHZ-DRAIN-OPEN', path: '', message: 'ns/p spec.rules[0] admits' });
});

t.test('--fail-on-warnings: a warning fails the run (exit 1)', async (t) => {
  const args = [...CONTROLLER, '--state', NAMESPACES, '-f', OPT_OUT];
  t.equal((await check(args)).code, 0);
  t.equal((await check([...args, '--fail-on-warnings'])).code, 1);
  t.equal((await check(['-f', NAMESPACES, '--fail-on-warnings'])).code, 0, 'no warning: still 0');
});

t.test('-q prints refusals only; -o yaml is the json document', async (t) => {
  const args = ['--as', 'alice', '--as-group', 'tenant-1-admins', '--state', NAMESPACES, '-f', 'examples/tests/tenant-1/services.yaml', '-f', OPT_OUT];
  const quiet = await check([...args, '-q']);
  t.equal(quiet.code, 1);
  t.same(quiet.stdout.split('\n').filter((l) => !l.startsWith('  ')), ['DENIED Service tenant-2/hello (CREATE)', 'DENIED Service tenant-1/bad (CREATE)', '']);
  const json = await checkJson(args);
  const yaml = await check([...args, '-o', 'yaml']);
  t.same(parse(yaml.stdout), json.report);
  const quietJson = await checkJson([...args, '-q']);
  t.same(quietJson.report.results.map((r) => r.name), ['hello', 'bad']);
  t.ok(quietJson.report.results.every((r) => !r.allowed));
});

t.test('--report FILE writes PolicyReports like kyverno apply -p', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-report-'));
  const file = join(dir, 'report.yaml');
  const r = await check(['--as', 'alice', '--as-group', 'tenant-1-admins', '--state', NAMESPACES, '-f', 'examples/tests/tenant-1/services.yaml', '-f', OPT_OUT, '--report', file]);
  t.equal(r.code, 1);
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
  t.same(docs.map((d) => [d.apiVersion, d.kind, d.metadata.namespace ?? null]), [
    ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'tenant-1'],
    ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'tenant-2'],
    ['wgpolicyk8s.io/v1alpha2', 'ClusterPolicyReport', null],
  ]);
  t.same(docs[0].summary, { pass: 1, fail: 1, warn: 2, error: 0, skip: 0 }, 'tenant-1: bad fails, the ConfigMap passes, hello is patched (a warning for the SETUID drop, and the mutation)');
  t.ok(docs[0].results.some((r: { rule: string; result: string }) => r.rule === 'TG-WORKLOAD-SETUID' && r.result === 'warn'));
  t.match(docs[0].results[0], { policy: 'tenant-guard', rule: 'TG-WORKLOAD-INJECT-OPTOUT', result: 'fail', resources: [{ kind: 'Service', name: 'bad', namespace: 'tenant-1' }], properties: { judgedAs: 'alice' } });
  t.match(docs[1].results[0], { rule: 'TG-TENANT-FOREIGN-NAMESPACE', result: 'fail' });
});

t.test('tenant-guard test DIR: expected verdicts and rule ids; exit 1 on a mismatch', async (t) => {
  const ok = fakeIO(REPO);
  t.equal(await main(['test', 'examples/tests'], ok), 0, ok.out() + ok.err());
  t.match(ok.out(), /1 test file, 4 results: 4 passed, 0 failed\n$/);

  const dir = mkdtempSync(join(tmpdir(), 'tg-suite-'));
  cpSync(join(REPO, 'examples'), join(dir, 'examples'), { recursive: true });
  cpSync(join(REPO, 'test/fixtures/namespaces.yaml'), join(dir, 'test/fixtures/namespaces.yaml'));
  const file = join(dir, 'examples/tests/tenant-1/tenant-guard-test.yaml');
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('name: hello, result: allowed, rules: [TG-WORKLOAD-SETUID]}', 'name: hello, result: denied}').replace('rules: [TG-WORKLOAD-INJECT-OPTOUT]', 'rules: [TG-WORKLOAD-HOST-PATH]') + '  - {kind: Service, namespace: tenant-1, name: absent, result: allowed}\n');
  const bad = fakeIO(dir);
  t.equal(await main(['test', 'examples/tests', '-q'], bad), 1);
  t.equal(
    bad.out(),
    'examples/tests/tenant-1/tenant-guard-test.yaml (tenant-1 services):\n' +
      '  FAIL Service tenant-1/hello: expected denied, got allowed [TG-WORKLOAD-SETUID]\n' +
      '  FAIL Service tenant-1/bad: denied, expected rules [TG-WORKLOAD-HOST-PATH], got [TG-WORKLOAD-INJECT-OPTOUT]\n' +
      '  FAIL Service tenant-1/absent: not among the resources\n' +
      '1 test file, 5 results: 2 passed, 3 failed\n',
  );
  writeFileSync(file, text.replace('result: passed', 'result: maybe'));
  const invalid = fakeIO(dir);
  t.equal(await main(['test', 'examples/tests'], invalid), 2);
  t.match(invalid.err(), /^TG_ERR_INPUT_INVALID: .*tenant-guard-test\.yaml: results\.2\.result: must be equal to one of the allowed values\n$/);
  const none = fakeIO(dir);
  t.equal(await main(['test'], none), 2);
  t.equal(none.err(), "TG_ERR_USAGE: missing DIR: name a directory holding tenant-guard-test.yaml files\nsee 'tenant-guard test --help'\n");
});

t.test('completion bash|zsh: every command and its flags; bash accepts the script', async (t) => {
  const io = fakeIO(REPO);
  t.equal(await main(['completion', 'bash'], io), 0);
  const script = io.out();
  t.match(script, /complete -o default -F _tenant_guard tenant-guard/);
  t.match(script, /check\) flags="[^"]*--fail-on-warnings[^"]*--strict-open-window/);
  t.match(script, /audit\) flags="[^"]*--export-state/);
  t.match(script, /serve\) flags="[^"]*--metrics-port/);
  const syntax = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  t.equal(syntax.status, 0, syntax.stderr);
  const words = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(tenant-guard check --fail); COMP_CWORD=2; _tenant_guard; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  t.equal(words.stdout.trim(), '--fail-on-warnings', 'bash completes a check flag');
  const z = fakeIO(REPO);
  t.equal(await main(['completion', 'zsh'], z), 0);
  t.match(z.out(), /^#compdef tenant-guard\n/);
  t.match(z.out(), /'test:run test suites/);
  const bad = fakeIO(REPO);
  t.equal(await main(['completion', 'fish'], bad), 2);
  t.equal(bad.err(), 'TG_ERR_USAGE: unknown shell "fish": bash or zsh\nsee \'tenant-guard completion --help\'\n');
});

t.test('usage errors are one line plus see --help, for every command', async (t) => {
  for (const argv of [['nope'], ['check', '--bogus'], ['audit', '--bogus'], ['serve', '--bogus'], ['certs', '--bogus'], ['test', '--bogus']]) {
    const io = fakeIO(REPO);
    t.equal(await main(argv, io), 2, argv.join(' '));
    t.match(io.err(), /^TG_ERR_USAGE: [^\n]+\nsee 'tenant-guard (\w+ )?--help'\n$/, argv.join(' '));
  }
});
