// Issue 17, "assume reach": every caller reaches knative-local-gateway's pod
// with its own mTLS identity and any Host, no object needed (a certificate
// from istiod for its own identity, mTLS to the pod IP through the sidecar's
// passthrough). Only the gateway's own policies decide; the baseline's
// per-tenant ALLOW and fence close it.
import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import type { KubeObject } from '../../../src/engine/types.js';
import { computeMatrix, type MatrixCell } from '../../../src/mesh/matrix.js';
import { baselineObjectsFor, gatewayFenceFor, gatewayPolicyFor, platformGatewayPolicy, tenantHostPatterns } from '../../../src/tenancy/baseline-objects.js';
import { ap, config, namespace, referenceState, seedReferenceState, VARIANTS, type Variant } from './reference-state.js';

const GATEWAY_PATHS = ['gateway', 'gateway-activator'];

function cellOf(cells: MatrixCell[], from: string, to: string, path: string): MatrixCell {
  const c = cells.find((x) => x.from === from && x.to === to && x.path === path);
  if (!c) throw new Error(`no cell ${from} ${to} ${path}`);
  return c;
}

function openCrossTenant(cells: MatrixCell[]): MatrixCell[] {
  return cells.filter((c) => c.allowed && c.from !== c.to && !c.peered);
}

const withBaseline = (c: TenancyConfig): TenancyConfig => ({ ...c, baseline: { ...c.baseline, enabled: true } });
/** istiod with ISTIO_GATEWAY_STRIP_HOST_PORT: the gateway routes a Host by its exact domains only. */
const stripping = (c: TenancyConfig): TenancyConfig => ({ ...c, istio: { ...c.istio, gatewayStripHostPort: true } });

for (const variant of Object.keys(VARIANTS) as Variant[]) {
  t.test(`seed reference (${variant}): the gateway is reached with the caller's own identity, and found open with the fix named`, async (t) => {
    const m = computeMatrix(seedReferenceState(variant), config());
    for (const path of GATEWAY_PATHS) {
      for (const [from, to] of [
        ['tenant-2', 'tenant-1'],
        ['tenant-1', 'tenant-2'],
        ['(other)', 'tenant-1'],
      ] as const) {
        const c = cellOf(m.cells, from, to, path);
        t.ok(c.allowed, `${from} -> ${to} via ${path} is open`);
        t.match(c.reason, /own mTLS identity, straight to the gateway's pod/);
        t.match(c.reason, /closed by an ALLOW on knative-local-gateway \(istio-system\) admitting the system namespaces only/);
      }
    }
  });
}

t.test('hardened reference: the gateway pins close every gateway cell; without them they open', async (t) => {
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    const closed = computeMatrix(referenceState(variant), config());
    t.same(openCrossTenant(closed.cells).map((c) => `${c.from}->${c.to} ${c.path}`), [], `${variant}: closed`);
    const s = referenceState(variant);
    for (const o of s.list('security.istio.io/AuthorizationPolicy', 'istio-system')) s.remove(o);
    const open = computeMatrix(s, config());
    t.ok(
      openCrossTenant(open.cells).some((c) => GATEWAY_PATHS.includes(c.path)),
      `${variant}: without the gateway's policies a gateway cell is open`,
    );
  }
});

/** Namespaces of the reference, the system ones, and tenant namespaces named as `extra`. */
function stateWith(extraTenants: Record<string, string>, objects: KubeObject[] = []): MemoryStore {
  const s = new MemoryStore();
  for (const ns of ['knative-serving', 'istio-system']) s.upsert(namespace(ns));
  for (const [ns, tenant] of Object.entries({ 'tenant-1': 'tenant-1', 'tenant-2': 'tenant-2', ...extraTenants })) {
    s.upsert({ ...namespace(ns, { 'istio-injection': 'enabled', 'tenant-guard.dev/tenant': tenant }), metadata: { name: ns, uid: `uid-${ns}`, labels: { 'istio-injection': 'enabled', 'tenant-guard.dev/tenant': tenant } } });
  }
  for (const o of objects) s.upsert(o);
  return s;
}

t.test("the baseline's objects close every path; tenants get the gateway for their own Hosts only where istiod strips the Host's port", async (t) => {
  const plain = withBaseline(config());
  const s0 = stateWith({ svc: 'tenant-3' });
  const objs = baselineObjectsFor(plain, s0);
  t.same(objs.filter((o) => o.metadata.namespace === 'istio-system').map((o) => o.metadata.name), ['tenant-guard-platform-gateway'], 'no tenant ALLOW on a gateway that routes <host>:<anything>');
  for (const o of objs) s0.upsert(o);
  t.same(openCrossTenant(computeMatrix(s0, plain).cells), []);
});

t.test("without port stripping, a tenant's own-Host ALLOW on the gateway opens every tenant (hello.tenant-1:x.tenant-2)", async (t) => {
  // The per-tenant ALLOW and fence of the stripping case, written by hand on a gateway that routes <host>:*.
  const cfg = withBaseline(config());
  const s = stateWith({});
  for (const o of baselineObjectsFor(stripping(cfg), s)) s.upsert(o);
  const c = cellOf(computeMatrix(s, cfg).cells, 'tenant-2', 'tenant-1', 'gateway');
  t.ok(c.allowed, c.reason);
  t.match(c.reason, /Host [a-z0-9.-]+\.tenant-1[a-z0-9.-]*:[a-z0-9]+\.tenant-2[a-z0-9.]*/, 'a made-up port string ending as tenant-2\'s suffix');
  t.same(openCrossTenant(computeMatrix(s, stripping(cfg)).cells), [], 'where istiod strips the port, the same policies hold');
});

t.test("where istiod strips the port, the baseline's per-tenant objects close every path, for tenants whose namespaces are named like parts of a Host", async (t) => {
  // A tenant holding namespace `svc` has an ALLOW for `*.svc`, which matches
  // tenant-1's `x.tenant-1.svc`; one holding `local` matches every
  // `*.svc.cluster.local`. The fences deny those Hosts to them.
  const cfg = stripping(withBaseline(config()));
  const s = stateWith({ svc: 'tenant-3', local: 'tenant-4', cluster: 'tenant-5' });
  for (const o of baselineObjectsFor(cfg, s)) s.upsert(o);
  const m = computeMatrix(s, cfg);
  t.same(openCrossTenant(m.cells).map((c) => `${c.from}->${c.to} ${c.path}: ${c.reason}`), []);

  // Without the fences, the `svc` tenant's own ALLOW lets it name tenant-1's Hosts.
  const unfenced = { ...cfg, baseline: { ...cfg.baseline, gatewayFence: { ...cfg.baseline.gatewayFence, enabled: false } } };
  const s2 = stateWith({ svc: 'tenant-3' });
  for (const o of baselineObjectsFor(unfenced, s2)) s2.upsert(o);
  const open = openCrossTenant(computeMatrix(s2, unfenced).cells).filter((c) => GATEWAY_PATHS.includes(c.path));
  t.ok(
    open.some((c) => c.from === 'tenant-3' && c.to === 'tenant-1'),
    'tenant-3 (namespace svc) reaches tenant-1 through its own *.svc ALLOW when nothing fences tenant-1',
  );
});

t.test("a tenant's own ALLOW on the gateway that admits it for any Host opens every tenant", async (t) => {
  const cfg = stripping(withBaseline(config()));
  const s = stateWith({});
  for (const o of baselineObjectsFor(cfg, s)) s.upsert(o);
  // With no fence for tenant-1, tenant-2's broad ALLOW names tenant-1's Hosts.
  s.remove({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: 'istio-system', name: 'tenant-guard-fence-gateway-tenant-1' } });
  s.upsert(ap('istio-system', 'tenant-2-any-host', { selector: { matchLabels: { istio: 'ingressgateway' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] }));
  const m = computeMatrix(s, cfg);
  const c = cellOf(m.cells, 'tenant-2', 'tenant-1', 'gateway');
  t.ok(c.allowed, c.reason);
  t.match(c.reason, /istio-system\/tenant-2-any-host/);
});

t.test('the gateway policies have the shape the model relies on', async (t) => {
  const cfg = withBaseline(config());
  t.same(tenantHostPatterns(cfg, ['b', 'a'], 'long'), [
    '*.a.svc',
    '*.a.svc:80',
    '*.a.svc.cluster.local',
    '*.a.svc.cluster.local:80',
    '*.b.svc',
    '*.b.svc:80',
    '*.b.svc.cluster.local',
    '*.b.svc.cluster.local:80',
  ]);
  t.same(tenantHostPatterns(cfg, ['a'], 'all').slice(0, 2), ['*.a', '*.a:80']);
  const allow = gatewayPolicyFor(cfg, 'tenant-1', ['tenant-1']);
  t.same(allow.metadata.namespace, 'istio-system');
  t.same(allow.spec.selector, { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } });
  t.same(allow.spec.rules[0].from, [{ source: { namespaces: ['tenant-1'] } }]);
  const fence = gatewayFenceFor(cfg, 'tenant-1', ['tenant-1'], [], ['tenant-2']);
  t.equal(fence.spec.action, 'DENY');
  t.same(fence.spec.rules[0].from, [{ source: { notNamespaces: ['istio-system', 'knative-serving', 'tenant-1', 'tenant-2'] } }]);
  t.notOk(fence.spec.rules[0].to[0].operation.hosts.includes('*.tenant-1'), 'the short form is not fenced');
  const platform = platformGatewayPolicy(cfg, ['8012', '8081']);
  t.same(platform.spec.rules[1], { to: [{ operation: { notPorts: ['8012', '8081'] } }] });
});

t.test("the platform policy leaves out the local gateway's ports read from its Gateway", async (t) => {
  const cfg = stripping(withBaseline(config()));
  const s = stateWith({}, [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'knative-local-gateway', namespace: 'knative-serving' },
      spec: { selector: { istio: 'ingressgateway' }, servers: [{ hosts: ['*'], port: { number: 8012, name: 'https', protocol: 'HTTPS' }, tls: { mode: 'ISTIO_MUTUAL' } }] },
    },
  ]);
  const platform = baselineObjectsFor(cfg, s).find((o) => o.metadata.name === 'tenant-guard-platform-gateway');
  t.same(platform?.spec.rules[1], { to: [{ operation: { notPorts: ['8012', '8081'] } }] });
  for (const o of baselineObjectsFor(cfg, s)) s.upsert(o);
  t.same(openCrossTenant(computeMatrix(s, cfg).cells), [], 'closed on the Gateway\'s own port 8012');
  // A platform policy that forgot the listener port would admit anyone there.
  s.upsert(platformGatewayPolicy(cfg, ['8081']));
  t.ok(openCrossTenant(computeMatrix(s, cfg).cells).some((c) => GATEWAY_PATHS.includes(c.path)));
});
