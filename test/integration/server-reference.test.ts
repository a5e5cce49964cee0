import fjp from 'fast-json-patch';
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { loadManifests } from '../../src/cluster/manifests.js';
import type { MemoryStore } from '../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../src/config/default.js';
import { evaluate } from '../../src/engine/index.js';
import type { AdmissionInput, KubeObject } from '../../src/engine/types.js';
import { buildApp } from '../../src/server/app.js';
import { staticConfig } from '../../src/server/config-provider.js';
import { denialMessage, ruleIds } from '../../src/server/responses.js';
import { ALICE, BOB, capturingLogger, inputFor, knativeService, PLATFORM_ADMIN, referenceNamespaces, reviewOf } from '../unit/server/reviews.js';

const config = loadDefaultTenancyConfig();
const REFERENCE = 'test/fixtures/reference';

function actorFor(obj: KubeObject) {
  const ns = obj.metadata.namespace;
  return ns === 'tenant-1' ? ALICE : ns === 'tenant-2' ? BOB : PLATFORM_ADMIN;
}

/** Send `input` to both endpoints and check the answers against evaluate() on the same state. */
async function sameAsEngine(t: Test, app: ReturnType<typeof buildApp>, state: MemoryStore, input: AdmissionInput, label: string) {
  const expected = evaluate(structuredClone(input), state, config);
  const uid = `uid-${label.replace(/\W+/g, '-')}`;
  const responses: Record<string, any> = {};
  for (const url of ['/validate', '/mutate']) {
    const r = await app.inject({ method: 'POST', url, payload: reviewOf(input, uid) });
    t.equal(r.statusCode, 200, `${label} ${url}: HTTP 200`);
    const res = r.json().response;
    responses[url] = res;
    t.equal(res.uid, uid, `${label} ${url}: uid echoed`);
    t.equal(res.allowed, expected.allowed, `${label} ${url}: allowed as evaluate() says`);
    t.same(res.warnings ?? [], expected.warnings, `${label} ${url}: warnings`);
    if (!expected.allowed) {
      t.equal(res.status.message, denialMessage(expected.violations), `${label} ${url}: every violation in the message`);
      t.equal(res.auditAnnotations.rules, ruleIds(expected.violations).join(','), `${label} ${url}: rule ids annotated`);
      t.notOk(res.patch, `${label} ${url}: no patch on a denial`);
    }
  }
  const mutate = responses['/mutate'];
  t.notOk(responses['/validate'].patch, `${label}: /validate never patches`);
  if (expected.allowed && expected.patch.length > 0 && input.object) {
    t.equal(mutate.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(mutate.patch, 'base64').toString('utf8'));
    t.same(ops, expected.patch, `${label}: the patch is the engine's`);
    t.same(fjp.validate(ops, structuredClone(input.object)), undefined, `${label}: the patch applies cleanly`);
    const patched = fjp.applyPatch(structuredClone(input.object), ops, true, false).newDocument;
    // The API server runs /validate on the mutated object: it must pass.
    const again = await app.inject({ method: 'POST', url: '/validate', payload: reviewOf({ ...input, object: patched }) });
    t.equal(again.json().response.allowed, true, `${label}: the mutated object passes /validate`);
  } else if (expected.allowed) {
    t.notOk(mutate.patch, `${label}: no patch when the engine has none`);
  }
  return { expected, mutate };
}

t.test('reference setup: every manifest is admitted, same as evaluate()', async (t) => {
  const state = referenceNamespaces();
  const app = buildApp({ config: staticConfig(config), state, logger: capturingLogger().logger, registry: new Registry() });
  const manifests = await loadManifests([REFERENCE], { cwd: process.cwd() });
  t.ok(manifests.length >= 15, `loaded ${manifests.length} reference objects`);
  let patchedCount = 0;
  for (const m of manifests) {
    const label = `${m.object.kind} ${m.object.metadata.namespace ?? ''}/${m.object.metadata.name} (${m.source.file})`;
    const existing = state.get(`${m.object.apiVersion.includes('/') ? m.object.apiVersion.split('/')[0] : ''}/${m.object.kind}`, m.object.metadata.namespace, m.object.metadata.name!);
    const input = inputFor(m.object, actorFor(m.object), existing ? 'UPDATE' : 'CREATE', existing);
    const { expected, mutate } = await sameAsEngine(t, app, state, input, label);
    // The seed's per-tenant activator policies admit tenants by Host while the activator routes by header.
    const hostOnlyActivator = /^allow-tenant-\d-to-activator$/.test(m.object.metadata.name ?? '');
    t.equal(expected.allowed, !hostOnlyActivator, `${label}: the reference setup is admitted, but for its Host-only activator policies`);
    if (!expected.allowed) continue;
    if (mutate.patch) patchedCount++;
    // What the API server would store, for the next objects to be judged against.
    state.upsert(mutate.patch ? fjp.applyPatch(structuredClone(m.object), JSON.parse(Buffer.from(mutate.patch, 'base64').toString())).newDocument : m.object);
  }
  t.comment(`${patchedCount} of ${manifests.length} reference objects were patched on /mutate`);
});

const threats: { name: string; input: () => AdmissionInput; denied: boolean }[] = [
  {
    name: 'ksvc opting out of the sidecar',
    input: () => inputFor(knativeService('tenant-1', 'hello', { 'sidecar.istio.io/inject': 'false' }), ALICE),
    denied: true,
  },
  {
    name: 'tenant writes an AuthorizationPolicy into knative-serving',
    input: () =>
      inputFor(
        {
          apiVersion: 'security.istio.io/v1',
          kind: 'AuthorizationPolicy',
          metadata: { name: 'allow-me', namespace: 'knative-serving' },
          spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }] }] },
        },
        ALICE,
      ),
    denied: true,
  },
  {
    name: 'PERMISSIVE PeerAuthentication in a tenant',
    input: () =>
      inputFor({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'tenant-1' }, spec: { mtls: { mode: 'PERMISSIVE' } } }, ALICE),
    denied: true,
  },
  {
    name: 'tenant-1 policy allowing tenant-2 without a peering',
    input: () =>
      inputFor(
        {
          apiVersion: 'security.istio.io/v1',
          kind: 'AuthorizationPolicy',
          metadata: { name: 'open', namespace: 'tenant-1' },
          spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] },
        },
        ALICE,
      ),
    denied: true,
  },
  {
    name: 'DestinationRule disabling mTLS',
    input: () =>
      inputFor(
        { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'plain', namespace: 'tenant-1' }, spec: { host: '*', trafficPolicy: { tls: { mode: 'DISABLE' } } } },
        ALICE,
      ),
    denied: true,
  },
  {
    name: 'Pod without a sidecar',
    input: () =>
      inputFor(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'tenant-1', annotations: { 'sidecar.istio.io/inject': 'false' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
        ALICE,
      ),
    denied: true,
  },
  {
    name: 'a plain ksvc by its tenant (allowed)',
    input: () => inputFor(knativeService('tenant-1', 'fine'), ALICE),
    denied: false,
  },
  {
    name: 'status subresource update (not judged)',
    input: () => ({ ...inputFor(knativeService('tenant-1', 'fine'), { username: 'system:serviceaccount:knative-serving:controller', groups: [] }, 'UPDATE'), subResource: 'status' }),
    denied: false,
  },
];

t.test('threat cases: same decisions as evaluate(), and the threats are refused', async (t) => {
  const state = referenceNamespaces();
  const app = buildApp({ config: staticConfig(config), state, logger: capturingLogger().logger, registry: new Registry() });
  for (const c of threats) {
    const { expected } = await sameAsEngine(t, app, state, c.input(), c.name);
    t.equal(!expected.allowed, c.denied, `${c.name}: ${c.denied ? 'denied' : 'allowed'}`);
  }
});
