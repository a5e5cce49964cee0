// The platform's enforcement (src/engine/enforcement.ts): actions per rule,
// precedence, exceptions by each selector, expiry, isolation paths, and the
// config checks that refuse what cannot be relaxed.
import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { compiledEnforcement, enforce, expiryOf } from '../../../src/engine/enforcement.js';
import { FAIL_CLOSED_RULES, HARDENING_RULES, HIDES, PATH_RULES } from '../../../src/config/rule-classes.js';
import { evaluate, ruleCatalog } from '../../../src/engine/index.js';
import type { AdmissionInput, KubeObject, UserInfo } from '../../../src/engine/types.js';
import { isTenantGuardError } from '../../../src/errors.js';
import { alice, bob, namespace, referenceState, TENANT_LABEL } from './workload-harness.js';

const NOW = Date.parse('2027-01-15T12:00:00Z');

function cfg(extra: Record<string, unknown>, base: TenancyConfig = loadDefaultTenancyConfig()): TenancyConfig {
  const { enforcement: _e, exceptions: _x, ...rest } = structuredClone(base);
  return parseTenancyConfig({ ...rest, ...extra }, 'test config');
}

function refused(extra: Record<string, unknown>, base?: TenancyConfig): string {
  try {
    cfg(extra, base);
  } catch (e) {
    if (isTenantGuardError(e)) return e.message;
    throw e;
  }
  return '(accepted)';
}

function gvk(obj: KubeObject) {
  const slash = obj.apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: obj.apiVersion, kind: obj.kind } : { group: obj.apiVersion.slice(0, slash), version: obj.apiVersion.slice(slash + 1), kind: obj.kind };
}

function run(obj: KubeObject, user: UserInfo, config: TenancyConfig, state: MemoryStore = referenceState(), now = NOW) {
  const input: AdmissionInput = {
    operation: 'CREATE',
    kind: gvk(obj),
    namespace: obj.kind === 'Namespace' ? undefined : obj.metadata.namespace,
    name: obj.metadata.name,
    object: obj,
    userInfo: user,
    dryRun: false,
  };
  return enforce(evaluate, input, state, config, now);
}

const deployment = (name: string, ns = 'tenant-1', labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns, labels },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations: { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/8' } }, spec: { containers: [{ name: 'app', image: 'x' }] } },
  },
});

// One rule of each kind of object: workloads, namespaces, mTLS, mesh config, Services, authorization.
const SAMPLES: { rule: string; obj: () => KubeObject; extraRules?: string[] }[] = [
  { rule: 'TG-WORKLOAD-CAPTURE-BYPASS', obj: () => deployment('legacy-agent') },
  {
    rule: 'TG-NS-INJECTION-DISABLED',
    obj: () => namespace('tenant-1-x', { [TENANT_LABEL]: 'tenant-1', 'istio-injection': 'disabled' }),
  },
  {
    rule: 'TG-PEERAUTHN-MODE',
    extraRules: ['TG-PEERAUTHN-WEAKEN'],
    obj: () => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'p', namespace: 'tenant-1' }, spec: { mtls: { mode: 'PERMISSIVE' } } }),
  },
  { rule: 'TG-ISTIO-ENVOYFILTER', obj: () => ({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'e', namespace: 'tenant-1' }, spec: {} }) },
  { rule: 'TG-SERVICE-EXTERNAL-IPS', obj: () => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'tenant-1' }, spec: { externalIPs: ['1.2.3.4'], ports: [{ port: 80 }] } }) },
  {
    rule: 'TG-AUTHZ-FOREIGN-SOURCE',
    obj: () => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'x', namespace: 'tenant-1' }, spec: { rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] } }),
  },
];

for (const s of SAMPLES) {
  t.test(`${s.rule}: deny, warn and audit`, async (t) => {
    const raw = run(s.obj(), alice, cfg({})).raw;
    t.ok(raw.violations.some((v) => v.rule === s.rule), `the engine refuses it: ${JSON.stringify(raw.violations.map((v) => v.rule))}`);
    const rules = [...new Set(raw.violations.map((v) => v.rule))];

    const deny = run(s.obj(), alice, cfg({ enforcement: { action: 'deny' } }));
    t.notOk(deny.decision.allowed, 'deny refuses');
    t.same(deny.decision, raw, 'deny leaves the decision as the engine made it');
    t.same(deny.outcomes.map((o) => o.outcome), raw.violations.map(() => 'deny'));

    // A rule that hides others (enforcement-rules.ts HIDES) is relaxed together with them.
    const warn = run(s.obj(), alice, cfg({ enforcement: { action: 'deny', overrides: [{ rules: [...rules, ...(s.extraRules ?? [])], action: 'warn' }] } }));
    t.ok(warn.decision.allowed, 'warn admits');
    t.same(warn.decision.violations, []);
    t.ok(warn.decision.warnings.some((w) => w.startsWith(`[${s.rule}] would be denied`)), warn.decision.warnings.join('\n'));
    t.ok(warn.decision.relaxed?.every((v) => v.action === 'warn'));
    t.same(warn.decision.patch, raw.heldPatch ?? [], 'mutations stay on');

    const audit = run(s.obj(), alice, cfg({ enforcement: { action: 'audit' } }));
    t.ok(audit.decision.allowed, 'audit admits');
    t.same(audit.decision.warnings, raw.warnings, 'audit adds no warning');
    t.ok(audit.decision.relaxed?.some((v) => v.rule === s.rule && v.action === 'audit'));
    t.same(audit.outcomes.map((o) => o.outcome), raw.violations.map(() => 'audit'));
  });
}

t.test('the hot path: a clean decision, or a config that relaxes nothing, is returned as is', async (t) => {
  const clean = { ...deployment('clean') };
  clean.spec!.template.metadata.annotations = {};
  const r = run(clean, alice, cfg({ enforcement: { action: 'audit' } }));
  t.ok(r.decision === r.raw, 'same object');
  const d = run(deployment('legacy-agent'), alice, loadDefaultTenancyConfig());
  t.ok(d.decision === d.raw, 'default config: same object');
  t.ok(compiledEnforcement(loadDefaultTenancyConfig()).allDeny);
});

t.test('precedence: namespace > tenant > rule > default; the strictest among equals', async (t) => {
  const c = compiledEnforcement(
    cfg({
      enforcement: {
        action: 'audit',
        overrides: [
          { rules: ['TG-WORKLOAD-*'], action: 'warn' },
          { rules: ['TG-WORKLOAD-CAPTURE-BYPASS'], tenants: ['tenant-1'], action: 'audit' },
          { rules: ['TG-WORKLOAD-CAPTURE-BYPASS'], namespaces: ['tenant-1-legacy'], action: 'deny' },
          { rules: ['TG-WORKLOAD-HOST-PATH'], action: 'deny' },
          { rules: ['TG-WORKLOAD-HOST-PATH'], action: 'audit' },
        ],
      },
    }),
  );
  const R = 'TG-WORKLOAD-CAPTURE-BYPASS';
  t.equal(c.actionOf(R, 'tenant-1-legacy', 'tenant-1'), 'deny', 'namespace override');
  t.equal(c.actionOf(R, 'tenant-1', 'tenant-1'), 'audit', 'tenant override');
  t.equal(c.actionOf(R, 'tenant-2', 'tenant-2'), 'warn', 'rule prefix override');
  t.equal(c.actionOf('TG-ISTIO-GATEWAY', 'tenant-2', 'tenant-2'), 'audit', 'default');
  t.equal(c.actionOf('TG-WORKLOAD-HOST-PATH', 'tenant-2', 'tenant-2'), 'deny', 'equally specific: the strictest');
  t.equal(c.actionOf('TG-AUTHZ-MALFORMED', 'tenant-2', 'tenant-2'), 'deny', 'fail closed whatever the default');
  t.equal(c.actionOf('TG-ENGINE-ERROR', undefined, undefined), 'deny');
});

t.test('a rule that hides others is never more lenient than they are', async (t) => {
  const pa = SAMPLES.find((s) => s.rule === 'TG-PEERAUTHN-MODE')!.obj;
  const alone = run(pa(), alice, cfg({ enforcement: { action: 'deny', overrides: [{ rules: ['TG-PEERAUTHN-MODE'], action: 'warn' }] } }));
  t.notOk(alone.decision.allowed, 'TG-PEERAUTHN-WEAKEN (never judged) still denies, so MODE does too');
  const both = run(pa(), alice, cfg({ enforcement: { action: 'deny', overrides: [{ rules: ['TG-PEERAUTHN-MODE', 'TG-PEERAUTHN-WEAKEN'], action: 'warn' }] } }));
  t.ok(both.decision.allowed);
  for (const [rule, hidden] of Object.entries(HIDES)) for (const h of hidden) t.ok(ruleCatalog.some((r) => r.id === h), `${rule} hides ${h}, a known rule`);
});

t.test('fail-closed rules deny under any action', async (t) => {
  const bad = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'm', namespace: 'tenant-1' }, spec: { action: 'NOPE' } };
  const r = run(bad, alice, cfg({ enforcement: { action: 'audit' } }));
  t.same(r.raw.violations.map((v) => v.rule), ['TG-AUTHZ-MALFORMED']);
  t.notOk(r.decision.allowed);
});

const EXPIRES = '2027-03-31';
const legacy = { rules: ['TG-WORKLOAD-CAPTURE-BYPASS'], reason: 'vendor agent needs its own egress (OPS-123)', expires: EXPIRES };

t.test('exceptions: each selector admits the named object and refuses its twin', async (t) => {
  const cases: [string, Record<string, unknown>, KubeObject, KubeObject][] = [
    ['namespaces', { namespaces: ['tenant-1'] }, deployment('a', 'tenant-1'), deployment('a', 'tenant-2')],
    ['tenants', { tenants: ['tenant-1'] }, deployment('a', 'tenant-1'), deployment('a', 'tenant-2')],
    ['kinds (Kind)', { tenants: ['tenant-1'], kinds: ['Deployment'] }, deployment('a'), { ...deployment('a'), apiVersion: 'apps/v1', kind: 'StatefulSet' }],
    ['kinds (group/Kind)', { tenants: ['tenant-1'], kinds: ['apps/Deployment'] }, deployment('a'), { ...deployment('a'), kind: 'DaemonSet' }],
    ['names', { namespaces: ['tenant-1'], names: ['legacy-agent'] }, deployment('legacy-agent'), deployment('legacy-agent-2')],
    ['selector matchLabels', { namespaces: ['tenant-1'], selector: { matchLabels: { vendor: 'acme' } } }, deployment('a', 'tenant-1', { vendor: 'acme' }), deployment('a', 'tenant-1', { vendor: 'other' })],
    ['selector matchExpressions', { namespaces: ['tenant-1'], selector: { matchExpressions: [{ key: 'vendor', operator: 'In', values: ['acme', 'initech'] }, { key: 'beta', operator: 'DoesNotExist' }] } }, deployment('a', 'tenant-1', { vendor: 'initech' }), deployment('a', 'tenant-1', { vendor: 'initech', beta: '1' })],
  ];
  for (const [what, where, yes, twin] of cases) {
    const c = cfg({ exceptions: [{ name: 'legacy', ...legacy, ...where }] });
    const user = yes.metadata.namespace === 'tenant-2' ? bob : alice;
    const a = run(yes, user, c);
    t.ok(a.decision.allowed, `${what}: the named object is admitted`);
    t.ok(a.decision.warnings.some((w) => w.includes('exception "legacy" (vendor agent needs its own egress (OPS-123); expires 2027-03-31)')), `${what}: the warning names the exception`);
    t.same(a.decision.relaxed?.map((v) => [v.rule, v.action, v.exception]), [['TG-WORKLOAD-CAPTURE-BYPASS', 'exception', 'legacy']]);
    t.ok(a.decision.patch.length > 0, `${what}: mutations stay on`);
    const b = run(twin, twin.metadata.namespace === 'tenant-2' ? bob : alice, c);
    t.notOk(b.decision.allowed, `${what}: the twin is refused`);
  }
  // The exception lifts only the rules it names.
  const c = cfg({ exceptions: [{ ...legacy, tenants: ['tenant-1'], rules: ['TG-WORKLOAD-HOST-PATH'] }] });
  t.notOk(run(deployment('legacy-agent'), alice, c).decision.allowed);
});

t.test('an expired exception no longer matches and is reported', async (t) => {
  const c = cfg({ exceptions: [{ ...legacy, namespaces: ['tenant-1'] }] });
  const lastDay = Date.parse('2027-03-31T23:59:59Z');
  t.ok(run(deployment('a'), alice, c, referenceState(), lastDay).decision.allowed, 'valid through its last day (UTC)');
  const after = run(deployment('a'), alice, c, referenceState(), Date.parse('2027-04-01T00:00:00Z'));
  t.notOk(after.decision.allowed, 'refused the day after');
  t.same(after.expired, ['exceptions[0]']);
  t.equal(expiryOf('2027-03-31T08:00:00Z'), Date.parse('2027-03-31T08:00:00Z'), 'an RFC 3339 time is exact');
  t.equal(expiryOf('2027-02-30'), undefined, 'a date that does not exist');
});

/** Three tenants, each owning the namespace of its name. */
function threeTenants(extra: Record<string, unknown> = {}): TenancyConfig {
  const base = loadDefaultTenancyConfig();
  return cfg({ tenants: [...base.tenants, { name: 'tenant-3', admins: { users: ['carl'], groups: [] }, namespaces: ['tenant-3'] }], ...extra });
}

function threeState(): MemoryStore {
  const s = referenceState();
  s.upsert(namespace('tenant-3', { [TENANT_LABEL]: 'tenant-3', 'istio-injection': 'enabled' }));
  for (const ns of ['knative-serving', 'istio-system']) s.upsert(namespace(ns));
  return s;
}

const ap = (sources: string[]): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'allow-partner', namespace: 'tenant-1' },
  spec: { rules: [{ from: [{ source: { namespaces: sources } }] }] },
});

t.test('isolation exceptions: one exact path (from, to), checked by re-judging with that path peered', async (t) => {
  const exception = { name: 'partner-migration', rules: ['TG-AUTHZ-OPENS-PATH', 'TG-AUTHZ-FOREIGN-SOURCE'], namespaces: ['tenant-1'], path: { from: 'tenant-2', to: 'tenant-1' }, reason: 'OPS-7', expires: EXPIRES };
  const c = threeTenants({ exceptions: [exception] });
  const one = run(ap(['tenant-1', 'tenant-2']), alice, c, threeState());
  t.notOk(one.raw.allowed, 'the engine refuses it');
  t.ok(one.decision.allowed, 'the path tenant-2 -> tenant-1 is lifted');
  t.ok(one.decision.relaxed?.every((v) => v.exception === 'partner-migration'));
  const two = run(ap(['tenant-1', 'tenant-2', 'tenant-3']), alice, c, threeState());
  t.notOk(two.decision.allowed, 'a policy that also opens tenant-3 -> tenant-1 is refused');
  const wildcard = run(ap(['tenant-*']), alice, c, threeState());
  t.notOk(wildcard.decision.allowed, 'a pattern (any tenant, and namespaces created later) is refused');
  const reverse = threeTenants({ exceptions: [{ ...exception, path: { from: 'tenant-3', to: 'tenant-1' } }] });
  t.notOk(run(ap(['tenant-1', 'tenant-2']), alice, reverse, threeState()).decision.allowed, 'another path does not lift it');
});

t.test('isolation exceptions: a namespace name trusted by another tenant', async (t) => {
  // tenant-1 trusts "tenant-2-jobs" (which does not exist yet); tenant-2 creating it inherits that trust.
  const s = threeState();
  s.upsert({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow', namespace: 'tenant-1' }, spec: { rules: [{ from: [{ source: { namespaces: ['tenant-1', 'tenant-2-jobs'] } }] }] } });
  const ns = namespace('tenant-2-jobs', { [TENANT_LABEL]: 'tenant-2' });
  const base = run(ns, bob, threeTenants(), s);
  t.same(base.raw.violations.map((v) => v.rule), ['TG-NS-TRUSTED-NAME']);
  const ok = threeTenants({ exceptions: [{ rules: ['TG-NS-TRUSTED-NAME'], tenants: ['tenant-2'], kinds: ['Namespace'], names: ['tenant-2-jobs'], path: { from: 'tenant-2', to: 'tenant-1' }, reason: 'r', expires: EXPIRES }] });
  t.ok(run(ns, bob, ok, s).decision.allowed);
  const wrong = threeTenants({ exceptions: [{ rules: ['TG-NS-TRUSTED-NAME'], tenants: ['tenant-2'], path: { from: 'tenant-3', to: 'tenant-1' }, reason: 'r', expires: EXPIRES }] });
  t.notOk(run(ns, bob, wrong, s).decision.allowed);
});

t.test('the config refuses what cannot be relaxed', async (t) => {
  const x = (over: Record<string, unknown>) => ({ exceptions: [{ ...legacy, namespaces: ['tenant-1'], ...over }] });
  t.match(refused(x({ rules: ['TG-AUTHZ-OPENS-PATH'] })), /exceptions\.0\.rules\.0: TG-AUTHZ-OPENS-PATH is an isolation rule: an exception must name the one cross-tenant path/);
  t.match(refused(x({ rules: ['TG-NS-TRUSTED-NAME'] })), /isolation rule: an exception must name the one cross-tenant path/);
  t.equal(refused(x({ rules: ['TG-AUTHZ-OPENS-PATH'], path: { from: 'tenant-2', to: 'tenant-1' } })), '(accepted)');
  t.match(refused(x({ rules: ['TG-TENANT-FOREIGN-NAMESPACE'], path: { from: 'tenant-2', to: 'tenant-1' } })), /isolation rule that no exception can lift/);
  t.match(refused(x({ rules: ['TG-NS-TENANT-*'] })), /covers no rule an exception can lift by pattern/);
  t.match(refused(x({ rules: ['TG-AUTHZ-MALFORMED'] })), /can never be lifted/);
  t.match(refused(x({ rules: ['TG-AUTHZ-OPENS-PATH'], path: { from: 'tenant-2', to: 'tenant-9' } })), /path\.to: unknown tenant "tenant-9"/);
  t.match(refused(x({ rules: ['TG-AUTHZ-OPENS-PATH'], path: { from: 'tenant-1', to: 'tenant-1' } })), /same tenant/);
  t.match(refused(x({ path: { from: 'tenant-2', to: 'tenant-1' } })), /a path only applies to isolation rules/);
  t.match(refused(x({ rules: ['TG-NOPE'] })), /"TG-NOPE" names no known rule/);
  t.match(refused(x({ expires: '2027-02-30' })), /expires: "2027-02-30" is not a date/);
  t.match(refused(x({ expires: 'soon' })), /expires/);
  t.match(refused(x({ reason: undefined })), /missing required field "reason"/);
  t.match(refused(x({ names: ['a'], selector: { matchLabels: { a: 'b' } } })), /names or selector, not both/);
  t.match(refused({ exceptions: [{ ...legacy, selector: { matchLabels: { vendor: 'acme' } } }] }), /exceptions\.0: name the namespaces or tenants it applies to/);
  t.match(refused({ enforcement: { action: 'deny', overrides: [{ rules: ['TG-WORKLOAD-NOPE'], action: 'warn' }] } }), /enforcement\.overrides\.0\.rules\.0: "TG-WORKLOAD-NOPE" names no known rule/);
  t.match(refused({ enforcement: { action: 'deny', overrides: [{ rules: ['TG-NOPE-*'], action: 'warn' }] } }), /names no known rule/);
  t.match(refused({ enforcement: { action: 'deny', overrides: [{ rules: ['TG-ENGINE-ERROR'], action: 'warn' }] } }), /always denies/);
  t.match(refused({ enforcement: { action: 'block' } }), /enforcement\.action/);
  t.equal(refused({ enforcement: { action: 'warn', overrides: [{ rules: ['*'], namespaces: ['tenant-1'], action: 'deny' }] } }), '(accepted)');
  const d = cfg({});
  t.same(d.enforcement, { action: 'deny', overrides: [] }, 'a config without enforcement denies everything');
  t.same(d.exceptions, []);
});

t.test('every rule class names known rules', async (t) => {
  const ids = new Set(ruleCatalog.map((r) => r.id));
  for (const set of [FAIL_CLOSED_RULES, HARDENING_RULES, PATH_RULES]) for (const id of set) t.ok(ids.has(id), id);
});
