// The baseline's policies on the activator under both ways Envoy matches a
// repeated header, against a transcription of Istio's translation:
// - `values` is an OR of header matchers, `notValues` the NOT of that OR
//   (istio pilot/pkg/security/authz/model/model.go generatePrincipal);
//   "*" is a presence match, "*x" a suffix, "x*" a prefix, else exact
//   (pilot/pkg/security/authz/matcher/header.go HeaderMatcher);
// - Envoy before its CVE-2026-26308 fix matches the comma-joined values
//   (source/common/http/header_utility.cc getAllOfHeaderAsString), after it
//   each value on its own, any one matching;
// - DENY first, then ALLOW if any ALLOW applies
//   (https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence).
// The activator routes by the last value (pkghttp.LastHeaderValue) or, in
// releases using Header.Get, the first, and falls back to the Host when the
// header is empty or absent (pkg/activator/handler/context_handler.go).
import fc from 'fast-check';
import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { baselineObjectsFor } from '../../../src/tenancy/baseline-objects.js';
import type { KubeObject } from '../../../src/engine/types.js';

type Mode = 'joined' | 'per-value';
interface Request {
  source: string;
  host: string;
  header: string[];
}

function stringMatch(pattern: string, value: string, caseless = false): boolean {
  const [p, v] = caseless ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  if (p === '*') return true;
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  return v === p;
}

function headerMatch(pattern: string, values: string[], mode: Mode): boolean {
  if (values.length === 0) return false; // absent: no matcher but presence-false matches
  if (pattern === '*') return true;
  return mode === 'joined' ? stringMatch(pattern, values.join(',')) : values.some((v) => stringMatch(pattern, v));
}

interface Rule {
  from?: { source: { namespaces?: string[]; notNamespaces?: string[] } }[];
  to?: { operation: { hosts?: string[] } }[];
  when?: { key: string; values?: string[]; notValues?: string[] }[];
}

function ruleMatches(r: Rule, req: Request, mode: Mode): boolean {
  const fromOk =
    !r.from ||
    r.from.some(({ source: s }) => (!s.namespaces || s.namespaces.some((n) => stringMatch(n, req.source))) && (!s.notNamespaces || !s.notNamespaces.some((n) => stringMatch(n, req.source))));
  const toOk = !r.to || r.to.some(({ operation: o }) => !o.hosts || o.hosts.some((h) => stringMatch(h, req.host, true)));
  const whenOk = (r.when ?? []).every((c) => {
    if (c.key !== 'request.headers[knative-serving-namespace]') throw new Error(`unexpected condition ${c.key}`);
    if (c.values && !c.values.some((v) => headerMatch(v, req.header, mode))) return false;
    if (c.notValues && c.notValues.some((v) => headerMatch(v, req.header, mode))) return false;
    return true;
  });
  return fromOk && toOk && whenOk;
}

function admitted(policies: KubeObject[], req: Request, mode: Mode): boolean {
  const matches = (p: KubeObject) => ((p.spec as { rules?: Rule[] }).rules ?? []).some((r) => ruleMatches(r, req, mode));
  if (policies.some((p) => p.spec?.action === 'DENY' && matches(p))) return false;
  const allows = policies.filter((p) => (p.spec?.action ?? 'ALLOW') === 'ALLOW');
  return allows.length === 0 || allows.some(matches);
}

/** Where the activator sends the request: the namespace it routes to, or undefined if it cannot route. */
function routedTo(req: Request, pick: 'first' | 'last'): string | undefined {
  const v = req.header.length === 0 ? '' : pick === 'last' ? req.header[req.header.length - 1]! : req.header[0]!;
  if (v !== '') return v;
  const parts = req.host.split('.', 4);
  return parts.length === 4 && parts[2] === 'svc' ? parts[1] : undefined;
}

const NAMES = ['a', 'b', 'a-b', 'ab', 'tenant-1', 'tenant-1-b', 'tenant-12'];
const SYSTEM = ['istio-system', 'knative-serving'];

interface World {
  tenants: Record<string, string[]>;
  peerings: { from: string; to: string }[];
}

const worldArb: fc.Arbitrary<World> = fc
  .tuple(fc.shuffledSubarray(NAMES, { minLength: 2 }), fc.integer({ min: 2, max: 3 }), fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { maxLength: 2 }))
  .map(([names, k, peers]) => {
    const tenants: Record<string, string[]> = {};
    names.forEach((n, i) => (tenants[`t${i % k}`] ??= []).push(n));
    const ids = Object.keys(tenants);
    const peerings = peers.map(([f, to]) => ({ from: ids[f % ids.length]!, to: ids[to % ids.length]! })).filter((p) => p.from !== p.to);
    return { tenants, peerings };
  });

function policiesFor(w: World): KubeObject[] {
  const config = parseTenancyConfig(
    {
      apiVersion: 'tenant-guard.dev/v1alpha1',
      kind: 'TenancyConfig',
      systemNamespaces: SYSTEM,
      tenants: Object.entries(w.tenants).map(([name, namespaces]) => ({ name, namespaces })),
      peerings: w.peerings,
      baseline: { enabled: true },
    },
    'header matching test',
  );
  const s = new MemoryStore();
  for (const n of [...Object.values(w.tenants).flat(), ...SYSTEM]) s.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, uid: `uid-${n}` } });
  return baselineObjectsFor(config, s).filter((o) => o.kind === 'AuthorizationPolicy' && o.metadata.namespace === 'knative-serving');
}

function requestArb(w: World): fc.Arbitrary<Request> {
  const all = Object.values(w.tenants).flat();
  const value = fc.oneof(fc.constantFrom(...all, ...SYSTEM, 'stranger', ''), fc.constantFrom(...all).map((n) => n.toUpperCase()));
  return fc.record({
    source: fc.constantFrom(...all, ...SYSTEM, 'stranger'),
    host: fc.oneof(fc.constantFrom(...all, 'stranger').map((n) => `hello.${n}.svc.cluster.local`), fc.constant('example.com')),
    header: fc.array(value, { maxLength: 3 }),
  });
}

/** Who may reach a tenant's namespace: its tenant, the tenants peered into it, the platform. */
function mayReach(w: World, source: string, target: string): boolean {
  const owner = Object.entries(w.tenants).find(([, ns]) => ns.includes(target))?.[0];
  if (owner === undefined || SYSTEM.includes(source)) return true;
  const from = Object.entries(w.tenants).find(([, ns]) => ns.includes(source))?.[0];
  return from === owner || w.peerings.some((p) => p.from === from && p.to === owner);
}

function violation(w: World, policies: KubeObject[], req: Request): string | undefined {
  for (const mode of ['joined', 'per-value'] as const) {
    if (!admitted(policies, req, mode)) continue;
    for (const pick of ['first', 'last'] as const) {
      const target = routedTo(req, pick);
      if (target !== undefined && !mayReach(w, req.source, target)) return `${mode} matching, activator routing by the ${pick} value: ${JSON.stringify(req)} reaches ${target}`;
    }
  }
  return undefined;
}

const worldAndRequest = worldArb.chain((w) => fc.tuple(fc.constant(w), requestArb(w)));

t.test('through the activator, a request reaches a tenant namespace only from its tenant, a peer or the platform, under either matching', async (t) => {
  fc.assert(
    fc.property(worldAndRequest, ([w, req]) => {
      const v = violation(w, policiesFor(w), req);
      if (v) throw new Error(v);
    }),
    { numRuns: 20_000 },
  );
  t.pass('20,000 worlds and requests');
});

t.test('the fence is what holds under value-by-value matching (the check can fail)', async (t) => {
  // The earlier release's pin: the tenant's own callers denied any other value.
  const oldPin = (w: World) =>
    policiesFor(w).map((p) => {
      if (p.metadata.labels?.['tenant-guard.dev/baseline'] !== 'activator-pin') return p;
      const own = (p.spec!.rules as Rule[])[0]!.when![0]!.values!;
      return { ...p, spec: { ...p.spec, rules: [{ from: [{ source: { namespaces: own } }], when: [{ key: 'request.headers[knative-serving-namespace]', notValues: own }] }] } };
    });
  const withoutFence = oldPin;
  const w: World = { tenants: { t0: ['tenant-1'], t1: ['tenant-2'] }, peerings: [] };
  const attack: Request = { source: 'tenant-2', host: 'hello.tenant-2.svc.cluster.local', header: ['tenant-2', 'tenant-1'] };
  t.match(violation(w, withoutFence(w), attack), /^per-value matching, activator routing by the last value: .* reaches tenant-1$/, "own namespace next to the target: past the ALLOW and the earlier release's pin");
  t.equal(violation(w, withoutFence(w), { ...attack, header: ['tenant-1'] }), undefined, 'which held a single value');
  t.equal(violation(w, policiesFor(w), attack), undefined, 'the fence denies it');
  t.notOk(admitted(policiesFor(w), attack, 'per-value'));
  t.notOk(admitted(policiesFor(w), attack, 'joined'));
  t.ok(admitted(policiesFor(w), { ...attack, header: ['tenant-2'] }, 'per-value'), "the tenant's own request still passes");
  t.ok(admitted(policiesFor(w), { source: 'istio-system', host: 'hello.tenant-1.svc.cluster.local', header: ['tenant-1'] }, 'per-value'), 'the gateways still pass');
  const peered: World = { tenants: { t0: ['tenant-1'], t1: ['tenant-2'] }, peerings: [{ from: 't1', to: 't0' }] };
  t.ok(admitted(policiesFor(peered), { ...attack, header: ['tenant-2', 'tenant-1'] }, 'per-value'), 'a peer is not fenced out (the platform opens the path it declared)');
  t.notOk(admitted(policiesFor(peered), { ...attack, header: ['tenant-2', 'tenant-1'] }, 'joined'), "under joined matching its own ALLOW's pin still stops it");
  t.ok(
    policiesFor(peered).some((p) => JSON.stringify(p.spec).includes('"notNamespaces":["istio-system","knative-serving","tenant-1","tenant-2"]')),
    "a peer's namespaces are exempt from the fence of the tenant it is peered into",
  );

  let found: string | undefined;
  fc.assert(
    fc.property(worldAndRequest, ([w, req]) => {
      found ??= violation(w, withoutFence(w), req);
    }),
    { numRuns: 5_000 },
  );
  t.ok(found, `without the fence, generated requests find a way in (${found})`);
});
