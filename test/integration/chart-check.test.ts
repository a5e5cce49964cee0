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

t.test('helm template | tenant-guard check -f - passes (default values)', async (t) => {
  const r = template();
  t.equal(r.status, 0, r.stderr);
  const c = check(r.stdout);
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
});
