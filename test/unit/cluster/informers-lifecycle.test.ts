// ClusterWatcher when the API server cannot be reached: it never reports
// synced, counts its retries, and stop() ends a pending start(). (Behaviour
// against a live API server: test/e2e/cluster-watcher.test.ts.)
import net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ClusterWatcher, WATCHED_KINDS } from '../../../src/cluster/informers.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK } from '../../../src/cluster/state.js';

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

t.test('unreachable API server: not synced, retries counted, stop() rejects the pending start()', async (t) => {
  const registry = new Registry();
  const store = new MemoryStore();
  const watcher = new ClusterWatcher({
    kubeConfig: kubeConfigFor(`https://127.0.0.1:${await closedPort()}`),
    store,
    logger: pino({ level: 'silent' }),
    registry,
    kinds: [GK.Namespace, GK.AuthorizationPolicy],
    tuning: { backoff: { initialMs: 20, maxMs: 50 } },
  });
  const started = watcher.start();
  const outcome = started.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );
  await new Promise((r) => setTimeout(r, 400));
  t.equal(watcher.isSynced(), false);
  const restarts = (await registry.getSingleMetric('tenant_guard_watch_restarts_total')!.get()).values;
  t.ok(restarts.find((v) => v.labels.kind === GK.Namespace)!.value >= 2, 'failed attempts are counted per kind');
  const synced = (await registry.getSingleMetric('tenant_guard_watch_synced')!.get()).values;
  t.same(
    synced.map((v) => [v.labels.kind, v.value]),
    [
      [GK.Namespace, 0],
      [GK.AuthorizationPolicy, 0],
    ],
  );
  await watcher.stop();
  t.equal(await outcome, 'TG_ERR_CLUSTER', 'start() rejects with TG_ERR_CLUSTER');
  await t.rejects(watcher.start(), { code: 'TG_ERR_CLUSTER' }, 'a watcher is started once');
});

t.test('metrics are registered in the given registry, one series per watched kind', async (t) => {
  const registry = new Registry();
  new ClusterWatcher({ kubeConfig: kubeConfigFor('https://127.0.0.1:1'), store: new MemoryStore(), logger: pino({ level: 'silent' }), registry });
  const text = await registry.metrics();
  for (const name of ['tenant_guard_watch_restarts_total', 'tenant_guard_watch_synced', 'tenant_guard_state_objects']) t.match(text, `# TYPE ${name}`);
  const objects = (await registry.getSingleMetric('tenant_guard_state_objects')!.get()).values;
  t.same(objects.map((v) => v.labels.kind).sort(), [...WATCHED_KINDS].sort());
});

t.test('a kubeconfig without a current cluster is refused at construction', async (t) => {
  t.throws(() => new ClusterWatcher({ kubeConfig: new KubeConfig(), store: new MemoryStore(), logger: pino({ level: 'silent' }) }), /no current cluster/);
});
