// The API server goes away and comes back while tenant-guard runs. The
// webhook process is not restarted; while its watches are down it stays
// ready and decides from the last known state (no wrong decision: what was
// refused stays refused, what was admitted stays admitted), and once the
// API server is back its state follows new changes again, which a decision
// that depends on a change made after the restart proves.
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import t from 'tap';
import type { KubeObject } from '../../src/engine/types.js';
import { E2E_TIMEOUT_MS, setupEnv } from './fixtures/env.js';
import { waitFor } from './fixtures/processes.js';
import { ALICE, createTenancy } from './fixtures/reference.js';
import type { TenantGuardServer } from './fixtures/webhook.js';

t.setTimeout(E2E_TIMEOUT_MS);
const started = Date.now();
const env = await setupEnv(t, { webhook: true });
const { admin } = env;
const webhook = env.webhook!;
await createTenancy(env);

const allowTenant1 = (name: string): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace: 'tenant-1' },
  spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1', 'knative-serving', 'istio-system'] } }] }] },
});
const strict: KubeObject = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'tenant-1' }, spec: { mtls: { mode: 'STRICT' } } };
await admin.create(strict);
await admin.create(allowTenant1('allow-own-tenant'));

interface Review {
  operation: 'CREATE' | 'DELETE';
  object: KubeObject;
  resource: string;
}

/** Sends an AdmissionReview straight to the webhook, as the API server would. */
function review(server: TenantGuardServer, r: Review): Promise<{ allowed: boolean; message: string }> {
  const [group, version] = r.object.apiVersion.includes('/') ? r.object.apiVersion.split('/') : ['', r.object.apiVersion];
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group, version, kind: r.object.kind },
      resource: { group, version, resource: r.resource },
      requestKind: { group, version, kind: r.object.kind },
      requestResource: { group, version, resource: r.resource },
      namespace: r.object.metadata.namespace,
      name: r.object.metadata.name,
      operation: r.operation,
      userInfo: { username: ALICE.user, groups: [...ALICE.groups, 'system:authenticated'] },
      object: r.operation === 'DELETE' ? null : r.object,
      oldObject: r.operation === 'DELETE' ? r.object : null,
      dryRun: false,
      options: {},
    },
  });
  return new Promise((resolve, reject) => {
    const req = https.request(`${server.url}/validate`, { method: 'POST', ca: server.caPem, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          const resp = JSON.parse(text).response;
          resolve({ allowed: resp.allowed, message: resp.status?.message ?? '' });
        } catch (e) {
          reject(new Error(`unreadable review response (${res.statusCode}): ${text}`));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const permissive: KubeObject = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'relaxed', namespace: 'tenant-1' }, spec: { mtls: { mode: 'PERMISSIVE' } } };
const cases: { name: string; r: Review; allowed: boolean; rule?: string }[] = [
  { name: 'deleting the only ALLOW policy of tenant-1', r: { operation: 'DELETE', object: allowTenant1('allow-own-tenant'), resource: 'authorizationpolicies' }, allowed: false, rule: 'TG-AUTHZ-LAST-ALLOW' },
  { name: 'a PERMISSIVE PeerAuthentication', r: { operation: 'CREATE', object: permissive, resource: 'peerauthentications' }, allowed: false, rule: 'TG-PEERAUTHN-MODE' },
  {
    name: 'a compliant Knative Service of tenant-1',
    r: {
      operation: 'CREATE',
      object: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'tenant-1' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
      resource: 'services',
    },
    allowed: true,
  },
];

t.test('before the outage: the reviews decide as expected', async (t) => {
  for (const c of cases) {
    const d = await review(webhook, c.r);
    t.equal(d.allowed, c.allowed, c.name);
    if (c.rule) t.match(d.message, `[${c.rule}]`);
  }
});

t.test('API server down: tenant-guard stays ready and decides from the last known state', async (t) => {
  const pid = webhook.proc!.pid;
  const restartsBefore = await webhook.metricSum('tenant_guard_watch_restarts_total');
  await env.cluster.stopApiServer();
  await waitFor('a watch restart to be counted', async () => (await webhook.metricSum('tenant_guard_watch_restarts_total')) > restartsBefore, {
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  t.equal((await webhook.get('/readyz')).status, 200, '/readyz stays 200: decisions use the last known state');
  for (const c of cases) {
    const d = await review(webhook, c.r);
    t.equal(d.allowed, c.allowed, `${c.name}: same decision during the outage`);
    if (c.rule) t.match(d.message, `[${c.rule}]`);
  }
  await env.cluster.startApiServer();
  t.equal(webhook.proc!.pid, pid, 'same tenant-guard process');
  t.ok(webhook.proc!.running, 'never restarted');
});

t.test('after the outage: changes made since are seen (the watch was re-established and relisted)', async (t) => {
  // A second ALLOW policy created after the restart makes the first one
  // deletable; only a webhook whose state caught up knows that.
  const alice = env.as(ALICE);
  await alice.create(allowTenant1('allow-own-tenant-2'));
  await waitFor(
    'tenant-guard to learn about the new policy',
    async () => (await review(webhook, cases[0]!.r)).allowed,
    { timeoutMs: 60_000, intervalMs: 300 },
  );
  await alice.delete(allowTenant1('allow-own-tenant'));
  t.equal(await admin.find(allowTenant1('allow-own-tenant')), undefined, 'deleted through the API server');
  const refused = await alice.refusal('delete the remaining ALLOW policy', async () => {
    // Wait until the deletion above is known, else the webhook would still count two policies.
    await waitFor('tenant-guard to learn about the deletion', async () => !(await review(webhook, { ...cases[0]!.r, object: allowTenant1('allow-own-tenant-2') })).allowed, {
      timeoutMs: 30_000,
      intervalMs: 300,
    });
    await alice.delete(allowTenant1('allow-own-tenant-2'));
  });
  t.match(refused.message, '[TG-AUTHZ-LAST-ALLOW]', 'the API server refuses deleting what is now the last ALLOW');
  t.ok((await webhook.metricSum('tenant_guard_watch_restarts_total')) > 0, 'restarts visible in /metrics');
  t.ok(
    (await webhook.metricSum('tenant_guard_state_objects', { kind: /AuthorizationPolicy/ })) >= 1,
    'tenant_guard_state_objects reports the cached policies',
  );
});

t.teardown(() => t.comment(`e2e timing: webhook watch-recovery tests took ${((Date.now() - started) / 1000).toFixed(1)}s including setup`));
