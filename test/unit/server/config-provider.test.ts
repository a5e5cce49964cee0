import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Registry } from 'prom-client';
import { DEFAULT_CONFIG_PATH } from '../../../src/config/default.js';
import { FileConfigProvider } from '../../../src/server/config-provider.js';
import { createServerMetrics } from '../../../src/server/metrics.js';
import { capturingLogger } from './reviews.js';

const base = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
const withTenant3 = `${base}\n  - name: tenant-3\n    namespaces: [tenant-3]\n`;

t.test('initial file must be valid', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ndrainPorts: 8022\n' });
  t.throws(() => new FileConfigProvider(join(dir, 'bad.yaml'), capturingLogger().logger), { code: 'TG_ERR_CONFIG_INVALID' });
  t.throws(() => new FileConfigProvider(join(dir, 'missing.yaml'), capturingLogger().logger), { code: 'TG_ERR_CONFIG_READ', message: /no such file or directory/ });
});

t.test('reload: a good file replaces the config, a bad one is refused, logged and counted', async (t) => {
  const dir = t.testdir({ 'tenancy.yaml': base });
  const file = join(dir, 'tenancy.yaml');
  const log = capturingLogger();
  const metrics = createServerMetrics(new Registry());
  const p = new FileConfigProvider(file, log.logger, metrics);
  t.equal(p.current().tenants.length, 2);
  t.equal(p.reload(), false, 'unchanged file: nothing to do');

  writeFileSync(file, withTenant3);
  t.equal(p.reload(), true);
  t.same(p.current().tenants.map((x) => x.name), ['tenant-1', 'tenant-2', 'tenant-3']);

  writeFileSync(file, withTenant3.replace('tenant-3]', 'tenant-1]'));
  const before = p.current();
  t.equal(p.reload(), false);
  t.equal(p.current(), before, 'previous config kept');
  t.equal(p.reload(), false, 'same bad file again');
  const errors = log.lines().filter((l) => l.errorCode === 'TG_ERR_CONFIG_INVALID');
  t.equal(errors.length, 1, 'a refused file is logged once');
  t.match(errors[0], { level: 50, file, err: /already belongs to tenant "tenant-1"/ });

  writeFileSync(file, 'tenants: [unclosed');
  t.equal(p.reload(), false);
  t.ok(log.lines().some((l) => l.errorCode === 'TG_ERR_CONFIG_READ'), 'a YAML error is coded TG_ERR_CONFIG_READ');
  const m = await metrics.registry.metrics();
  t.match(m, /tenant_guard_config_reloads_total\{result="success"\} 1/);
  t.match(m, /tenant_guard_config_reloads_total\{result="error"\} 2/);
});

t.test('watch: a ConfigMap-style symlink swap is picked up', async (t) => {
  // kubelet layout: tenancy.yaml -> ..data/tenancy.yaml, ..data -> ..<timestamp>
  const dir = t.testdir({
    '..v1': { 'tenancy.yaml': base },
    '..v2': { 'tenancy.yaml': withTenant3 },
    '..data': t.fixture('symlink', '..v1'),
    'tenancy.yaml': t.fixture('symlink', '..data/tenancy.yaml'),
    '..tmp': t.fixture('symlink', '..v2'),
  });
  const p = new FileConfigProvider(join(dir, 'tenancy.yaml'), capturingLogger().logger).watch({ pollMs: 100, debounceMs: 20 });
  t.teardown(() => p.close());
  t.equal(p.current().tenants.length, 2);
  renameSync(join(dir, '..tmp'), join(dir, '..data'));
  for (let i = 0; i < 50 && p.current().tenants.length !== 3; i++) await sleep(50);
  t.equal(p.current().tenants.length, 3);
});
