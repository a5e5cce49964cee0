// ClusterWatcher against a real kube-apiserver: first sync, live updates, a
// CRD installed after start, and an API server restart recovered by relisting
// while the store keeps answering from the last known state.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import t from 'tap';
import { ClusterWatcher } from '../../src/cluster/informers.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { GK } from '../../src/cluster/state.js';
import type { KubeObject } from '../../src/engine/types.js';
import { crdFiles, E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { installCrds } from './fixtures/kube.js';
import { waitFor } from './fixtures/processes.js';

t.setTimeout(E2E_TIMEOUT_MS);

const started = Date.now();
const istioOnly = crdFiles.filter((f) => f.endsWith('istio-crds.yaml'));
const knativeService = crdFiles.filter((f) => f.endsWith('knative-serving-service.yaml'));
const env = await setupEnv(t, { crds: istioOnly, webhook: false });
const { admin } = env;

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const peerAuth = (namespace: string, name: string, mode: string): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name, namespace },
  spec: { mtls: { mode } },
});

await admin.create(ns('tenant-1', { 'tenant-guard.dev/tenant': 'tenant-1' }));
await admin.create(peerAuth('tenant-1', 'default', 'STRICT'));

const logs: any[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l));
    cb();
  },
});
const registry = new Registry();
const store = new MemoryStore();
const watcher = new ClusterWatcher({
  kubeConfig: env.cluster.kubeConfig(),
  store,
  logger: pino({ level: 'debug' }, sink),
  registry,
  // Short retries so the test does not wait for production timings.
  tuning: { backoff: { initialMs: 200, maxMs: 2000 }, absentRecheckMs: 1000 },
});
t.teardown(() => watcher.stop());

const metric = async (name: string, kind: string): Promise<number | undefined> =>
  (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.kind === kind)?.value;

const eventually = (what: string, probe: () => boolean | Promise<boolean>) => waitFor(what, async () => probe(), { timeoutMs: 20_000, intervalMs: 100 });

t.test('first sync: start() resolves with every kind listed, absent CRDs counted as empty', async (t) => {
  t.equal(watcher.isSynced(), false, 'not synced before start');
  await watcher.start();
  t.equal(watcher.isSynced(), true);
  t.same(store.get(GK.Namespace, undefined, 'tenant-1')?.metadata.labels?.['tenant-guard.dev/tenant'], 'tenant-1');
  t.same(store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-1'), ['tenant-1']);
  const pa = store.get(GK.PeerAuthentication, 'tenant-1', 'default');
  t.equal(pa?.spec?.mtls?.mode, 'STRICT');
  t.equal(pa?.apiVersion.startsWith('security.istio.io/'), true, 'objects carry apiVersion and kind');
  t.equal(pa?.metadata.managedFields, undefined, 'managedFields are dropped');
  t.same(store.list(GK.KnativeService), [], 'Knative Service CRD not installed: empty');
  t.ok(
    logs.some((l) => l.level === 40 && l.kind === GK.KnativeService && /not served/.test(l.msg)),
    'the missing CRD is logged as a warning',
  );
  t.equal(await metric('tenant_guard_watch_synced', GK.KnativeService), 1);
  t.equal(await metric('tenant_guard_state_objects', GK.PeerAuthentication), 1);
});

t.test('live updates: create, modify and delete reach the store through the watch', async (t) => {
  const ap: KubeObject = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'allow-same-tenant', namespace: 'tenant-1' },
    spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }] }] },
  };
  await admin.create(ap);
  await eventually('the AuthorizationPolicy in the store', () => !!store.get(GK.AuthorizationPolicy, 'tenant-1', 'allow-same-tenant'));

  await admin.mergePatch(ns('tenant-1'), { metadata: { labels: { 'tenant-guard.dev/tenant': 'tenant-9' } } });
  await eventually('the relabelled namespace indexed', () => store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-9').includes('tenant-1'));
  t.same(store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-1'), [], 'the old label value is unindexed');
  await admin.mergePatch(ns('tenant-1'), { metadata: { labels: { 'tenant-guard.dev/tenant': 'tenant-1' } } });
  await eventually('the label restored', () => store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-1').includes('tenant-1'));

  await admin.delete(ap);
  await eventually('the AuthorizationPolicy gone from the store', () => !store.get(GK.AuthorizationPolicy, 'tenant-1', 'allow-same-tenant'));
  t.pass('create, label change and delete observed');
});

t.test('a CRD installed after start is picked up without a restart', async (t) => {
  await installCrds(admin, knativeService);
  await admin.create({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'tenant-1' },
    spec: { template: { spec: { containers: [{ image: 'example.com/hello' }] } } },
  } as KubeObject);
  await eventually('the Knative Service in the store', () => !!store.get(GK.KnativeService, 'tenant-1', 'hello'));
  t.ok(logs.some((l) => l.kind === GK.KnativeService && /^watching /.test(l.msg)), 'logged when the kind appears');
});

t.test('API server restart: last known state kept meanwhile, watches re-established with a relist', async (t) => {
  const restartsBefore = (await metric('tenant_guard_watch_restarts_total', GK.Namespace)) ?? 0;
  await env.cluster.stopApiServer();
  // Give every watch time to notice and fail at least one reconnection.
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(watcher.isSynced(), true, 'still synced (ready) while the API server is away');
  t.equal(store.get(GK.PeerAuthentication, 'tenant-1', 'default')?.spec?.mtls?.mode, 'STRICT', 'last known objects still answered');
  t.same(store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-1'), ['tenant-1']);

  await env.cluster.startApiServer();
  await admin.create(ns('tenant-2', { 'tenant-guard.dev/tenant': 'tenant-2' }));
  await admin.delete(peerAuth('tenant-1', 'default', 'STRICT'));
  await eventually('changes after the restart in the store', () => store.namespacesWithLabel('tenant-guard.dev/tenant', 'tenant-2').includes('tenant-2') && !store.get(GK.PeerAuthentication, 'tenant-1', 'default'));
  t.ok(((await metric('tenant_guard_watch_restarts_total', GK.Namespace)) ?? 0) > restartsBefore, 'restarts counted in tenant_guard_watch_restarts_total');
  t.ok(
    logs.some((l) => l.level === 40 && /retrying with a relist/.test(l.msg)),
    'the dropped watch is logged',
  );
  t.equal(store.get(GK.Namespace, undefined, 'tenant-1')?.metadata.name, 'tenant-1', 'unchanged objects survive the relist');
});

t.test('stop() ends every watch', async (t) => {
  await watcher.stop();
  await admin.create(peerAuth('tenant-2', 'after-stop', 'STRICT'));
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(store.get(GK.PeerAuthentication, 'tenant-2', 'after-stop'), undefined, 'no update after stop');
});

t.teardown(() => t.comment(`e2e timing: cluster-watcher tests took ${((Date.now() - started) / 1000).toFixed(1)}s including setup`));
