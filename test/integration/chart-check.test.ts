// The chart's own objects pass tenant-guard's `check`: installing the
// guardrail never trips the guardrail.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, find, parseDocs, template } from './chart-helm.js';

function check(manifests: string, args: string[] = []) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'check', '-f', '-', ...args], {
    cwd: ROOT,
    input: manifests,
    encoding: 'utf8',
  });
}

t.test('helm template | tenant-guard check -f - passes (default values), judged under the rendered ConfigMap', async (t) => {
  const r = template();
  t.equal(r.status, 0, r.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'tg-chart-check-'));
  // The whole render as --config: the ConfigMap holding tenancy.yaml is found in it.
  writeFileSync(join(dir, 'render.yaml'), r.stdout);
  const c = check(r.stdout, ['--config', join(dir, 'render.yaml')]);
  t.equal(c.status, 0, `check exit ${c.status}\n${c.stdout}\n${c.stderr}`);
});

t.test('passes with tenants configured, judged under the chart\'s own tenancy config', async (t) => {
  const r = template([
    '--set', 'certManager.enabled=true',
    '--set-json', 'tenancy.tenants=[{"name":"tenant-1","admins":{"users":["alice"]},"namespaces":["tenant-1"]},{"name":"tenant-2","admins":{"users":["bob"]},"namespaces":["tenant-2"]}]',
  ]);
  t.equal(r.status, 0, r.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'tg-chart-check-'));
  const configFile = join(dir, 'tenancy.yaml');
  writeFileSync(configFile, find(parseDocs(r.stdout), 'ConfigMap').data['tenancy.yaml']);
  const c = check(r.stdout, ['--config', configFile]);
  t.equal(c.status, 0, `check exit ${c.status}\n${c.stdout}\n${c.stderr}`);

  // The Helm values file gives the same config as the ConfigMap helm renders from it.
  const { loadTenancyConfig } = await import('../../src/config/load.js');
  const values = join(dir, 'values.yaml');
  writeFileSync(values, 'tenancy:\n  tenants:\n    - {name: tenant-1, admins: {users: [alice]}, namespaces: [tenant-1]}\n    - {name: tenant-2, admins: {users: [bob]}, namespaces: [tenant-2]}\n');
  const fromValues = loadTenancyConfig(values);
  const fromConfigMap = loadTenancyConfig(configFile);
  // The chart adds its own service account to platformControllers and the namespaces its webhooks skip to
  // reservedNamespaces (the release namespace among them, which a values file does not know); everything else is
  // the values' tenancy block.
  const chartAdds = { platformControllers: null, reservedNamespaces: null };
  t.same({ ...fromValues, ...chartAdds }, { ...fromConfigMap, ...chartAdds }, 'values file = rendered ConfigMap');
  t.equal(fromValues.baseline.enabled, true, "the chart's default baseline.enabled applies to a values file");
});
