// `tenant-guard check` as a real process: stdin piping, exit statuses, and
// errors that reach the terminal as one line (no stack trace).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

// Equivalent to `npx tsx src/cli/main.ts`, without npx's own start-up.
function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check', ...(args.includes('--config') ? [] : ['--config', 'examples/tenancy.yaml']), ...args], { cwd: REPO, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const HELM = `---
# Source: chart/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: chart-config}
data: {a: b}
---
# Source: chart/templates/off.yaml
---
# Source: chart/templates/svc.yaml
apiVersion: v1
kind: Service
metadata: {name: chart}
spec: {ports: [{port: 80}]}
`;

t.test('helm template | tenant-guard check -f - : exit 0; the ConfigMap not intercepted, the Service judged and admitted', async (t) => {
  const r = await run(['-f', '-', '-o', 'json'], HELM);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.same(report.results.map((x: { name: string; intercepted: boolean }) => [x.name, x.intercepted]), [['chart-config', false], ['chart', true]]);
});

t.test('a denial exits 1', async (t) => {
  const optOut =
    'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: no-mesh}\n' +
    'spec: {template: {metadata: {annotations: {sidecar.istio.io/inject: "false"}}, spec: {containers: [{image: hello}]}}}\n';
  const r = await run(['--state', 'test/fixtures/namespaces.yaml', '--as', 'alice', '--as-group', 'tenant-1-admins', '-n', 'tenant-1', '-f', '-'], optOut);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /^DENIED Service tenant-1\/no-mesh \(CREATE\)$/m);
});

t.test('errors exit 2 with one line on stderr', async (t) => {
  const malformed = await run(['-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n');
  t.equal(malformed.code, 2);
  t.match(malformed.stderr, /^TG_ERR_INPUT_PARSE: <stdin> document 1 \(line \d+, column \d+\): .+\n$/);
  const usage = await run(['--frobnicate']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /^TG_ERR_USAGE: Unknown option '--frobnicate'\nsee 'tenant-guard check --help'\n$/);
  t.equal(usage.stdout, '');
});
