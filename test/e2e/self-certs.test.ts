// Certificates mode self on a real kube-apiserver: `helm install` of the
// chart with its defaults (no certificate, no caBundle: tenant-guard puts
// them there), then two replicas of `tenant-guard serve --self-certs` as the
// chart's service account, behind a round-robin TCP balancer (the stand-in
// for the Service). Lifetimes are seconds instead of days so that the CA rolls twice
// while a client keeps writing through the API server; no write may fail.
// Then something resets caBundle and tenant-guard repairs it.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/engine/types.js';
import { splitPemBundle } from '../../src/certs/self-rotation.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { refusalOf, repoRoot } from './fixtures/kube.js';
import { freePort, startProcess, waitFor, type ManagedProcess } from './fixtures/processes.js';
import { CHART_NAMESPACE, tenancyConfigFile } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);

const env = await setupEnv(t, { webhook: false });
const { admin, cluster, bins } = env;
const SECRET = 'tenant-guard-tls';
const CONFIG_NAME = 'tenant-guard';

await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: CHART_NAMESPACE } } as KubeObject);
await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1', labels: { 'tenant-guard.dev/tenant': 'tenant-1' } } } as KubeObject);

// The Service: a TCP balancer handing each new connection to the next replica (TLS passes through).
const replicaPorts = [await freePort(), await freePort()];
let next = 0;
const sockets = new Set<net.Socket>();
const balancer = net.createServer((client) => {
  const upstream = net.connect(replicaPorts[next++ % replicaPorts.length]!, '127.0.0.1');
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  }
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
await new Promise<void>((r) => balancer.listen(0, '127.0.0.1', r));
const balancerPort = (balancer.address() as net.AddressInfo).port;
// close() waits for open connections: the API server keeps its connections alive, so end them.
t.teardown(() => {
  for (const s of sockets) s.destroy();
  return new Promise<void>((r) => balancer.close(() => r()));
});

// `helm install` of the chart with its defaults (tls.mode self) and the
// tenancy of examples/tenancy.yaml; webhook.url points the configurations at
// the balancer. Nothing runs the chart's pods here (no kubelet): the two
// replicas below run as its service account, with its RBAC.
const tenancy = parse(readFileSync(tenancyConfigFile, 'utf8')) as Record<string, unknown>;
delete tenancy.apiVersion;
delete tenancy.kind;
const valuesFile = join(cluster.dir, 'values-self.yaml');
writeFileSync(valuesFile, stringify({ tenancy, webhook: { url: `https://127.0.0.1:${balancerPort}` } }));
const helmHome = { HELM_CACHE_HOME: join(cluster.dir, 'helm-cache'), HELM_CONFIG_HOME: join(cluster.dir, 'helm-config'), HELM_DATA_HOME: join(cluster.dir, 'helm-data') };
const installArgs = ['install', 'tenant-guard', join(repoRoot, 'charts', 'tenant-guard'), '--namespace', CHART_NAMESPACE, '-f', valuesFile, '--kubeconfig', cluster.kubeConfigFile()];
const install = spawnSync(bins.helm, installArgs, { encoding: 'utf8', env: { ...process.env, ...helmHome } });
if (install.status !== 0) throw new Error(`helm install failed (${install.status}): ${install.stderr}`);
const token = await admin.client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${CHART_NAMESPACE}/serviceaccounts/tenant-guard/token`, {
  body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 24 * 3600 } },
});
const kubeconfig = cluster.kubeConfigFileForToken(`system:serviceaccount:${CHART_NAMESPACE}:tenant-guard`, token.status.token);

const replicas: ManagedProcess[] = replicaPorts.map((port, i) =>
  startProcess(`tenant-guard-${i}`, cluster.dir, process.execPath, [
    '--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'serve',
    '--host', '127.0.0.1', '--port', String(port),
    '--config', tenancyConfigFile,
    '--kubeconfig', kubeconfig,
    '--self-certs', `${CHART_NAMESPACE}/${SECRET}`,
    '--cert-ip', '127.0.0.1',
    '--mutating-webhook', CONFIG_NAME, '--validating-webhook', CONFIG_NAME,
    '--replica', `replica-${i}`,
    '--self-certs-dir', join(cluster.dir, `self-certs-${i}`),
    // A CA rolls every 20s (half of 40s); a serving certificate is renewed every ~6s.
    '--ca-validity', '40s', '--cert-validity', '12s', '--renew-at', '0.5',
    '--ca-settle', '2s', '--ca-overlap', '6s', '--cert-resync', '1s',
    '--shutdown-delay', '0s',
  ], { cwd: repoRoot }),
);
t.teardown(async () => {
  if (!t.passing()) for (const p of replicas) t.comment(`--- last lines of ${p.name} ---\n${p.tail(80)}`);
  await Promise.all(replicas.map((p) => p.stop()));
});

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    // Readiness only: the test does not know the CA yet (the leader makes it).
    const req = https.get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}
await waitFor('both replicas ready', async () => (await readyz(replicaPorts[0]!)) === 200 && (await readyz(replicaPorts[1]!)) === 200, {
  timeoutMs: 90_000,
  intervalMs: 500,
  watch: replicas,
});

const configPath = (kind: string) => `/apis/admissionregistration.k8s.io/v1/${kind}/${CONFIG_NAME}`;
interface WebhookConfig {
  webhooks: { name: string; clientConfig: { caBundle?: string } }[];
}
const bundles = async (kind: string) => (await admin.client.get<WebhookConfig>(configPath(kind))).webhooks.map((w) => w.clientConfig.caBundle ?? '');
const secretBundle = async () => {
  const s = await admin.client.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${CHART_NAMESPACE}/secrets/${SECRET}`);
  return s.data['ca.crt']!;
};
const deployment = (name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'tenant-1' },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
});

t.test('the chart installs no certificate; the leader creates the Secret and puts its CA into every webhook of both configurations', async (t) => {
  t.match(install.stdout, /STATUS: deployed/, `${installArgs.join(' ')}`);
  await waitFor(
    'caBundle in both configurations',
    async () => {
      const want = await secretBundle().catch(() => '');
      const all = [...(await bundles('mutatingwebhookconfigurations')), ...(await bundles('validatingwebhookconfigurations'))];
      return want !== '' && all.every((b) => b === want);
    },
    { timeoutMs: 30_000, intervalMs: 300, watch: replicas },
  );
  // Through the API server: the webhook is called over TLS and trusted (failurePolicy Fail would refuse otherwise).
  await waitFor('a write admitted through both webhooks', async () => {
    try {
      await admin.create(deployment('probe'), { dryRun: true });
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 30_000, intervalMs: 300 });
  const leases = await admin.client.get<{ items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }>(`/apis/coordination.k8s.io/v1/namespaces/${CHART_NAMESPACE}/leases`);
  const leader = leases.items.find((l) => l.metadata.name === 'tenant-guard-leader');
  t.match(leader?.spec.holderIdentity, /^replica-[01]$/, 'one replica holds the leader Lease');
});

t.test('two CA rolls while a client keeps writing through the API server: no request fails', async (t) => {
  const caOf = (b64: string) => splitPemBundle(Buffer.from(b64, 'base64').toString()).map((p) => new X509Certificate(p).fingerprint256);
  const first = caOf(await secretBundle());
  t.equal(first.length, 1);
  // What caBundle went through, as the API server's clients saw it.
  const seen: string[][] = [first];
  let stop = false;
  const observer = (async () => {
    while (!stop) {
      const b = caOf((await bundles('validatingwebhookconfigurations'))[0]!);
      if (b.join() !== seen.at(-1)!.join()) seen.push(b);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const rolls = () => seen.filter((b) => b.length === 1).length - 1;

  let requests = 0;
  const failures: string[] = [];
  const started = Date.now();
  // Until two rolls completed (old CA gone twice), for at most 120s.
  while (rolls() < 2 && Date.now() - started < 120_000) {
    try {
      await admin.create(deployment(`w-${requests}`));
    } catch (e) {
      failures.push(refusalOf(e)?.message ?? String(e));
    }
    requests++;
  }
  stop = true;
  await observer;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.comment(`CA roll figure: ${requests} writes (each through the mutating and the validating webhook) in ${seconds}s, ${failures.length} failed; caBundle went through ${seen.map((b) => b.length).join(' -> ')} CAs`);
  t.equal(failures.length, 0, `no failed request (first failures: ${failures.slice(0, 3).join(' | ')})`);
  t.ok(rolls() >= 2, 'two complete CA rolls');
  // Every roll: one CA, then old + new, then the new one alone.
  for (let i = 1; i < seen.length; i++) {
    const [before, now] = [seen[i - 1]!, seen[i]!];
    if (now.length === 2) t.same(now[0], before[0], 'the old CA stays while the new one joins');
    if (now.length === 1 && before.length === 2) t.same(now[0], before[1], 'the new CA stays alone');
  }
  t.ok(requests > 50, `the client kept writing (${requests} requests)`);
});

t.test('a reset caBundle is repaired', async (t) => {
  for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
    // What a GitOps sync of the chart's manifests would do: caBundle back to what the repository holds.
    const cfg = await admin.client.get<WebhookConfig>(configPath(kind));
    const ops = cfg.webhooks.map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: Buffer.from(cluster.ca.certPem).toString('base64') }));
    const resetAt = Date.now();
    await admin.client.request('PATCH', configPath(kind), { body: ops, contentType: 'application/json-patch+json' });
    await waitFor(`${kind} caBundle repaired`, async () => {
      const want = await secretBundle();
      return (await bundles(kind)).every((b) => b === want);
    }, { timeoutMs: 20_000, intervalMs: 100, watch: replicas });
    t.comment(`${kind}: caBundle repaired ${Date.now() - resetAt} ms after the reset`);
    t.pass(`${kind} repaired`);
  }
  await admin.create(deployment('after-repair'), { dryRun: true });
});
