// The enforcement as the API server sees it (app.inject): warn admits with
// `warnings` and audit annotations, audit with audit annotations only, an
// exception names itself; metrics by rule and action; one log line each.
import t from 'tap';
import { Registry } from 'prom-client';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { buildApp } from '../../../src/server/app.js';
import { staticConfig } from '../../../src/server/config-provider.js';
import { ALICE, capturingLogger, inputFor, knativeService, referenceNamespaces, reviewOf } from './reviews.js';

function withEnforcement(extra: Record<string, unknown>) {
  const { enforcement: _e, exceptions: _x, ...base } = loadDefaultTenancyConfig();
  return parseTenancyConfig({ ...base, ...extra }, 'test config');
}

function app(extra: Record<string, unknown>) {
  const log = capturingLogger();
  const registry = new Registry();
  const a = buildApp({ config: staticConfig(withEnforcement(extra)), state: referenceNamespaces(), logger: log.logger, registry });
  return { app: a, log, registry };
}

const optOut = knativeService('tenant-1', 'hello', { 'sidecar.istio.io/inject': 'false' });
const twin = knativeService('tenant-1', 'hello-2', { 'sidecar.istio.io/inject': 'false' });
const RULE = 'TG-WORKLOAD-INJECT-OPTOUT';
const post = async (a: ReturnType<typeof app>['app'], url: string, obj = optOut) =>
  (await a.inject({ method: 'POST', url, payload: reviewOf(inputFor(obj, ALICE), 'u1') })).json().response;

t.test('warn: admitted, the warning in `warnings`, the finding in the audit annotations, patched on /mutate', async (t) => {
  const { app: a, registry, log } = app({ enforcement: { action: 'deny', overrides: [{ rules: [RULE], action: 'warn' }] } });
  const m = await post(a, '/mutate');
  t.equal(m.allowed, true);
  t.equal(m.patchType, 'JSONPatch', 'mutations stay on');
  t.match(m.warnings, [new RegExp(`^\\[${RULE}\\] would be denied; admitted because the rule is in warn mode`)]);
  t.equal(m.auditAnnotations['relaxed-rules'], `${RULE}:warn`);
  t.match(JSON.parse(m.auditAnnotations['relaxed-violations']), [{ rule: RULE, action: 'warn', path: String, message: /sidecar/ }]);
  const v = await post(a, '/validate');
  t.equal(v.allowed, true);
  t.notOk(v.patch);
  t.equal(v.auditAnnotations['relaxed-rules'], `${RULE}:warn`);
  t.match(await registry.metrics(), new RegExp(`tenant_guard_admission_violations_total\\{endpoint="mutate",rule="${RULE}",action="warn"\\} 1`));
  const lines = log.lines().filter((l) => l.msg === 'admission decision');
  t.equal(lines.length, 2, 'one line per decision');
  t.same(lines[0]!.relaxed, [`${RULE}:warn`]);
});

t.test('audit: admitted with audit annotations only, no warning', async (t) => {
  const { app: a, registry } = app({ enforcement: { action: 'audit' } });
  const v = await post(a, '/validate');
  t.equal(v.allowed, true);
  t.notOk(v.warnings, 'no warnings');
  t.same(v.auditAnnotations.decision, 'allowed');
  t.equal(v.auditAnnotations['relaxed-rules'], `${RULE}:audit`);
  t.match(await registry.metrics(), new RegExp(`tenant_guard_admission_violations_total\\{endpoint="validate",rule="${RULE}",action="audit"\\} 1`));
});

t.test('deny (the default): refused as before, counted with action deny', async (t) => {
  const { app: a, registry } = app({});
  const v = await post(a, '/validate');
  t.equal(v.allowed, false);
  t.notOk(v.auditAnnotations['relaxed-rules']);
  t.match(await registry.metrics(), new RegExp(`tenant_guard_admission_violations_total\\{endpoint="validate",rule="${RULE}",action="deny"\\} 1`));
});

t.test('an exception admits the named object, names itself, and refuses its twin; expired, it is logged once', async (t) => {
  const exception = { name: 'legacy-ksvc', rules: [RULE], namespaces: ['tenant-1'], names: ['hello'], reason: 'migration OPS-1', expires: '2099-12-31' };
  const { app: a, registry } = app({ exceptions: [exception] });
  const ok = await post(a, '/validate');
  t.equal(ok.allowed, true);
  t.match(ok.warnings, [/exception "legacy-ksvc" \(migration OPS-1; expires 2099-12-31\)/]);
  t.equal(ok.auditAnnotations['relaxed-rules'], `${RULE}:exception/legacy-ksvc`);
  t.equal((await post(a, '/validate', twin)).allowed, false, 'the twin is refused');
  t.match(await registry.metrics(), new RegExp(`action="exception"\\} 1`));

  const expired = app({ exceptions: [{ ...exception, expires: '2020-01-01' }] });
  t.equal((await post(expired.app, '/validate')).allowed, false);
  t.equal((await post(expired.app, '/validate')).allowed, false);
  const logged = expired.log.lines().filter((l) => l.exception === 'legacy-ksvc');
  t.equal(logged.length, 1, 'logged once');
  t.match(logged[0]!.msg, /exception expired/);
});

t.test('serve logs expired exceptions, and those expiring within a week, when a config is loaded', async (t) => {
  const { logExceptionExpiry } = await import('../../../src/server/config-provider.js');
  const log = capturingLogger();
  const config = withEnforcement({
    exceptions: [
      { name: 'old', rules: [RULE], tenants: ['tenant-1'], reason: 'r', expires: '2026-11-30' },
      { name: 'soon', rules: [RULE], tenants: ['tenant-1'], reason: 'r', expires: '2026-12-10' },
      { name: 'later', rules: [RULE], tenants: ['tenant-1'], reason: 'r', expires: '2027-06-30' },
    ],
  });
  logExceptionExpiry(config, log.logger, Date.parse('2026-12-07T12:00:00Z'));
  t.same(log.lines().map((l) => [l.exception, l.level, l.msg]), [
    ['old', 40, 'exception expired; it no longer matches (remove it from the tenancy config, or extend it)'],
    ['soon', 30, 'exception expires within a week'],
  ]);
});
