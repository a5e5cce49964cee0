// Property: starting from the reference setup (plus a third tenant), no
// sequence of AuthorizationPolicy writes and deletes and of Namespace creates
// and deletes by the tenants' admins that the engine admits one at a time ever
// yields an allowed cross-tenant cell in the matrix (the "(other)" row of
// namespaces nobody holds included), into or out of namespaces created during
// the sequence too, and the engine never fails on them. A namespace created
// gets the baseline a platform controller adds (STRICT, an ALLOW of its
// tenant's namespaces and the platform), itself judged by the engine. Replay a
// failure with TG_PROPERTY_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { computeMatrix } from '../../../src/mesh/matrix.js';
import type { KubeObject } from '../../../src/engine/types.js';
import fjp from 'fast-json-patch';
import type { MemoryStore } from '../../../src/cluster/memory-store.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { evaluate } from '../../../src/engine/index.js';
import type { Decision } from '../../../src/engine/types.js';
import { BASELINE_ROLE_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../src/tenancy/baseline-objects.js';
import { apply } from './admit.js';
import { ap, config, namespace, pa, referenceState, type Variant } from './reference-state.js';

const NUM_RUNS = Number(process.env.TG_PROPERTY_RUNS ?? 400);
const SEED = Number(process.env.TG_PROPERTY_SEED ?? Date.now() % 2 ** 31);

const NAMESPACES = ['tenant-1', 'tenant-2', 'tenant-3', 'knative-serving', 'istio-system', 'default'];
// Names the tenants may create or delete during a sequence; policies mention some of them.
const NEW_NAMESPACES = ['tenant-1-b', 'tenant-2-b', 'tenant-1x', 'qjx'];
const pick = <T>(xs: T[]) => fc.constantFrom(...xs);
const some = <T>(xs: T[]) => fc.uniqueArray(pick(xs), { minLength: 1, maxLength: 3 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const nsValues = ['tenant-1', 'tenant-2', 'tenant-3', 'tenant-*', '*', '*-2', 't*', 'knative-serving', 'istio-system', 'tenant-1-b', 'tenant-2-b', 'tenant-1*'];
const principalValues = ['cluster.local/ns/tenant-2/sa/default', 'c*/ns/tenant-2/sa/default', '*', 'cluster.local/ns/tenant-1/*', '*/sa/default', 'cluster.local/ns/knative-serving/sa/controller', 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'];
const saValues = ['tenant-2/default', 'tenant-1/default', 'knative-serving/controller'];
const ipValues = ['10.0.0.0/8', '0.0.0.0/0', '192.168.1.1'];
const rpValues = ['*', 'https://issuer/tenant-1', 'https://issuer/*'];
const hostValues = ['*.tenant-1.svc.cluster.local', '*.tenant-2.svc.cluster.local', '*.tenant-3.svc.cluster.local', '*', 'hello.tenant-1.svc.cluster.local', '*.svc.cluster.local', 'hello.tenant-1*', '*.tenant-1'];
const portValues = ['8012', '8013', '8022', '8080', '9090'];
const pathValues = ['/wait-for-drain', '/', '/admin*', '*'];
const methodValues = ['GET', 'POST', '*'];
const whenKeys = ['request.headers[knative-serving-namespace]', 'source.namespace', 'source.principal', 'destination.port', 'request.headers[x-tenant]', 'source.ip', 'request.auth.claims[iss]'];
const whenValues = ['tenant-1', 'tenant-2', 'tenant-*', '*', '8012', '8022', 'cluster.local/ns/tenant-2/sa/default', '10.0.0.0/8'];

const source = fc.record(
  {
    namespaces: some(nsValues),
    notNamespaces: some(nsValues),
    principals: some(principalValues),
    notPrincipals: some(principalValues),
    serviceAccounts: some(saValues),
    ipBlocks: some(ipValues),
    notIpBlocks: some(ipValues),
    remoteIpBlocks: some(ipValues),
    requestPrincipals: some(rpValues),
  },
  { requiredKeys: [] },
);
const operation = fc.record(
  { hosts: some(hostValues), notHosts: some(hostValues), ports: some(portValues), notPorts: some(portValues), paths: some(pathValues), methods: some(methodValues) },
  { requiredKeys: [] },
);
const condition = fc.record({ key: pick(whenKeys), values: some(whenValues) });
const rule = fc.record(
  {
    from: fc.array(fc.record({ source }), { minLength: 1, maxLength: 2 }),
    to: fc.array(fc.record({ operation }), { minLength: 1, maxLength: 2 }),
    when: fc.array(condition, { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const selector = pick([undefined, { app: 'activator' }, { role: 'activator' }, { app: 'x' }, { istio: 'ingressgateway' }, { tier: 'legacy' }]);
const gatewayRef = { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] };
const spec = fc.record(
  {
    action: maybe(pick(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'])),
    selector: selector.map((s) => (s ? { matchLabels: s } : undefined)),
    rules: fc.array(rule, { minLength: 0, maxLength: 2 }),
  },
  { requiredKeys: ['rules'] },
).chain((sp) => fc.boolean().map((gw) => (gw && !sp.selector ? { ...sp, ...gatewayRef } : sp)));

type Op =
  | { kind: 'write'; obj: KubeObject }
  | { kind: 'delete'; index: number }
  | { kind: 'dryrun'; index: number }
  | { kind: 'ns-create'; name: string; by: 'alice' | 'bob' }
  | { kind: 'ns-delete'; name: string; by: 'alice' | 'bob' };
const write = fc
  .record({ ns: pick(NAMESPACES), name: pick(['p1', 'p2', 'allow-traffic-to-tenant-1', 'allow-tenant-1-to-activator', 'allow-traffic-to-activator']), spec, dry: maybe(pick(['true', '1', 'T', 'tRuE'])) })
  .map(({ ns, name, spec, dry }): Op => ({ kind: 'write', obj: ap(ns, name, JSON.parse(JSON.stringify(spec)), dry ? { 'istio.io/dry-run': dry } : undefined) }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: write },
  { weight: 2, arbitrary: fc.nat(30).map((index): Op => ({ kind: 'delete', index })) },
  { weight: 1, arbitrary: fc.nat(30).map((index): Op => ({ kind: 'dryrun', index })) },
  { weight: 3, arbitrary: fc.record({ name: pick(NEW_NAMESPACES), by: pick<'alice' | 'bob'>(['alice', 'bob']) }).map(({ name, by }): Op => ({ kind: 'ns-create', name, by })) },
  { weight: 1, arbitrary: fc.record({ name: pick(NEW_NAMESPACES), by: pick<'alice' | 'bob'>(['alice', 'bob']) }).map(({ name, by }): Op => ({ kind: 'ns-delete', name, by })) },
);

const TENANT_OF = { alice: 'tenant-1', bob: 'tenant-2' } as const;
const ADMINS = { alice: { username: 'alice', groups: ['tenant-1-admins'] }, bob: { username: 'bob', groups: ['tenant-2-admins'] } };
const CONTROLLER = { username: 'system:serviceaccount:tenant-guard:tenant-guard', groups: ['system:serviceaccounts:knative-serving'] };

/** A Namespace write as the API server would run it: judged, then stored with the webhook's patch. */
function applyNamespace(s: MemoryStore, cfg: TenancyConfig, name: string, user: { username: string; groups: string[] }, operation: 'CREATE' | 'DELETE'): Decision {
  const old = s.get('/Namespace', undefined, name);
  if (operation === 'CREATE' && old) return { allowed: false, intercepted: true, violations: [{ rule: 'exists', path: '', message: 'AlreadyExists' }], warnings: [], patch: [] };
  if (operation === 'DELETE' && !old) return { allowed: false, intercepted: true, violations: [{ rule: 'missing', path: '', message: 'NotFound' }], warnings: [], patch: [] };
  const obj: KubeObject = old ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  const d = evaluate(
    { operation, kind: { group: '', version: 'v1', kind: 'Namespace' }, name, object: operation === 'CREATE' ? obj : undefined, oldObject: operation === 'DELETE' ? obj : undefined, userInfo: user, dryRun: false },
    s,
    cfg,
  );
  if (!d.allowed) return d;
  if (operation === 'DELETE') {
    // The namespace controller removes what lived in it.
    for (const gk of ['security.istio.io/AuthorizationPolicy', 'security.istio.io/PeerAuthentication']) for (const o of s.list(gk, name)) s.remove(o);
    s.remove(obj);
    return d;
  }
  s.upsert(fjp.applyPatch(structuredClone(obj), fjp.deepClone(d.patch), true, false).newDocument as KubeObject);
  return d;
}

/**
 * The baseline tenant-guard's controller keeps (src/controllers), judged like
 * any write: for every namespace of the tenant that the sequence created, a
 * STRICT PeerAuthentication and a managed ALLOW of the tenant's namespaces
 * that exist, so a deleted namespace's name is dropped from its siblings.
 */
function baseline(s: MemoryStore, cfg: TenancyConfig, tenant: string): void {
  const own = [...new Set([...s.namespacesWithLabel('tenant-guard.dev/tenant', tenant), ...(cfg.tenants.find((t) => t.name === tenant)?.namespaces ?? [])])].filter((ns) => s.get('/Namespace', undefined, ns)).sort();
  for (const name of own.filter((ns) => NEW_NAMESPACES.includes(ns))) {
    s.upsert(pa(name, 'default', { mtls: { mode: 'STRICT' } }));
    const obj = ap(name, 'baseline', { rules: [{ from: [{ source: { namespaces: [...own, 'knative-serving', 'istio-system'] } }] }] });
    obj.metadata.labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [BASELINE_ROLE_LABEL]: 'authorization-policy' };
    const d = apply(s, obj, { cfg, user: CONTROLLER });
    if (!d.allowed) throw new Error(`the baseline of ${name} was refused: ${JSON.stringify(d.violations)}`);
  }
}

function start(variant: Variant) {
  const s = referenceState(variant, [
    namespace('tenant-3', { 'tenant-guard.dev/tenant': 'tenant-3' }),
    pa('tenant-3', 'default', { mtls: { mode: 'STRICT' } }),
    // A legacy workload class in tenant-1 that still accepts plaintext: any ALLOW
    // with negative sources must be judged on pods carrying its label too.
    pa('tenant-1', 'legacy-permissive', { selector: { matchLabels: { tier: 'legacy' } }, mtls: { mode: 'PERMISSIVE' } }),
    ap('tenant-3', 'allow-own', { rules: [{ from: [{ source: { namespaces: ['tenant-3', 'knative-serving', 'istio-system'] } }] }] }),
    ap('knative-serving', 'allow-tenant-3-to-activator', {
      selector: { matchLabels: { app: 'activator' } },
      rules: [
        {
          from: [{ source: { namespaces: ['tenant-3'] } }],
          to: [{ operation: { hosts: ['*.tenant-3.svc.cluster.local'] } }],
          when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-3'] }],
        },
      ],
    }),
  ]);
  return s;
}

t.test('admitted AuthorizationPolicy changes never open a cross-tenant cell', async (t) => {
  t.comment(`fast-check seed ${SEED}, ${NUM_RUNS} runs (TG_PROPERTY_SEED / TG_PROPERTY_RUNS to change)`);
  const cfg = config();
  let admitted = 0;
  let rejected = 0;
  let created = 0;
  const begin = Date.now();
  fc.assert(
    fc.property(pick<Variant>(['kind', 'openshift']), fc.array(op, { minLength: 1, maxLength: 5 }), (variant, ops) => {
      const s = start(variant);
      const initial = computeMatrix(s, cfg).cells.filter((c) => c.allowed && c.from !== c.to);
      if (initial.length > 0) throw new Error(`start state already open: ${JSON.stringify(initial)}`);
      for (const o of ops) {
        const existing = s.list('security.istio.io/AuthorizationPolicy');
        let d;
        if (o.kind === 'ns-create') {
          d = applyNamespace(s, cfg, o.name, ADMINS[o.by], 'CREATE');
          if (d.allowed) {
            baseline(s, cfg, TENANT_OF[o.by]);
            created++;
          }
        } else if (o.kind === 'ns-delete') {
          d = applyNamespace(s, cfg, o.name, ADMINS[o.by], 'DELETE');
          if (d.allowed) baseline(s, cfg, TENANT_OF[o.by]);
        }
        else if (o.kind === 'write') d = apply(s, o.obj, { cfg });
        else {
          const target = existing[o.index % Math.max(1, existing.length)];
          if (!target) continue;
          if (o.kind === 'delete') d = apply(s, target, { cfg, operation: 'DELETE' });
          else d = apply(s, { ...target, metadata: { ...target.metadata, annotations: { 'istio.io/dry-run': 'true' } } }, { cfg });
        }
        if (d.violations.some((v) => v.rule === 'TG-ENGINE-ERROR')) throw new Error(`engine error: ${JSON.stringify(d.violations)}`);
        if (!d.allowed) {
          rejected++;
          continue;
        }
        admitted++;
        const open = computeMatrix(s, cfg).cells.filter((c) => c.allowed && c.from !== c.to);
        if (open.length > 0) throw new Error(`admitted ${JSON.stringify(o)} but ${open.map((c) => `${c.from} -> ${c.to} via ${c.path}: ${c.reason}`).join(' | ')}`);
      }
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  t.comment(`${admitted} admitted and ${rejected} rejected changes (${created} namespaces created) in ${Date.now() - begin} ms`);
  t.ok(admitted > 0 && rejected > 0 && created > 0, 'the generator exercises both outcomes, and namespaces are created');
});
