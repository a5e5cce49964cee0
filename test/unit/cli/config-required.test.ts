// Issue 21: no silent demo config. check, audit and serve require --config;
// --config takes the TenancyConfig, the chart's rendered ConfigMap or a Helm values file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runAudit } from '../../../src/cli/audit.js';
import { loadTenancyConfig } from '../../../src/config/load.js';
import { fakeIO } from '../server/fake-io.js';
import { check, checkJson } from './check-harness.js';

const OPT_OUT = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: web, namespace: team-a}
spec:
  template:
    metadata: {annotations: {sidecar.istio.io/inject: "false"}}
    spec: {containers: [{image: nginx}]}
`;
const TEAM_A = 'tenants: [{name: team-a, admins: {users: [carol]}, namespaces: [team-a]}]\n';

function files(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-config-'));
  writeFileSync(join(dir, 'tenancy.yaml'), `apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\n${TEAM_A}`);
  writeFileSync(
    join(dir, 'configmap.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tg-tenant-guard-config, namespace: tenant-guard}\ndata:\n  tenancy.yaml: |\n    apiVersion: tenant-guard.dev/v1alpha1\n    kind: TenancyConfig\n    ${TEAM_A}`,
  );
  writeFileSync(join(dir, 'values.yaml'), `replicaCount: 3\ntenancy:\n  ${TEAM_A}  baseline: {enabled: false}\n`);
  writeFileSync(join(dir, 'ksvc.yaml'), OPT_OUT);
  writeFileSync(join(dir, 'two-configmaps.yaml'), `${OPT_OUT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {tenancy.yaml: "kind: x"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {tenancy.yaml: "kind: x"}\n`);
  return dir;
}

t.test('check without --config is a usage error (exit 2), never a pass against the demo tenants', async (t) => {
  const dir = files();
  const r = await check(['--as', 'carol', '-f', 'ksvc.yaml'], { cwd: dir, noConfig: true });
  t.equal(r.code, 2);
  t.match(r.stderr, /^TG_ERR_USAGE: missing --config: check needs the tenancy config[^\n]*\nsee 'tenant-guard check --help'\n$/);
  t.equal(r.stdout, '');
});

t.test('--config: the TenancyConfig, the rendered ConfigMap and the Helm values file judge alike', async (t) => {
  const dir = files();
  for (const f of ['tenancy.yaml', 'configmap.yaml', 'values.yaml']) {
    const r = await checkJson(['--config', f, '--as', 'carol', '-f', 'ksvc.yaml'], { cwd: dir });
    t.equal(r.code, 1, `${f}: the opt-out in team-a is refused`);
    t.same(r.report.results[0]!.violations.map((v) => v.rule), ['TG-WORKLOAD-INJECT-OPTOUT'], f);
  }
  const values = loadTenancyConfig(join(dir, 'values.yaml'));
  t.same(values.tenants.map((x) => x.name), ['team-a']);
  t.equal(values.baseline.enabled, false, 'a value set in the values file wins over the chart default');
  t.throws(() => loadTenancyConfig(join(dir, 'two-configmaps.yaml')), { code: 'TG_ERR_CONFIG_INVALID', message: /2 ConfigMaps hold tenancy\.yaml \(\/a, \/b\)/ });
  t.throws(() => loadTenancyConfig(join(dir, 'ksvc.yaml')), { code: 'TG_ERR_CONFIG_INVALID', message: /ksvc\.yaml: .*apiVersion/ }, 'a manifest is not a config');
});

t.test('an error inside the ConfigMap names the file and the ConfigMap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-config-'));
  writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tg}\ndata:\n  tenancy.yaml: |\n    apiVersion: tenant-guard.dev/v1alpha1\n    kind: TenancyConfig\n    tenantz: []\n');
  t.throws(() => loadTenancyConfig(join(dir, 'cm.yaml')), { message: /cm\.yaml \(ConfigMap tg tenancy\.yaml\): \(root\): unknown field "tenantz"/ });
});

t.test('audit without --config and without a reachable installed ConfigMap is an error, not the demo tenants', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-config-'));
  writeFileSync(
    join(dir, 'kubeconfig'),
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
  );
  const io = fakeIO(dir);
  t.equal(await runAudit(['--kubeconfig', 'kubeconfig'], io), 2);
  t.match(io.err(), /^TG_ERR_CLUSTER: cannot read the cluster at https:\/\/127\.0\.0\.1:1/);
  t.notMatch(io.err(), /tenant-1/);
});

t.test('audit in a cluster reads the installed tenant-guard ConfigMap; none or two is an error asking for --config', async (t) => {
  const { installedConfig, INSTALLED_SELECTOR } = await import('../../../src/cli/installed-config.js');
  type Client = Parameters<typeof installedConfig>[0];
  const cm = (ns: string, data: Record<string, string>) => ({ metadata: { name: 'tg-tenant-guard-config', namespace: ns }, data });
  const tenancy = `apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\n${TEAM_A}`;
  const seen: unknown[] = [];
  const client = (items: unknown[]) => ({ request: async (_m: string, path: string, o: unknown) => (seen.push([path, o]), { items }) }) as unknown as Client;
  const one = await installedConfig(client([cm('tenant-guard', { 'tenancy.yaml': tenancy }), cm('other', { unrelated: 'x' })]), 'audit');
  t.equal(one.source, 'ConfigMap tenant-guard/tg-tenant-guard-config');
  t.same(one.config.tenants.map((x) => x.name), ['team-a']);
  t.same(seen[0], ['/api/v1/configmaps', { query: { labelSelector: INSTALLED_SELECTOR } }]);
  await t.rejects(installedConfig(client([]), 'audit'), { code: 'TG_ERR_USAGE', message: /missing --config: audit .*no ConfigMap labelled app\.kubernetes\.io\/part-of=tenant-guard/ });
  await t.rejects(installedConfig(client([cm('a', { 'tenancy.yaml': tenancy }), cm('b', { 'tenancy.yaml': tenancy })]), 'audit'), { message: /2 tenant-guard config ConfigMaps in the cluster \(a\/tg-tenant-guard-config, b\/tg-tenant-guard-config\): pass --config/ });
});
