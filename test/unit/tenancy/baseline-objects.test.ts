import t from 'tap';
import { readFileSync } from 'node:fs';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import {
  ACTIVATOR_NAMESPACE_HEADER,
  baselineForNamespace,
  baselineObjectsFor,
  isManaged,
  MANAGED_BY_LABEL,
} from '../../../src/tenancy/baseline-objects.js';
import { evaluate } from '../../../src/engine/index.js';
import { computeMatrix } from '../../../src/mesh/matrix.js';
import { defaultConfig, yamlDocs } from '../engine/engine-test-config.js';

const config = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true } }, 'baseline test config');

function stateWith(extra: object[] = []): MemoryStore {
  const s = new MemoryStore();
  for (const o of yamlDocs(readFileSync('test/fixtures/namespaces.yaml', 'utf8'))) s.upsert({ ...o, metadata: { ...o.metadata, uid: `uid-${o.metadata.name}` } });
  for (const o of extra) s.upsert(o as never);
  return s;
}

const key = (o: { kind: string; metadata: { namespace?: string; name?: string } }) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;

t.test('the config defaults: off, with documented names', async (t) => {
  const c = parseTenancyConfig({ apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig' }, 'minimal');
  t.equal(c.baseline.enabled, false);
  t.same(c.baseline.peerAuthentication, { enabled: true, name: 'tenant-guard-strict' });
  t.same(c.baseline.authorizationPolicy, { enabled: true, name: 'tenant-guard-allow-tenant' });
  t.same(c.baseline.activatorPolicy, { enabled: true, name: 'tenant-guard-activator-', namespace: 'knative-serving', selector: { app: 'activator' } });
  t.equal(c.baseline.clusterDomain, 'cluster.local');
  t.same(c.baseline.activatorHeaderPin, { enabled: true, name: 'tenant-guard-pin-activator-' });
  t.same(c.baseline.platformActivatorPolicy, { enabled: true, name: 'tenant-guard-platform-activator' });
  t.same(baselineObjectsFor(c, stateWith()), [], 'off: nothing is kept');
  t.throws(
    () => parseTenancyConfig({ apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig', baseline: { enabled: true, activatorPolicy: { namespace: 'tenant-1' } } }, 'bad.yaml'),
    /bad\.yaml: baseline\.activatorPolicy\.namespace: "tenant-1" must be one of systemNamespaces/,
  );
  t.throws(() => parseTenancyConfig({ apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig', baseline: { extra: 1 } }, 'x.yaml'), /baseline: unknown field "extra"/);
});

t.test('per tenant namespace: STRICT and an ALLOW of exact names; per tenant: the hardened activator policy', async (t) => {
  const objs = baselineObjectsFor(config, stateWith());
  t.same(objs.map(key), [
    'PeerAuthentication tenant-1/tenant-guard-strict',
    'AuthorizationPolicy tenant-1/tenant-guard-allow-tenant',
    'PeerAuthentication tenant-2/tenant-guard-strict',
    'AuthorizationPolicy tenant-2/tenant-guard-allow-tenant',
    'AuthorizationPolicy istio-system/tenant-guard-platform-gateway',
    'AuthorizationPolicy knative-serving/tenant-guard-activator-tenant-1',
    'AuthorizationPolicy knative-serving/tenant-guard-pin-activator-tenant-1',
    'AuthorizationPolicy knative-serving/tenant-guard-activator-tenant-2',
    'AuthorizationPolicy knative-serving/tenant-guard-pin-activator-tenant-2',
    'AuthorizationPolicy knative-serving/tenant-guard-platform-activator',
  ]);
  t.ok(objs.every(isManaged));
  const allow = objs[1]!;
  t.same(allow.spec, { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1', 'istio-system', 'knative-serving'] } }] }] });
  t.same(allow.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Namespace', name: 'tenant-1', uid: 'uid-tenant-1' }]);
  const act = objs[5]!;
  t.same(act.spec.rules[0].when, [{ key: ACTIVATOR_NAMESPACE_HEADER, values: ['tenant-1'] }]);
  t.same(act.spec.rules[0].to, [{ operation: { hosts: ['*.tenant-1.svc.cluster.local'] } }]);
  t.same(act.spec.selector, { matchLabels: { app: 'activator' } });
  const pin = objs[6]!;
  t.same(pin.spec, {
    selector: { matchLabels: { app: 'activator' } },
    action: 'DENY',
    rules: [{ from: [{ source: { notNamespaces: ['istio-system', 'knative-serving', 'tenant-1'] } }], when: [{ key: ACTIVATOR_NAMESPACE_HEADER, values: ['tenant-1'] }] }],
  });
});

t.test("where istiod strips the Host's port, per tenant: an ALLOW on knative-local-gateway for the Hosts of the tenant's namespaces, and a fence of them", async (t) => {
  const objs = baselineObjectsFor({ ...config, istio: { gatewayStripHostPort: true } }, stateWith());
  t.same(
    objs.filter((o) => o.metadata.namespace === 'istio-system').map((o) => o.metadata.name),
    ['tenant-guard-platform-gateway', 'tenant-guard-gateway-tenant-1', 'tenant-guard-fence-gateway-tenant-1', 'tenant-guard-gateway-tenant-2', 'tenant-guard-fence-gateway-tenant-2'],
    "the platform's first: once a tenant's ALLOW selects the pod, the public ingress needs it",
  );
  const allow = objs.find((o) => o.metadata.name === 'tenant-guard-gateway-tenant-1')!;
  t.same(allow.spec, {
    selector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
    action: 'ALLOW',
    rules: [
      {
        from: [{ source: { namespaces: ['tenant-1'] } }],
        to: [{ operation: { hosts: ['*.tenant-1', '*.tenant-1:80', '*.tenant-1.svc', '*.tenant-1.svc:80', '*.tenant-1.svc.cluster.local', '*.tenant-1.svc.cluster.local:80'] } }],
      },
    ],
  });
  const fence = objs.find((o) => o.metadata.name === 'tenant-guard-fence-gateway-tenant-1')!;
  t.same(fence.spec.rules, [
    {
      from: [{ source: { notNamespaces: ['istio-system', 'knative-serving', 'tenant-1'] } }],
      to: [{ operation: { hosts: ['*.tenant-1.svc', '*.tenant-1.svc:80', '*.tenant-1.svc.cluster.local', '*.tenant-1.svc.cluster.local:80'] } }],
    },
  ]);
  const platform = objs.find((o) => o.metadata.name === 'tenant-guard-platform-gateway')!;
  t.same(platform.spec.rules, [{ from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] }, { to: [{ operation: { notPorts: ['8081'] } }] }]);
  t.same(platform.metadata.labels?.['tenant-guard.dev/baseline'], 'platform-gateway');
});

t.test('per-tenant names cannot collide', async (t) => {
  const base = { apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig' };
  t.throws(
    () => parseTenancyConfig({ ...base, baseline: { enabled: true, activatorHeaderPin: { name: 'tenant-guard-activator-pin-' } } }, 'p.yaml'),
    /baseline\.activatorHeaderPin\.name: "tenant-guard-activator-pin-" and baseline\.activatorPolicy\.name "tenant-guard-activator-" must not be prefixes of one another/,
  );
  t.throws(
    () => parseTenancyConfig({ ...base, baseline: { enabled: true, platformActivatorPolicy: { name: 'tenant-guard-activator-platform' } } }, 'q.yaml'),
    /baseline\.platformActivatorPolicy\.name: "tenant-guard-activator-platform" starts with baseline\.activatorPolicy\.name/,
  );
  t.throws(
    () => parseTenancyConfig({ ...base, baseline: { enabled: true, gatewayFence: { name: 'tenant-guard-gateway-fence-' } } }, 'r.yaml'),
    /baseline\.gatewayFence\.name: "tenant-guard-gateway-fence-" and baseline\.gatewayPolicy\.name "tenant-guard-gateway-" must not be prefixes of one another/,
  );
  t.throws(
    () => parseTenancyConfig({ ...base, baseline: { enabled: true, gatewayPolicy: { namespace: 'gateways' } } }, 's.yaml'),
    /baseline\.gatewayPolicy\.namespace: "gateways" must be one of systemNamespaces/,
  );
});

t.test('a new namespace of a tenant joins the tenant: own namespaces by name, no wildcard', async (t) => {
  const objs = baselineObjectsFor(
    config,
    stateWith([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-2-b', uid: 'u2b', labels: { 'tenant-guard.dev/tenant': 'tenant-2' } } }]),
  );
  const allowB = objs.find((o) => key(o) === 'AuthorizationPolicy tenant-2-b/tenant-guard-allow-tenant')!;
  t.same(allowB.spec.rules[0].from[0].source.namespaces, ['tenant-2', 'tenant-2-b', 'istio-system', 'knative-serving']);
  const act = objs.find((o) => o.metadata.name === 'tenant-guard-activator-tenant-2')!;
  t.same(act.spec.rules[0].when[0].values, ['tenant-2', 'tenant-2-b']);
  t.same(
    (act.metadata.ownerReferences as { name: string }[]).map((o) => o.name),
    ['tenant-2', 'tenant-2-b'],
    'collected only once every namespace of the tenant is gone',
  );
  t.notOk(JSON.stringify(objs).includes('*"'), 'no source wildcard');
});

t.test('terminating and absent namespaces get nothing', async (t) => {
  const s = stateWith([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-1', uid: 'x', deletionTimestamp: '2026-01-01T00:00:00Z', labels: { 'tenant-guard.dev/tenant': 'tenant-1' } } }]);
  t.notOk(baselineObjectsFor(config, s).some((o) => o.metadata.namespace === 'tenant-1'));
  t.notOk(baselineObjectsFor(config, s).some((o) => o.metadata.name === 'tenant-guard-activator-tenant-1'), 'a tenant without a namespace has no activator policy');
});

t.test('baselineForNamespace alone (for the reachability model), without an owner', async (t) => {
  const objs = baselineForNamespace(config, 'tenant-1', 'tenant-1-new', ['tenant-1']);
  t.same(objs.map(key), ['PeerAuthentication tenant-1-new/tenant-guard-strict', 'AuthorizationPolicy tenant-1-new/tenant-guard-allow-tenant']);
  t.equal(objs[0]!.metadata.ownerReferences, undefined);
  t.equal(objs[0]!.metadata.labels?.[MANAGED_BY_LABEL], 'tenant-guard');
});

t.test('the baseline alone closes every cross-tenant cell, and the engine admits every object of it', async (t) => {
  const s = stateWith([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-2-b', uid: 'u2b', labels: { 'tenant-guard.dev/tenant': 'tenant-2' } } },
  ]);
  const objs = baselineObjectsFor(config, s);
  for (const o of objs) {
    const d = evaluate(
      {
        operation: 'CREATE',
        kind: { group: 'security.istio.io', version: 'v1', kind: o.kind },
        namespace: o.metadata.namespace!,
        name: o.metadata.name!,
        object: o,
        userInfo: { username: 'platform-admin', groups: ['platform-admins'] },
        dryRun: false,
      },
      s,
      config,
    );
    t.ok(d.allowed, `${key(o)}: ${d.violations.map((v) => v.rule + ' ' + v.message).join('; ')}`);
    t.same(d.warnings.filter((w) => w.includes('TG-AUTHZ-ACTIVATOR-HEADER')), [], `${key(o)}: the activator policy is the hardened form`);
    s.upsert(o);
  }
  const m = computeMatrix(s, config);
  const open = m.cells.filter((c) => c.from !== c.to && c.allowed);
  t.same(open.map((c) => `${c.from}->${c.to} ${c.path}`), [], 'no cross-tenant cell is open');
  const own = m.cells.filter((c) => c.from === c.to && !c.allowed);
  t.same(own.map((c) => `${c.from} ${c.path}: ${c.reason}`), [], "every tenant still reaches its own services on every path");
});
