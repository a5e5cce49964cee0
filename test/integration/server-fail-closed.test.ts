// Fail closed over real TLS: security objects that do not have the shape of
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
// Istio's API, and reviews without a user, are never allowed (issue 12's
// fault run found each of these admitted).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { KubeObject } from '../../src/engine/types.js';
import { startWebhookServer } from '../../src/server/run.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

async function server(t: Test) {
  const dir = t.testdir({});
  const log = capturingLogger();
  const s = await startWebhookServer({ host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: DEFAULT_CONFIG_PATH, statePaths: [], shutdownDelayMs: 0 }, { logger: log.logger, cwd: dir });
  t.teardown(() => s.shutdown('test end'));
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const send = async (path: '/mutate' | '/validate', review: unknown) => {
    const r = await httpsCall(`${s.url}${path}`, { ca, body: review });
    t.equal(r.status, 200);
    return JSON.parse(r.body).response;
  };
  return { send };
}

const peerAuthn = (portLevelMtls: unknown): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'app', namespace: 'tenant-1' },
  spec: { selector: { matchLabels: { app: 'hello' } }, mtls: { mode: 'STRICT' }, portLevelMtls },
});

const authz = (source: Record<string, unknown>, operation: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'p', namespace: 'tenant-1' },
  spec: { action: 'ALLOW', rules: [{ from: [{ source }], ...(Object.keys(operation).length ? { to: [{ operation }] } : {}) }] },
});

t.test('PeerAuthentication portLevelMtls of the wrong shape is denied, naming the field', async (t) => {
  const { send } = await server(t);
  const cases: [unknown, string][] = [
    [{ '8080': 'DISABLE' }, 'spec.portLevelMtls["8080"]'],
    ['DISABLE', 'spec.portLevelMtls'],
    [8080, 'spec.portLevelMtls'],
    [[{ mode: 'DISABLE' }], 'spec.portLevelMtls'],
    [{ '8080': { mode: 7 } }, 'spec.portLevelMtls["8080"].mode'],
    [{ http: { mode: 'STRICT' } }, 'spec.portLevelMtls["http"]'],
  ];
  for (const [ports, field] of cases) {
    for (const path of ['/mutate', '/validate'] as const) {
      const res = await send(path, reviewOf(inputFor(peerAuthn(ports), ALICE)));
      t.equal(res.allowed, false, `${JSON.stringify(ports)} on ${path}`);
      t.equal(res.auditAnnotations.rules, 'TG-PEERAUTHN-MALFORMED');
      t.match(res.status.message, `[TG-PEERAUTHN-MALFORMED] ${field}:`);
      t.notOk(res.patch, 'nothing patched');
    }
  }
  const good = await send('/validate', reviewOf(inputFor(peerAuthn({ '8080': { mode: 'STRICT' } }), ALICE)));
  t.equal(good.allowed, true, 'the shape Istio defines is judged as before');
});

t.test('AuthorizationPolicy list elements that are not strings are denied, naming the element; ports may be numbers', async (t) => {
  const { send } = await server(t);
  const bad = await send('/validate', reviewOf(inputFor(authz({ namespaces: [1, 'tenant-1'] }), ALICE)));
  t.equal(bad.allowed, false);
  t.equal(bad.auditAnnotations.rules, 'TG-AUTHZ-MALFORMED');
  t.match(bad.status.message, /spec\.rules\[0\]\.from\[0\]\.source\.namespaces\[0\]/);
  for (const source of [{ principals: ['cluster.local/ns/tenant-1/sa/default', null] }, { notNamespaces: [{ a: 1 }] }, { ipBlocks: [true] }]) {
    const r = await send('/validate', reviewOf(inputFor(authz(source), ALICE)));
    t.equal(r.allowed, false, JSON.stringify(source));
    t.equal(r.auditAnnotations.rules, 'TG-AUTHZ-MALFORMED');
  }
  const methods = await send('/validate', reviewOf(inputFor(authz({ namespaces: ['tenant-1'] }, { methods: [7] }), ALICE)));
  t.equal(methods.allowed, false, 'a number in methods');
  t.match(methods.status.message, /operation\.methods\[0\]/);
  const ports = await send('/validate', reviewOf(inputFor(authz({ namespaces: ['tenant-1'] }, { ports: [8080, '8443'] }), ALICE)));
  t.equal(ports.allowed, true, 'ports written as YAML numbers are numbers');
});

t.test('a review with userInfo.username "" is refused with 400, never judged or patched', async (t) => {
  const { send } = await server(t);
  for (const path of ['/mutate', '/validate'] as const) {
    const review = reviewOf(inputFor(knativeService('tenant-1', 'hello'), { username: '', groups: ['system:authenticated'] })) as { request: Record<string, unknown> };
    const res = await send(path, review);
    t.equal(res.allowed, false, path);
    t.equal(res.status.code, 400);
    t.match(res.status.message, /^TG_ERR_REVIEW_INVALID: request\.userInfo\.username is missing or empty/);
    t.notOk(res.patch);
  }
});
