import t from 'tap';
import { computeMatrix, formatMatrixText, type MatrixCell } from '../../../src/mesh/matrix.js';
import { ap, config, namespace, pa, referenceState, VARIANTS, type Variant } from './reference-state.js';
import type { KubeObject } from '../../../src/engine/types.js';

function cellOf(cells: MatrixCell[], from: string, to: string, path: string): MatrixCell {
  const c = cells.find((x) => x.from === from && x.to === to && x.path === path);
  if (!c) throw new Error(`no cell ${from} ${to} ${path}`);
  return c;
}

function summary(variant: Variant, extra: KubeObject[] = [], remove: string[] = []) {
  const s = referenceState(variant, extra);
  for (const r of remove) {
    const [ns, name] = r.split('/') as [string, string];
    s.remove({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: ns, name } });
  }
  return computeMatrix(s, config());
}

for (const variant of Object.keys(VARIANTS) as Variant[]) {
  t.test(`reference ${variant}: the README table`, async (t) => {
    const m = summary(variant);
    t.same(m.tenants, ['tenant-1', 'tenant-2']);
    t.equal(m.cells.length, 24); // 3 caller rows (2 tenants + "(other)") x 2 targets x 4 paths
    for (const c of m.cells) {
      t.equal(c.allowed, c.from === c.to, `${c.from} -> ${c.to} via ${c.path}: ${c.reason}`);
      t.ok(c.reason.length > 0);
    }
    const text = formatMatrixText(m);
    t.match(text, /path: gateway-activator/);
    t.match(text, /no cross-tenant path is open/);
    t.notMatch(text, /ALLOW!/);
  });
}

t.test('denied reasons name the hop, allowed reasons the rules', async (t) => {
  const m = summary('kind');
  t.match(cellOf(m.cells, 'tenant-2', 'tenant-1', 'activator').reason, /denied at activator/);
  t.match(cellOf(m.cells, 'tenant-2', 'tenant-1', 'direct').reason, /denied at pod in tenant-1/);
  t.match(cellOf(m.cells, 'tenant-1', 'tenant-1', 'activator').reason, /allow-tenant-1-to-activator rules\[0\].*allow-traffic-to-tenant-1 rules\[0\]/);
});

t.test('Istio evaluation semantics', async (t) => {
  t.test('no ALLOW policy on a workload allows everything', async (t) => {
    const m = summary('kind', [], ['tenant-1/allow-traffic-to-tenant-1']);
    t.ok(cellOf(m.cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    t.match(cellOf(m.cells, 'tenant-2', 'tenant-1', 'direct').reason, /no ALLOW policy applies/);
    // The activator still pairs sources with hosts.
    t.notOk(cellOf(m.cells, 'tenant-2', 'tenant-1', 'activator').allowed);
    t.match(formatMatrixText(m), /ALLOW!/);
  });
  t.test('spec: {} allows nothing, rules: [{}] allows everything', async (t) => {
    const m1 = summary('kind', [ap('tenant-1', 'deny-all', {})], ['tenant-1/allow-traffic-to-tenant-1']);
    t.notOk(cellOf(m1.cells, 'tenant-1', 'tenant-1', 'direct').allowed);
    const m2 = summary('kind', [ap('tenant-1', 'all', { rules: [{}] })]);
    t.ok(cellOf(m2.cells, 'tenant-2', 'tenant-1', 'direct').allowed);
  });
  t.test('DENY wins over ALLOW; AUDIT and CUSTOM never allow; dry-run is not enforced', async (t) => {
    const open = ap('tenant-1', 'open', { rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] });
    t.ok(cellOf(summary('kind', [open]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    const deny = ap('tenant-1', 'deny-2', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] });
    t.notOk(cellOf(summary('kind', [open, deny]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    const auditOrCustom = ['AUDIT', 'CUSTOM'].map((a) => ap('tenant-1', `x-${a}`, { action: a, rules: [{}] }));
    t.notOk(cellOf(summary('kind', auditOrCustom).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    const dry = ap('tenant-1', 'open', { rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] }, { 'istio.io/dry-run': 'true' });
    t.notOk(cellOf(summary('kind', [dry]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    // A dry-run DENY does not protect either.
    const dryDeny = { ...deny, metadata: { ...deny.metadata, annotations: { 'istio.io/dry-run': 'true' } } };
    t.ok(cellOf(summary('kind', [open, dryDeny]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
  });
  t.test('DENY with a port condition leaves other ports open', async (t) => {
    const open = ap('tenant-1', 'open', { rules: [{}] });
    const deny = ap('tenant-1', 'deny-8012', { action: 'DENY', rules: [{ to: [{ operation: { ports: ['8012'] } }] }] });
    const c = cellOf(summary('kind', [open, deny]).cells, 'tenant-2', 'tenant-1', 'direct');
    t.ok(c.allowed);
    t.notMatch(c.reason, /port 8012/);
  });
  t.test('policies in the mesh root namespace apply to every workload', async (t) => {
    const root = ap('istio-system', 'root-open', { rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] });
    const m = summary('kind', [root]);
    t.ok(cellOf(m.cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    t.ok(cellOf(m.cells, 'tenant-2', 'tenant-1', 'activator').allowed, 'the activator too');
    const rootDeny = ap('istio-system', 'root-deny', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] });
    t.notOk(cellOf(summary('kind', [root, rootDeny]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
  });
  t.test('selector and targetRefs', async (t) => {
    const sel = ap('tenant-1', 'one-app', { selector: { matchLabels: { app: 'x' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/tenant-2/sa/default'] } }] }] });
    const c = cellOf(summary('kind', [sel]).cells, 'tenant-2', 'tenant-1', 'direct');
    t.ok(c.allowed, 'a pod labelled app=x is reachable');
    t.match(c.reason, /"app":"x"/);
    const waypoint = ap('tenant-1', 'waypoint', { targetRefs: [{ kind: 'Service', group: '', name: 'svc' }], rules: [{}] });
    t.notOk(cellOf(summary('kind', [waypoint]).cells, 'tenant-2', 'tenant-1', 'direct').allowed, 'waypoint policies do not bind sidecars');
    const actSel = ap('knative-serving', 'act', { selector: { matchLabels: { role: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }] }] });
    t.ok(cellOf(summary('kind', [actSel]).cells, 'tenant-2', 'tenant-1', 'activator').allowed, 'activator pod label role=activator');
  });
  t.test('wildcards in namespaces, principals and hosts', async (t) => {
    for (const source of [{ namespaces: ['tenant-*'] }, { namespaces: ['*'] }, { principals: ['*'] }, { principals: ['cluster.local/ns/tenant-2/*'] }, { principals: ['*/sa/robot'] }, { serviceAccounts: ['tenant-2/robot'] }]) {
      const p = ap('tenant-1', 'w', { rules: [{ from: [{ source }] }] });
      t.ok(cellOf(summary('kind', [p]).cells, 'tenant-2', 'tenant-1', 'direct').allowed, JSON.stringify(source));
    }
    const act = ap('knative-serving', 'act', { selector: { matchLabels: { app: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['*.svc.cluster.local'] } }] }] });
    t.ok(cellOf(summary('kind', [act]).cells, 'tenant-2', 'tenant-1', 'activator').allowed, 'suffix host covering every tenant');
    const exactHost = ap('knative-serving', 'act', { selector: { matchLabels: { app: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['hello.tenant-1.svc.cluster.local'] } }] }] });
    t.ok(cellOf(summary('kind', [exactHost]).cells, 'tenant-2', 'tenant-1', 'activator').allowed, 'exact host of the target');
    const ownHost = ap('knative-serving', 'act', { selector: { matchLabels: { app: 'activator' } }, rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['*.tenant-2.svc.cluster.local', 'tenant-2.example.com'] } }] }] });
    // The activator routes by knative-serving-namespace: own hosts alone still let tenant-2 name tenant-1's revision.
    const fences = ['knative-serving/fence-tenant-1-at-activator', 'knative-serving/fence-tenant-2-at-activator'];
    const byHeader = cellOf(summary('kind', [ownHost], fences).cells, 'tenant-2', 'tenant-1', 'activator');
    t.ok(byHeader.allowed, 'own hosts only, header not pinned (and no fence)');
    t.match(byHeader.reason, /routed by header knative-serving-namespace: tenant-1/);
    // The fence denies tenant-1 as the header's only value; sent twice ("x,tenant-1"), Envoy before its
    // CVE-2026-26308 fix matches the joined string, which the fence does not name and the Host-only rule admits.
    const twice = cellOf(summary('kind', [ownHost]).cells, 'tenant-2', 'tenant-1', 'activator');
    t.ok(twice.allowed, 'a Host-only rule behind the fence: open by a repeated header');
    t.match(twice.reason, /header knative-serving-namespace sent as 2 values \(".*", "tenant-1"\), which Envoy before its CVE-2026-26308 fix matches joined as ".*,tenant-1"; the activator routes by the last one/);
    const pinned = ap('knative-serving', 'act', {
      selector: { matchLabels: { app: 'activator' } },
      rules: [{ from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['*.tenant-2.svc.cluster.local'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-2'] }] }],
    });
    t.notOk(cellOf(summary('kind', [pinned]).cells, 'tenant-2', 'tenant-1', 'activator').allowed, 'own hosts and the header pinned');
  });
  t.test('negative sources: STRICT refuses plaintext, PERMISSIVE lets it match not*', async (t) => {
    const notOwn = ap('tenant-1', 'not', { rules: [{ from: [{ source: { notNamespaces: ['tenant-2'] } }] }] });
    t.notOk(cellOf(summary('kind', [notOwn]).cells, 'tenant-2', 'tenant-1', 'direct').allowed, 'STRICT: tenant-2 is excluded by identity, plaintext refused');
    const permissive = pa('tenant-1', 'default', { mtls: { mode: 'PERMISSIVE' } });
    const c = cellOf(summary('kind', [notOwn, permissive]).cells, 'tenant-2', 'tenant-1', 'direct');
    t.ok(c.allowed, 'PERMISSIVE: a plaintext caller matches notNamespaces');
    t.match(c.reason, /plaintext/);
    const portLevel = pa('tenant-1', 'wl', { selector: { matchLabels: { app: 'x' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } });
    const notOnX = ap('tenant-1', 'not', { selector: { matchLabels: { app: 'x' } }, rules: [{ from: [{ source: { notNamespaces: ['tenant-2'] } }] }] });
    const c2 = cellOf(summary('kind', [notOnX, portLevel]).cells, 'tenant-2', 'tenant-1', 'direct');
    t.ok(c2.allowed, 'port-level DISABLE drops the identity on that port');
    t.match(c2.reason, /port 8080/);
  });
  t.test('ipBlocks, requestPrincipals and headers are caller-chosen', async (t) => {
    for (const rule of [
      { from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] },
      { from: [{ source: { remoteIpBlocks: ['203.0.113.0/24'] } }] },
      { from: [{ source: { requestPrincipals: ['*'] } }] },
      { when: [{ key: 'request.headers[x-tenant]', values: ['tenant-1'] }] },
      { from: [{ source: { namespaces: ['tenant-1'] } }, { source: { notIpBlocks: ['0.0.0.0/0'] } }] },
    ]) {
      const m = summary('kind', [ap('tenant-1', 'x', { rules: [rule] })]);
      t.ok(cellOf(m.cells, 'tenant-2', 'tenant-1', 'direct').allowed, JSON.stringify(rule));
    }
    const src = ap('tenant-1', 'x', { rules: [{ when: [{ key: 'source.namespace', values: ['tenant-1'] }] }] });
    t.notOk(cellOf(summary('kind', [src]).cells, 'tenant-2', 'tenant-1', 'direct').allowed, 'source.namespace is the peer identity');
  });
  t.test('drain ports are kept out of the matrix', async (t) => {
    const drain = ap('tenant-1', 'drain', { rules: [{ to: [{ operation: { ports: ['8022'] } }] }] });
    t.notOk(cellOf(summary('kind', [drain]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
    const other = ap('tenant-1', 'drain', { rules: [{ to: [{ operation: { ports: ['8022', '9091'] } }] }] });
    t.ok(cellOf(summary('kind', [other]).cells, 'tenant-2', 'tenant-1', 'direct').allowed);
  });
  t.test('a knative-local-gateway accepting plaintext forwards with its own identity', async (t) => {
    const gw = (mode: string): KubeObject => ({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'Gateway',
      metadata: { name: 'knative-local-gateway', namespace: 'knative-serving' },
      spec: { selector: { istio: 'ingressgateway' }, servers: [{ hosts: ['*'], port: { name: 'http', number: 8081, protocol: 'HTTP' }, ...(mode ? { tls: { mode } } : {}) }] },
    });
    // The hardened reference's own gateway policies stay out of this test: they close plaintext callers too.
    const gatewayPolicies = ['allow-platform-through-gateway'].map((n) => `istio-system/${n}`);
    const mutual = summary('kind', [gw('ISTIO_MUTUAL')]);
    t.notOk(cellOf(mutual.cells, 'tenant-2', 'tenant-1', 'gateway').allowed, "the hardened reference's gateway policies close it");
    t.match(mutual.gateway, /requires ISTIO_MUTUAL/);
    const plain = summary('kind', [gw('')], gatewayPolicies);
    const c = cellOf(plain.cells, 'tenant-2', 'tenant-1', 'gateway');
    t.ok(c.allowed, 'plaintext (or any identity) -> gateway -> pod as istio-system');
    t.match(c.reason, /knative-local-gateway -> pod/);
    t.ok(cellOf(plain.cells, 'tenant-2', 'tenant-1', 'gateway-activator').allowed);
    t.notOk(cellOf(summary('kind', [gw('')]).cells, 'tenant-2', 'tenant-1', 'gateway').allowed, 'with its policies, plaintext callers are denied at the gateway too');
    const gwDeny = ap('istio-system', 'gw-deny-plaintext', { action: 'DENY', selector: { matchLabels: { istio: 'ingressgateway' } }, rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] });
    const plainOnlyDenied = cellOf(summary('kind', [gw(''), gwDeny], gatewayPolicies).cells, 'tenant-2', 'tenant-1', 'gateway');
    t.ok(plainOnlyDenied.allowed, 'a gateway DENY of callers without identity does not close it: callers with identity reach the gateway too');
    t.match(plainOnlyDenied.reason, /spiffe:\/\/cluster\.local\/ns\/tenant-2\//);
    // A root-namespace ALLOW selecting the gateway's labels also selects any
    // tenant pod carrying those labels (Istio matches labels, not pods).
    const gwAllow = ap('istio-system', 'gw-only-mesh', { selector: { matchLabels: { istio: 'ingressgateway' } }, rules: [{ from: [{ source: { principals: ['*'] } }] }] });
    const c3 = cellOf(summary('kind', [gw('ISTIO_MUTUAL'), gwAllow]).cells, 'tenant-2', 'tenant-1', 'direct');
    t.ok(c3.allowed);
    t.match(c3.reason, /"istio":"ingressgateway"/);
  });
  t.test('tenant-labelled namespaces join the matrix; peerings are marked', async (t) => {
    const s = referenceState('kind', [namespace('team-3', { 'tenant-guard.dev/tenant': 'tenant-3' })]);
    const m = computeMatrix(s, config({ peerings: [{ from: 'tenant-2', to: 'tenant-1' }] }));
    t.same(m.tenants, ['tenant-1', 'tenant-2', 'tenant-3']);
    t.ok(cellOf(m.cells, 'tenant-1', 'tenant-3', 'direct').allowed, 'team-3 has no policy: allows all');
    t.ok(cellOf(m.cells, 'tenant-2', 'tenant-1', 'direct').peered);
    t.match(formatMatrixText(m), /tenant-1 -> tenant-3 via direct/);
  });
});

t.test("every tenant reaches the gateway with its own identity, whatever objects it holds; the gateway's policies decide", async (t) => {
  const gatewayPolicies = ['allow-platform-through-gateway'].map((n) => `istio-system/${n}`);
  const se: KubeObject = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'to-gateway', namespace: 'tenant-2' },
    spec: { hosts: ['knative-local-gateway.istio-system.svc.cluster.local'], location: 'MESH_INTERNAL', resolution: 'DNS', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] },
  };
  for (const extra of [[], [se]]) {
    const open = summary('kind', extra, gatewayPolicies);
    const cell = cellOf(open.cells, 'tenant-2', 'tenant-1', 'gateway');
    t.ok(cell.allowed, 'the gateway forwards with its own identity, which tenant-1 admits');
    t.match(cell.reason, /own mTLS identity, straight to the gateway's pod/);
    t.ok(cellOf(open.cells, 'tenant-1', 'tenant-2', 'gateway').allowed, 'tenant-1 too, with no object at all');
  }
  // A gateway policy that admits only the platform closes it again.
  const gwPolicy = ap('istio-system', 'gateway-platform-only', { selector: { matchLabels: { istio: 'ingressgateway' } }, rules: [{ from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] }] });
  t.notOk(cellOf(summary('kind', [se, gwPolicy], gatewayPolicies).cells, 'tenant-2', 'tenant-1', 'gateway').allowed);
});
