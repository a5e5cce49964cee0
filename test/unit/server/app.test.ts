import t from 'tap';
import { Registry } from 'prom-client';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import type { Decision } from '../../../src/engine/types.js';
import { buildApp, type AppOptions } from '../../../src/server/app.js';
import type { Evaluate } from '../../../src/server/admission.js';
import { staticConfig } from '../../../src/server/config-provider.js';
import { BODY_LIMIT_BYTES } from '../../../src/server/limits.js';
import { Readiness } from '../../../src/server/readiness.js';
import { ALICE, capturingLogger, inputFor, knativeService, PLATFORM_ADMIN, reviewOf } from './reviews.js';

const config = staticConfig(loadDefaultTenancyConfig());

function decision(over: Partial<Decision>): Decision {
  return { allowed: true, intercepted: true, violations: [], warnings: [], patch: [], ...over };
}

function app(over: Partial<AppOptions> = {}) {
  const log = capturingLogger();
  const registry = new Registry();
  const a = buildApp({ config, state: new MemoryStore(), logger: log.logger, registry, ...over });
  return { app: a, log, registry };
}

const ksvc = knativeService('tenant-1', 'hello', { 'sidecar.istio.io/inject': 'false' });
const body = (uid = 'uid-1') => reviewOf(inputFor(ksvc, ALICE), uid);

t.test('health, readiness and metrics', async (t) => {
  let ok = false;
  const { app: a } = app({ readiness: new Readiness().require('config', () => true).require('state', () => ok) });
  t.same((await a.inject('/healthz')).json(), { status: 'ok' });
  const r = await a.inject('/readyz');
  t.equal(r.statusCode, 503);
  t.same(r.json(), { status: 'not ready', waiting: ['state'] });
  ok = true;
  t.equal((await a.inject('/readyz')).statusCode, 200);
  const m = await a.inject('/metrics');
  t.equal(m.statusCode, 200);
  t.match(m.headers['content-type'], /^text\/plain/);
  t.match(m.body, /# TYPE tenant_guard_admission_requests_total counter/);
});

t.test('allowed with a patch: /mutate patches, /validate does not', async (t) => {
  const patch = [{ op: 'add' as const, path: '/metadata/labels', value: { x: 'y' } }];
  const { app: a, registry } = app({ evaluate: () => decision({ patch, warnings: ['heads up'] }) });
  const m = (await a.inject({ method: 'POST', url: '/mutate', payload: body('m1') })).json();
  t.equal(m.apiVersion, 'admission.k8s.io/v1');
  t.equal(m.kind, 'AdmissionReview');
  t.equal(m.response.uid, 'm1');
  t.equal(m.response.allowed, true);
  t.equal(m.response.patchType, 'JSONPatch');
  t.same(JSON.parse(Buffer.from(m.response.patch, 'base64').toString()), patch);
  t.same(m.response.warnings, ['heads up']);
  const v = (await a.inject({ method: 'POST', url: '/validate', payload: body('v1') })).json();
  t.same(v.response, { uid: 'v1', allowed: true, status: { code: 200 }, warnings: ['heads up'] });
  const text = await registry.metrics();
  t.match(text, /tenant_guard_admission_requests_total\{endpoint="mutate",kind="serving.knative.dev\/Service",operation="CREATE",decision="patched"\} 1/);
  t.match(text, /tenant_guard_admission_duration_seconds_count\{endpoint="validate",kind="serving.knative.dev\/Service",operation="CREATE",decision="allowed"\} 1/);
});

t.test('denied: the same message on both endpoints, every rule id listed, audit annotations and metrics', async (t) => {
  const violations = [
    { rule: 'TG-ONE', path: 'spec.a', message: 'a is wrong' },
    { rule: 'TG-TWO', path: 'spec.b', message: 'b is wrong' },
  ];
  const { app: a, registry, log } = app({ evaluate: () => decision({ allowed: false, violations, patch: [] }) });
  const m = (await a.inject({ method: 'POST', url: '/mutate', payload: body('d1') })).json().response;
  const v = (await a.inject({ method: 'POST', url: '/validate', payload: body('d1') })).json().response;
  t.same(m, v);
  t.equal(m.allowed, false);
  t.equal(m.status.code, 403);
  t.equal(m.status.reason, 'Forbidden');
  t.match(m.status.message, /\[TG-ONE\] spec\.a: a is wrong\n\[TG-TWO\] spec\.b: b is wrong/);
  t.same(m.auditAnnotations, { decision: 'denied', rules: 'TG-ONE,TG-TWO' });
  t.notOk(m.patch);
  // One review (uid d1) judged on both endpoints, as the API server does: one count per rule.
  t.match(await registry.metrics(), /tenant_guard_admission_denials_total\{rule="TG-TWO"\} 1\n/);
  await a.inject({ method: 'POST', url: '/validate', payload: body('d2') });
  t.match(await registry.metrics(), /tenant_guard_admission_denials_total\{rule="TG-TWO"\} 2\n/, 'another review counts');
  const line = log.lines().find((l) => l.msg === 'admission decision' && l.endpoint === 'validate')!;
  t.match(line, {
    uid: 'd1',
    kind: 'serving.knative.dev/v1/Service',
    namespace: 'tenant-1',
    name: 'hello',
    operation: 'CREATE',
    user: 'alice',
    decision: 'denied',
    rules: ['TG-ONE', 'TG-TWO'],
  });
  t.type(line.latencyMs, 'number');
});

t.test('an engine that throws never allows and never crashes the server', async (t) => {
  const boom: Evaluate = () => {
    throw new TypeError("Cannot read properties of undefined (reading 'spec')");
  };
  const { app: a, log } = app({ evaluate: boom });
  for (const url of ['/mutate', '/validate']) {
    const r = await a.inject({ method: 'POST', url, payload: body('e1') });
    t.equal(r.statusCode, 200);
    const res = r.json().response;
    t.equal(res.allowed, false);
    t.equal(res.status.code, 500);
    // A tenant caller does not read the exception's words (they may name another tenant's objects); the log does.
    t.match(res.status.message, /^TG_ERR_ENGINE: an internal error \(its words may name objects you cannot read.*denied \(fail closed\)/);
    t.notMatch(res.status.message, /Cannot read properties/);
  }
  t.equal((await a.inject('/healthz')).statusCode, 200);
  t.match(log.lines().find((l) => l.decision === 'error'), { level: 50, errorCode: 'TG_ERR_ENGINE', err: /^TG_ERR_ENGINE: Cannot read properties of undefined/ });
  const admin = (await a.inject({ method: 'POST', url: '/validate', payload: reviewOf(inputFor(ksvc, PLATFORM_ADMIN), 'e2') })).json().response;
  t.match(admin.status.message, /^TG_ERR_ENGINE: Cannot read properties of undefined .*denied \(fail closed\)/, 'a platform admin reads it whole');
});

t.test('the real engine: an object without metadata is denied with a clear message, not a 500', async (t) => {
  const { app: a } = app();
  const input = inputFor(ksvc, ALICE);
  const review = reviewOf(input, 'nm');
  (review.request as Record<string, unknown>).object = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', spec: {} };
  const r = await a.inject({ method: 'POST', url: '/validate', payload: review });
  t.equal(r.statusCode, 200);
  const res = r.json().response;
  t.equal(res.uid, 'nm');
  t.equal(res.allowed, false);
  t.match(res.status.message, /TG-ENGINE-ERROR.*no metadata/s);
});

t.test('a request the engine cannot take is denied with the reason (fail closed)', async (t) => {
  const { app: a } = app();
  const review = body('bad-op');
  (review.request as Record<string, unknown>).operation = 'PATCH';
  (review.request as Record<string, unknown>).object = 'not an object';
  const res = (await a.inject({ method: 'POST', url: '/mutate', payload: review })).json().response;
  t.same(res.uid, 'bad-op');
  t.equal(res.allowed, false);
  t.equal(res.status.code, 400);
  t.match(res.status.message, /^TG_ERR_REVIEW_INVALID: request\.operation is "PATCH".*request\.object is not a JSON object; the request is denied/);
});

t.test('state still loading: requests are refused, not judged on a partial state', async (t) => {
  const { app: a } = app({ stateReady: () => false, evaluate: () => decision({}) });
  const res = (await a.inject({ method: 'POST', url: '/validate', payload: body() })).json().response;
  t.equal(res.allowed, false);
  t.match(res.status.message, /^TG_ERR_CLUSTER: .*has not finished loading/);
});

t.test('bodies that are not an AdmissionReview get 400 with the reason', async (t) => {
  const { app: a, registry } = app();
  const cases: [string, string | object, RegExp][] = [
    ['application/json', '{"apiVersion": ', /TG_ERR_REVIEW_INVALID: the body is not valid JSON/],
    ['application/json', [1, 2], /not a JSON object/],
    ['application/json', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }, /only "admission\.k8s\.io\/v1" is served/],
    ['application/json', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /no "request" object/],
    ['application/json', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }, /request\.uid is missing/],
  ];
  for (const [type, payload, re] of cases) {
    const r = await a.inject({ method: 'POST', url: '/validate', headers: { 'content-type': type }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
    t.equal(r.statusCode, 400, JSON.stringify(payload));
    t.equal(r.json().code, 'TG_ERR_REVIEW_INVALID');
    t.match(r.json().message, re);
  }
  const media = await a.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'text/plain' }, payload: 'x' });
  t.equal(media.statusCode, 415);
  t.match(media.json().message, /content-type must be application\/json/);
  t.match(await registry.metrics(), /tenant_guard_admission_requests_total\{endpoint="validate",kind="unknown",operation="unknown",decision="invalid"\} 6/);
});

t.test('bodies above 7 MiB get 413; an UPDATE of two 3 MiB objects fits', async (t) => {
  const { app: a } = app({ evaluate: () => decision({}) });
  const big = await a.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(BODY_LIMIT_BYTES + 1) });
  t.equal(big.statusCode, 413);
  t.match(big.json(), { code: 'TG_ERR_REVIEW_INVALID', message: /larger than 7340032 bytes/ });
  const filler = 'y'.repeat(3 * 1024 * 1024 - 300);
  const obj = { ...ksvc, metadata: { ...ksvc.metadata, annotations: { filler } } };
  const r = await a.inject({ method: 'POST', url: '/validate', payload: reviewOf(inputFor(obj, ALICE, 'UPDATE', obj)) });
  t.equal(r.statusCode, 200);
  t.equal(r.json().response.allowed, true);
});

t.test('logs: one line per decision, no object bodies, no request ids missing', async (t) => {
  const { app: a, log } = app({ decisionLog: 'all' });
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'tenant-1' }, data: { password: 'aHVudGVyMg==' } };
  await a.inject({ method: 'POST', url: '/validate', payload: reviewOf(inputFor(secret, ALICE), 'sec') });
  const lines = log.lines().filter((l) => l.msg === 'admission decision');
  t.equal(lines.length, 1);
  t.equal(lines[0]!.uid, 'sec');
  t.equal(lines[0]!.level, 30, 'the full decision log puts allowed decisions at info');
  t.match(lines[0]!.reqId, /^req-/);
  t.notMatch(log.text(), /aHVudGVyMg==/);
});

t.test('logs: by default allowed decisions go to debug, denials stay at info with their content', async (t) => {
  const { app: a, log } = app();
  // Already non-root: no SETUID/SETGID patch, so no warning announcing one (a warning goes to info).
  const plain = knativeService('tenant-1', 'ok');
  plain.spec.template.spec.containers[0].securityContext = { runAsNonRoot: true, allowPrivilegeEscalation: false };
  const allowedSvc = reviewOf(inputFor(plain, ALICE), 'ok-1');
  await a.inject({ method: 'POST', url: '/mutate', payload: allowedSvc });
  t.same(log.lines().filter((l) => l.msg === 'admission decision'), [], 'no info line for a plain allowed review');
  // A root container gets the SETUID/SETGID drop and a warning announcing it: as common as the patch, still no info line.
  const announced = await a.inject({ method: 'POST', url: '/mutate', payload: reviewOf(inputFor(knativeService('tenant-1', 'root'), ALICE), 'ok-2') });
  t.match(JSON.parse(announced.body).response.warnings, [/\(patched\): /], 'the patch is announced to the client');
  t.same(log.lines().filter((l) => l.msg === 'admission decision'), [], 'and not logged at info');
  await a.inject({ method: 'POST', url: '/validate', payload: body('den-1') });
  const [line] = log.lines().filter((l) => l.msg === 'admission decision');
  t.match(line, { level: 30, uid: 'den-1', endpoint: 'validate', kind: 'serving.knative.dev/v1/Service', namespace: 'tenant-1', name: 'hello', operation: 'CREATE', user: 'alice', decision: 'denied', rules: ['TG-WORKLOAD-INJECT-OPTOUT'] });
  t.type(line!.latencyMs, 'number');

  const debug = capturingLogger('debug');
  const b = buildApp({ config, state: new MemoryStore(), logger: debug.logger });
  await b.inject({ method: 'POST', url: '/mutate', payload: allowedSvc });
  t.match(debug.lines().filter((l) => l.msg === 'admission decision'), [{ level: 20, uid: 'ok-1', decision: 'patched' }], '--log-level debug shows them');
});

t.test('apps are independent: separate registries and state', async (t) => {
  const one = app({ evaluate: () => decision({}) });
  const two = app({ evaluate: () => decision({}) });
  await one.app.inject({ method: 'POST', url: '/validate', payload: body() });
  t.match(await one.registry.metrics(), /decision="allowed"\} 1/);
  t.notMatch(await two.registry.metrics(), /decision="allowed"\}/);
});
