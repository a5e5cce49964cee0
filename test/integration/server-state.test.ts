import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import type { KubeObject } from '../../src/engine/types.js';
import { startWebhookServer } from '../../src/server/run.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, reviewOf } from '../unit/server/reviews.js';

const baseConfig = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

// A pod opting out of its sidecar in "team-x": only a tenant's namespace (known from the state) is guarded.
const podWithoutSidecar: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'team-x', annotations: { 'sidecar.istio.io/inject': 'false' } },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
};
// An ALLOW from tenant-3 into tenant-1: cross-tenant only once tenant-3 exists in the config.
const allowFromTenant3: KubeObject = {
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'from-tenant-3', namespace: 'tenant-1' },
  spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-3'] } }] }] },
};

async function start(t: Test, dir: string, statePaths: string[]) {
  const log = capturingLogger();
  const s = await startWebhookServer(
    { host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: 'tenancy.yaml', statePaths, shutdownDelayMs: 0, filePollMs: 100 },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => s.shutdown('test end'));
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const judge = async (obj: KubeObject) => JSON.parse((await httpsCall(`${s.url}/validate`, { ca, body: reviewOf(inputFor(obj, ALICE)) })).body).response;
  return { s, ca, log, judge };
}

t.test('--state seeds the in-memory state the engine reads', async (t) => {
  const dir = t.testdir({
    'tenancy.yaml': baseConfig,
    state: { 'team-x.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-x\n  labels: {tenant-guard.dev/tenant: tenant-1}\n' },
  });
  const empty = await start(t, dir, []);
  t.equal((await empty.judge(podWithoutSidecar)).allowed, true, 'without state, team-x belongs to no tenant');
  const seeded = await start(t, dir, ['state']);
  const res = await seeded.judge(podWithoutSidecar);
  t.equal(res.allowed, false, 'with the Namespace in the state, team-x is tenant-1 and the opt-out is refused');
  t.match(res.auditAnnotations.rules, /TG-WORKLOAD-INJECT-OPTOUT/);
  t.match(seeded.log.lines().find((l) => l.msg === 'tenant-guard serving'), { state: '1 objects from state' });
});

t.test('--config: a change applies to the next request; a bad change keeps the previous config', async (t) => {
  const dir = t.testdir({ 'tenancy.yaml': baseConfig });
  const { s, ca, log, judge } = await start(t, dir, []);
  const before = await judge(allowFromTenant3);
  t.equal(before.allowed, false, 'tenant-3 is no tenant yet: a name any tenant may create later');
  t.match(before.status.message, /tenant-3, which does not exist yet/);

  writeFileSync(join(dir, 'tenancy.yaml'), `${baseConfig}\n  - name: tenant-3\n    admins: {users: [carol]}\n    namespaces: [tenant-3]\npeerings:\n  - {from: tenant-3, to: tenant-1}\n`);
  for (let i = 0; i < 60 && !log.lines().some((l) => l.msg === 'tenancy config reloaded'); i++) await sleep(50);
  const res = await judge(allowFromTenant3);
  t.equal(res.allowed, true, 'after the reload, tenant-3 is a tenant peered into tenant-1');

  writeFileSync(join(dir, 'tenancy.yaml'), 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenants: nope\n');
  for (let i = 0; i < 60 && !log.lines().some((l) => l.errorCode === 'TG_ERR_CONFIG_INVALID'); i++) await sleep(50);
  t.match(log.lines().find((l) => l.errorCode === 'TG_ERR_CONFIG_INVALID'), { level: 50, msg: /keeping the previous config/ });
  t.equal((await judge(allowFromTenant3)).allowed, true, 'the previous (tenant-3) config is still in force');
  const metrics = (await httpsCall(`${s.url}/metrics`, { ca })).body;
  t.match(metrics, /tenant_guard_config_reloads_total\{result="error"\} 1/);
  t.match(metrics, /tenant_guard_config_reloads_total\{result="success"\} 1/);
  t.equal((await httpsCall(`${s.url}/readyz`, { ca })).status, 200, 'still ready');
});

t.test('--kubeconfig: not ready and fail closed until the cluster state has synced', async (t) => {
  // An API server that is never reachable: the watcher keeps retrying, the state never syncs.
  const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
  const dir = t.testdir({ kubeconfig, 'tenancy.yaml': baseConfig });
  const log = capturingLogger('fatal');
  const s = await startWebhookServer(
    { host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: 'tenancy.yaml', statePaths: [], cluster: { inCluster: false, kubeconfig: 'kubeconfig' }, shutdownDelayMs: 0 },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => s.shutdown('test end'));
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const ready = await httpsCall(`${s.url}/readyz`, { ca });
  t.equal(ready.status, 503);
  t.same(JSON.parse(ready.body), { status: 'not ready', waiting: ['state'] });
  const res = JSON.parse((await httpsCall(`${s.url}/validate`, { ca, body: reviewOf(inputFor(allowFromTenant3, ALICE)) })).body).response;
  t.equal(res.allowed, false);
  t.match(res.status.message, /^TG_ERR_CLUSTER: /);
  t.match((await httpsCall(`${s.url}/metrics`, { ca })).body, /tenant_guard_watch_synced/, 'the watcher metrics share the registry');

  await t.rejects(
    startWebhookServer({ host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: 'tenancy.yaml', statePaths: [], cluster: { inCluster: false, kubeconfig: 'missing' } }, { logger: log.logger, cwd: dir }),
    { code: 'TG_ERR_CLUSTER', message: /cannot load .*missing: no such file or directory/ },
  );
});
