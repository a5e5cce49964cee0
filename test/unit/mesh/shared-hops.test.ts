// Issue 17, "assume reach" for proxies the config names (sharedHops): every
// caller reaches such a proxy with its own identity (and without one where it
// accepts plaintext) and any Host; it forwards as itself, so only its own
// policies decide whether a tenant gets through it into another's pods.
import t from 'tap';
import type { SharedHop, TenancyConfig } from '../../../src/config/types.js';
import { computeMatrix, type MatrixCell } from '../../../src/mesh/matrix.js';
import { ap, config, referenceState, VARIANTS, type Variant } from './reference-state.js';
import { evaluate } from '../../../src/engine/index.js';
import { reservedNamespaces } from '../../../src/engine/reserved-names.js';
import { parseTenancyConfigText } from '../../../src/config/load.js';

const EXTERNAL: SharedHop = {
  name: 'istio-ingressgateway (external)',
  namespace: 'istio-system',
  // `app` tells it apart from the activator and knative-local-gateway, whose other labels the model cannot know.
  labels: { app: 'istio-external-gateway', istio: 'external-ingressgateway' },
  serviceAccount: 'external-ingressgateway',
  ports: ['8080', '8443'],
  routesBy: 'any',
  acceptsPlaintext: true,
  sidecar: false,
};

const withHops = (...sharedHops: SharedHop[]): TenancyConfig => ({ ...config(), sharedHops });
const crossTenant = (cells: MatrixCell[]) => cells.filter((c) => c.allowed && c.from !== c.to && !c.peered);
const VARIANT = Object.keys(VARIANTS)[0] as Variant;

t.test('a shared hop with no policy of its own opens the hardened reference, naming the hop and the fix', async (t) => {
  t.same(crossTenant(computeMatrix(referenceState(VARIANT), config()).cells), [], 'closed without the hop');
  const m = computeMatrix(referenceState(VARIANT), withHops(EXTERNAL));
  const open = crossTenant(m.cells);
  t.ok(open.some((c) => c.from === 'tenant-2' && c.to === 'tenant-1' && c.path === 'gateway'), 'tenant-2 -> tenant-1 via the hop to the pod');
  t.ok(open.some((c) => c.from === 'tenant-2' && c.to === 'tenant-1' && c.path === 'gateway-activator'), 'and through the activator');
  const c = open.find((x) => x.path === 'gateway')!;
  t.match(c.reason, /istio-ingressgateway \(external\)/);
  t.match(c.reason, /policies on istio-ingressgateway \(external\) \(istio-system\) that admit only the callers it must serve/);
  t.ok(open.every((x) => x.path === 'gateway' || x.path === 'gateway-activator'), 'only the paths through a gateway move');
});

t.test("the hop's own ALLOW admitting only the system namespaces closes it again", async (t) => {
  const s = referenceState(VARIANT, [
    ap('istio-system', 'external-gateway-platform-only', {
      selector: { matchLabels: { app: 'istio-external-gateway', istio: 'external-ingressgateway' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] }],
    }),
  ]);
  t.same(crossTenant(computeMatrix(s, withHops(EXTERNAL)).cells), []);
});

t.test('an ALLOW on the hop that admits tenants by Host does not close a hop that routes any Host anywhere', async (t) => {
  const byHost = ap('istio-system', 'external-gateway-tenant-2', {
    selector: { matchLabels: { app: 'istio-external-gateway', istio: 'external-ingressgateway' } },
    action: 'ALLOW',
    rules: [
      { from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] },
      { from: [{ source: { namespaces: ['tenant-2'] } }], to: [{ operation: { hosts: ['*.tenant-2', '*.tenant-2.svc', '*.tenant-2.svc.cluster.local'] } }] },
    ],
  });
  const any = computeMatrix(referenceState(VARIANT, [byHost]), withHops(EXTERNAL));
  t.ok(crossTenant(any.cells).some((c) => c.from === 'tenant-2' && c.to === 'tenant-1'), 'routesBy any: a tenant-2 Host may still be forwarded into tenant-1');
  const hostRouted = computeMatrix(referenceState(VARIANT, [byHost]), { ...withHops({ ...EXTERNAL, routesBy: 'host' }), istio: { gatewayStripHostPort: true } });
  t.same(
    crossTenant(hostRouted.cells).filter((c) => c.from === 'tenant-2' && c.to === 'tenant-1'),
    [],
    'routesBy host (and a gateway that strips the Host port): the Host pins keep tenant-2 to its own namespaces',
  );
});

t.test('a hop whose identity no tenant trusts forwards nowhere', async (t) => {
  const m = computeMatrix(referenceState(VARIANT), withHops({ ...EXTERNAL, namespace: 'api-gateway', name: 'api-gateway' }));
  t.same(crossTenant(m.cells), []);
});

t.test("a tenant pod may not wear a shared hop's labels (its root-namespace policies would select it)", async (t) => {
  const c = withHops(EXTERNAL);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-1', labels: { app: 'istio-external-gateway', istio: 'external-ingressgateway' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const d = evaluate({ operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'tenant-1', name: 'p', object: pod, userInfo: { username: 'alice', groups: ['tenant-1-admins'] }, dryRun: false }, referenceState(VARIANT), c);
  t.notOk(d.allowed);
  t.match(d.violations.map((v) => `${v.rule} ${v.message}`).join('\n'), /TG-WORKLOAD-GATEWAY-LABEL .*shared hop istio-ingressgateway \(external\)/);
  const other = evaluate({ operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'tenant-1', name: 'p', object: pod, userInfo: { username: 'alice', groups: ['tenant-1-admins'] }, dryRun: false }, referenceState(VARIANT), config());
  t.notMatch(other.violations.map((v) => v.rule).join(','), /TG-WORKLOAD-GATEWAY-LABEL/, 'without the hop in the config the label is free');
});

t.test("a shared hop's namespace is reserved: a tenant admin cannot create it", async (t) => {
  const c = withHops({ ...EXTERNAL, namespace: 'api-gateway' });
  t.match(reservedNamespaces(c).get('api-gateway'), /shared hop/);
  const s = referenceState(VARIANT);
  const d = evaluate(
    {
      operation: 'CREATE',
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      name: 'api-gateway',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'api-gateway' } },
      userInfo: { username: 'alice', groups: ['tenant-1-admins'] },
      dryRun: false,
    },
    s,
    c,
  );
  t.notOk(d.allowed);
  t.match(d.violations.map((v) => v.rule).join(','), /TG-NS-RESERVED-NAME/);
});

const HEAD = 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\n';

t.test('the config names every field of a shared hop and refuses unknown ones', async (t) => {
  const ok = parseTenancyConfigText(
    HEAD + 'sharedHops:\n  - {name: ext, namespace: istio-system, labels: {istio: ext}, serviceAccount: ext-sa, ports: ["8080"]}\n',
    'tenancy.yaml',
  );
  t.same(ok.sharedHops, [{ name: 'ext', namespace: 'istio-system', labels: { istio: 'ext' }, serviceAccount: 'ext-sa', ports: ['8080'], routesBy: 'any', acceptsPlaintext: true, sidecar: false }]);
  t.throws(() => parseTenancyConfigText(HEAD + 'sharedHops:\n  - {name: ext, namespace: istio-system, labels: {istio: ext}, ports: ["8080"]}\n', 'tenancy.yaml'), /serviceAccount/);
  t.throws(() => parseTenancyConfigText(HEAD + 'sharedHops:\n  - {name: ext, namespace: istio-system, labels: {istio: ext}, serviceAccount: s, ports: ["8080"], forwards: yes}\n', 'tenancy.yaml'), /forwards/);
});
