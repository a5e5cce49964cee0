import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK } from '../../../src/cluster/state.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { baselineObjectsFor } from '../../../src/tenancy/baseline-objects.js';
import { evaluate } from '../../../src/engine/index.js';
import type { KubeObject, Operation, UserInfo } from '../../../src/engine/types.js';
import { defaultConfig } from './engine-test-config.js';

const on = parseTenancyConfig(
  { ...structuredClone(defaultConfig), baseline: { enabled: true }, platformControllers: { users: [...defaultConfig.platformControllers.users, 'system:serviceaccount:tenant-guard:tenant-guard'], groups: defaultConfig.platformControllers.groups } },
  'baseline rules config',
);
const onPlain = on;
const off = parseTenancyConfig({ ...structuredClone(defaultConfig), platformControllers: on.platformControllers }, 'baseline off config');

const alice: UserInfo = { username: 'alice', groups: ['tenant-1-admins'] };
const aliceSA: UserInfo = { username: 'system:serviceaccount:tenant-1:deployer', groups: ['system:serviceaccounts'] };
const stranger: UserInfo = { username: 'mallory', groups: [] };
const admin: UserInfo = { username: 'platform-admin', groups: [] };
const tenantGuard: UserInfo = { username: 'system:serviceaccount:tenant-guard:tenant-guard', groups: ['system:serviceaccounts'] };
const replicaSetController: UserInfo = { username: 'system:kube-controller-manager', groups: [] };

function ns(name: string, tenant?: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `uid-${name}`, labels: tenant ? { 'tenant-guard.dev/tenant': tenant } : {} } };
}

function state(withBaseline: boolean, config: TenancyConfig = on): MemoryStore {
  const s = new MemoryStore();
  for (const o of [ns('tenant-1', 'tenant-1'), ns('tenant-2', 'tenant-2'), ns('knative-serving'), ns('istio-system')]) s.upsert(o);
  if (withBaseline) for (const o of baselineObjectsFor(config, s)) s.upsert(o);
  return s;
}

const GROUPS: Record<string, string> = { Service: 'serving.knative.dev', Configuration: 'serving.knative.dev', Revision: 'serving.knative.dev', StatefulSet: 'apps', DaemonSet: 'apps', ReplicaSet: 'apps', Job: 'batch', ReplicationController: '', Pod: '', Deployment: 'apps', CronJob: 'batch', PeerAuthentication: 'security.istio.io', AuthorizationPolicy: 'security.istio.io' };

function review(s: MemoryStore, config: TenancyConfig, user: UserInfo, operation: Operation, obj: KubeObject, old?: KubeObject) {
  return evaluate(
    {
      operation,
      kind: { group: GROUPS[obj.kind]!, version: 'v1', kind: obj.kind },
      namespace: obj.metadata.namespace!,
      name: obj.metadata.name!,
      ...(operation === 'DELETE' ? {} : { object: obj }),
      ...(old ? { oldObject: old } : {}),
      userInfo: user,
      dryRun: false,
    },
    s,
    config,
  );
}

const ksvc = (namespace: string): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace },
  spec: { template: { spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go' }] } } },
});
const pod = (namespace: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
const deployment = (namespace: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', namespace },
  spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
});
const rules = (d: { violations: { rule: string }[] }) => d.violations.map((v) => v.rule);
const podTemplate = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
/** Every other kind that makes pods (issue 17: the open window covers each). */
const revision = (namespace: string): KubeObject => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'r', namespace }, spec: { containers: [{ image: 'busybox' }] } });
const podMakers = (namespace: string): KubeObject[] => [
  revision(namespace),
  { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'c', namespace }, spec: { template: { spec: { containers: [{ image: 'busybox' }] } } } },
  ...['StatefulSet', 'DaemonSet', 'ReplicaSet'].map((kind) => ({ apiVersion: 'apps/v1', kind, metadata: { name: 'w', namespace }, spec: { selector: { matchLabels: { a: 'b' } }, template: podTemplate } })),
  { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace }, spec: { template: podTemplate } },
  { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj', namespace }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: podTemplate } } } },
  { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc', namespace }, spec: { selector: { a: 'b' }, template: podTemplate } },
];

t.test('open window: every kind that makes pods waits (Knative Revisions included)', async (t) => {
  const s = state(false);
  s.upsert(ns('tenant-1-new', 'tenant-1'));
  for (const o of podMakers('tenant-1-new')) t.same(rules(review(s, on, alice, 'CREATE', o)), ['TG-BASELINE-OPEN-WINDOW'], o.kind);
  const closed = state(true);
  for (const o of podMakers('tenant-1')) t.notOk(rules(review(closed, on, alice, 'CREATE', o)).includes('TG-BASELINE-OPEN-WINDOW'), `${o.kind} once the baseline is in place`);
});

t.test('open window: tenant workloads wait for the baseline', async (t) => {
  const s = state(false);
  s.upsert(ns('tenant-1-new', 'tenant-1'));
  for (const make of [ksvc, pod, deployment]) {
    for (const user of [alice, aliceSA]) {
      const d = review(s, on, user, 'CREATE', make('tenant-1-new'));
      t.same(rules(d), ['TG-BASELINE-OPEN-WINDOW'], `${user.username} ${make('x').kind}`);
    }
  }
  const d = review(s, on, alice, 'CREATE', ksvc('tenant-1-new'));
  t.match(d.violations[0]!.message, /namespace "tenant-1-new" \(tenant tenant-1\) does not have its baseline \(PeerAuthentication tenant-1-new\/tenant-guard-strict, AuthorizationPolicy tenant-1-new\/tenant-guard-allow-tenant\) yet: tenant-guard is creating it/);
  t.same(rules(review(s, on, stranger, 'CREATE', ksvc('tenant-1-new'))).includes('TG-BASELINE-OPEN-WINDOW'), true, 'unknown users too');
  t.ok(review(s, on, admin, 'CREATE', ksvc('tenant-1-new')).allowed, 'platform admins are not held to it');
  t.ok(review(s, on, replicaSetController, 'CREATE', pod('tenant-1-new')).allowed, 'platform controllers are not held to it');
  t.ok(review(s, off, alice, 'CREATE', ksvc('tenant-1-new')).allowed, 'baseline off: no window check');
  t.ok(review(s, on, alice, 'DELETE', ksvc('tenant-1-new'), ksvc('tenant-1-new')).allowed, 'deletes are never held back');
  const unseen = review(s, on, alice, 'CREATE', ksvc('tenant-1-unseen'));
  t.same(rules(unseen), ['TG-BASELINE-OPEN-WINDOW'], 'a namespace the state has not seen yet fails closed');
  t.match(unseen.violations[0]!.message, /namespace "tenant-1-unseen" is not known to tenant-guard yet/);
  s.upsert(ns('scratch'));
  t.ok(review(s, on, alice, 'CREATE', ksvc('scratch')).allowed, 'a namespace of no tenant is not held back');
  t.same(rules(review(s, on, alice, 'UPDATE', ksvc('tenant-1-new'), ksvc('tenant-1-new'))), ['TG-BASELINE-OPEN-WINDOW'], 'updates too');
});

t.test('the window closes with the baseline, or with another enforced namespace-wide ALLOW', async (t) => {
  const s = state(true);
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1')).allowed, 'baseline in place');
  const s2 = state(false);
  // The activator's and the gateway's side of the baseline only: the namespace itself is closed (or not) by what each case adds.
  for (const o of baselineObjectsFor(on, state(false)).filter((o) => o.metadata.namespace === 'knative-serving' || o.metadata.namespace === 'istio-system')) s2.upsert(o);
  const own = (extra: Partial<KubeObject['metadata']> = {}, spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'mine', namespace: 'tenant-1', ...extra },
    spec: { rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }] }], ...spec },
  });
  s2.upsert(own());
  t.ok(review(s2, on, alice, 'CREATE', ksvc('tenant-1')).allowed, "the tenant's own ALLOW closes it");
  s2.upsert(own({ annotations: { 'istio.io/dry-run': 'true' } }));
  t.same(rules(review(s2, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'a dry-run ALLOW does not');
  s2.upsert(own({}, { selector: { matchLabels: { app: 'x' } } }));
  t.same(rules(review(s2, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'an ALLOW for some workloads only does not');
  s2.upsert(own({}, { action: 'DENY' }));
  t.same(rules(review(s2, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'a DENY does not');
  s2.upsert(own({ namespace: 'istio-system', name: 'mesh-wide' }));
  t.ok(review(s2, on, alice, 'CREATE', ksvc('tenant-1')).allowed, 'a namespace-wide ALLOW in the mesh root namespace does');
});

t.test('managed baseline objects: tenants may neither change nor delete them', async (t) => {
  for (const config of [on, off]) {
    const s = state(true, on);
    const managed = baselineObjectsFor(on, s).filter((o) => o.metadata.namespace === 'tenant-1');
    t.equal(managed.length, 2);
    for (const o of managed) {
      const loosened = { ...o, spec: o.kind === 'PeerAuthentication' ? { mtls: { mode: 'PERMISSIVE' } } : { action: 'ALLOW', rules: [{}] } };
      for (const user of [alice, aliceSA, stranger]) {
        t.ok(rules(review(s, config, user, 'UPDATE', loosened, o)).includes('TG-BASELINE-MANAGED'), `${user.username} UPDATE ${o.kind}`);
        t.ok(rules(review(s, config, user, 'DELETE', o, o)).includes('TG-BASELINE-MANAGED'), `${user.username} DELETE ${o.kind}`);
      }
      const d = review(s, config, alice, 'DELETE', o, o);
      t.match(d.violations.find((v) => v.rule === 'TG-BASELINE-MANAGED')!.message, new RegExp(`${o.kind} tenant-1/${o.metadata.name} is the (peer-authentication|authorization-policy) baseline object tenant-guard keeps`));
      t.ok(review(s, config, tenantGuard, 'UPDATE', o, loosened).allowed, `tenant-guard's own service account repairs ${o.kind}`);
      t.notOk(rules(review(s, config, admin, 'DELETE', o, o)).includes('TG-BASELINE-MANAGED'), 'platform admins are not held to it');
    }
  }
  const s = state(true);
  const fake: KubeObject = {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'mine', namespace: 'tenant-1', labels: { 'tenant-guard.dev/managed-by': 'tenant-guard' } },
    spec: { rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }] }] },
  };
  t.match(review(s, on, alice, 'CREATE', fake).violations.map((v) => v.message).join(), /carries tenant-guard.dev\/managed-by: tenant-guard, which marks the objects tenant-guard keeps/);
  const { labels: _l, ...meta } = fake.metadata;
  t.ok(review(s, on, alice, 'CREATE', { ...fake, metadata: meta }).allowed, "a tenant's own policy next to the baseline is fine");
});

t.test('the window closes on the activator path only once the tenant\'s pin fences the namespace', async (t) => {
  const s = state(true);
  s.upsert(ns('tenant-1-new', 'tenant-1'));
  for (const o of baselineObjectsFor(on, s).filter((o) => o.metadata.namespace === 'tenant-1-new')) s.upsert(o);
  const d = review(s, on, alice, 'CREATE', ksvc('tenant-1-new'));
  t.same(rules(d), ['TG-BASELINE-OPEN-WINDOW'], 'its own baseline is there, the pin does not name it yet');
  t.match(
    d.violations[0]!.message,
    /namespace "tenant-1-new" \(tenant tenant-1\) is not fenced on the activator yet \(AuthorizationPolicy knative-serving\/tenant-guard-pin-activator-tenant-1 does not deny other tenants' requests whose knative-serving-namespace header names "tenant-1-new"\)/,
  );
  const pinKey = (o: KubeObject) => o.metadata.name === 'tenant-guard-pin-activator-tenant-1';
  const pin = baselineObjectsFor(on, s).find(pinKey)!;
  s.upsert(pin);
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1-new')).allowed, 'the reconciled pin fences it');
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1')).allowed, 'and still the older namespace');

  const variant = (spec: Record<string, unknown>, annotations?: Record<string, string>) => s.upsert({ ...pin, metadata: { ...pin.metadata, ...(annotations ? { annotations } : {}) }, spec: { ...pin.spec, ...spec } });
  const fence = (pin.spec!.rules as any[])[0];
  variant({ rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', notValues: ['tenant-1'] }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], "a pin on the tenant's own callers (notValues) does not fence");
  variant({ rules: [{ ...fence, from: [{ source: { notNamespaces: [...fence.from[0].source.notNamespaces, 'tenant-2'] } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], "a fence exempting another tenant's namespace does not");
  variant({ rules: [{ ...fence, from: [{ source: { notNamespaces: ['*'] } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'nor one exempting a pattern');
  variant({ rules: [{ ...fence, from: [{ source: { namespaces: ['tenant-2'] } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'nor one denying some callers only');
  variant({ rules: [{ ...fence, to: [{ operation: { ports: ['8012'] } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'nor one narrowed to some requests');
  variant({ rules: [{ when: fence.when }] });
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1')).allowed, 'a fence exempting nobody does');
  variant({ action: 'ALLOW' });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'an ALLOW does not fence');
  variant({}, { 'istio.io/dry-run': 'true' });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'a dry-run pin does not');
  for (const [spec, why] of [
    [{ selector: { matchLabels: { app: 'not-the-activator' } } }, 'a pin selecting other workloads'],
    [{ selector: { matchLabels: { app: 'activator', extra: 'x' } } }, 'a pin selecting by a label the activator may not carry'],
    [{ selector: undefined, targetRefs: [{ kind: 'Service', name: 'activator-service' }] }, 'a pin bound by targetRefs'],
  ] as const) {
    variant(spec as Record<string, unknown>);
    t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], `${why} does not fence`);
  }
  s.upsert({ ...pin, metadata: { ...pin.metadata, labels: { ...pin.metadata.labels, 'istio.io/rev': 'canary' } } });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1'))), ['TG-BASELINE-OPEN-WINDOW'], 'a pin of one control plane revision does not fence');
  variant({ selector: undefined });
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1')).allowed, 'a pin selecting the whole activator namespace does');
  s.upsert({ ...pin, metadata: { name: pin.metadata.name, namespace: pin.metadata.namespace }, spec: { action: 'ALLOW', rules: [{}] } });
  t.match(review(s, on, alice, 'CREATE', ksvc('tenant-1')).violations[0]!.message, /an object tenant-guard does not manage holds that name, ask a platform admin to remove or rename it/, 'a name taken by a foreign object is said so');
  s.upsert(pin);
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1')).allowed, 'repaired');
  const noPin = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true, activatorHeaderPin: { enabled: false } }, platformControllers: on.platformControllers }, 'no pin');
  t.ok(review(state(true, noPin), noPin, alice, 'CREATE', ksvc('tenant-1')).allowed, 'pin off: no fence is asked for');
  const peered = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true }, peerings: [{ from: 'tenant-2', to: 'tenant-1' }], platformControllers: on.platformControllers }, 'peered');
  const ps = state(true, peered);
  t.match(JSON.stringify(ps.get(GK.AuthorizationPolicy, 'knative-serving', 'tenant-guard-pin-activator-tenant-1')!.spec), /"notNamespaces":\["istio-system","knative-serving","tenant-1","tenant-2"\]/, "a peer's namespaces are exempt from the fence");
  t.ok(review(ps, peered, alice, 'CREATE', ksvc('tenant-1')).allowed, 'and that fence counts');
  const noKnative = state(true);
  noKnative.remove({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'knative-serving' } });
  for (const o of noKnative.list(GK.AuthorizationPolicy, 'knative-serving')) noKnative.remove(o);
  t.ok(review(noKnative, on, alice, 'CREATE', pod('tenant-1')).allowed, 'no activator namespace: no activator path, no fence asked for');
});

t.test("where istiod strips the Host's port, the window closes on the gateway paths only once the tenant's gateway fence denies others the namespace's Hosts", async (t) => {
  const on = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true }, istio: { gatewayStripHostPort: true }, platformControllers: onPlain.platformControllers }, 'stripping');
  const s = state(true, on);
  t.ok(review(state(true, onPlain), onPlain, alice, 'CREATE', ksvc('tenant-1')).allowed, 'without stripping no tenant is admitted on the gateway: no fence is asked for');
  s.upsert(ns('tenant-1-new', 'tenant-1'));
  const desired = baselineObjectsFor(on, s);
  for (const o of desired.filter((o) => o.metadata.namespace === 'tenant-1-new' || o.metadata.name === 'tenant-guard-pin-activator-tenant-1')) s.upsert(o);
  const d = review(s, on, alice, 'CREATE', ksvc('tenant-1-new'));
  t.same(rules(d), ['TG-BASELINE-OPEN-WINDOW'], 'its baseline and the activator pin are there, the gateway fence does not name it yet');
  t.match(
    d.violations[0]!.message,
    /namespace "tenant-1-new" \(tenant tenant-1\) is not fenced on knative-local-gateway yet \(AuthorizationPolicy istio-system\/tenant-guard-fence-gateway-tenant-1 does not deny other tenants the Hosts \*\.tenant-1-new\.svc and \*\.tenant-1-new\.svc\.cluster\.local\): tenant-guard is writing it/,
  );
  const fence = desired.find((o) => o.metadata.name === 'tenant-guard-fence-gateway-tenant-1')!;
  s.upsert(fence);
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1-new')).allowed, 'the reconciled fence closes it');
  const rule = (fence.spec!.rules as any[])[0];
  const variant = (spec: Record<string, unknown>) => s.upsert({ ...fence, spec: { ...fence.spec, ...spec } });
  variant({ rules: [{ ...rule, to: [{ operation: { hosts: rule.to[0].operation.hosts.filter((h: string) => !h.endsWith(':80')) } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1-new'))), ['TG-BASELINE-OPEN-WINDOW'], 'a fence without the :80 forms does not (hosts match literally, port included)');
  variant({ rules: [{ ...rule, from: [{ source: { notNamespaces: [...rule.from[0].source.notNamespaces, 'tenant-2'] } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1-new'))), ['TG-BASELINE-OPEN-WINDOW'], "a fence exempting another tenant's namespace does not");
  variant({ rules: [{ ...rule, to: [{ operation: { hosts: rule.to[0].operation.hosts, ports: ['8081'] } }] }] });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1-new'))), ['TG-BASELINE-OPEN-WINDOW'], 'a fence narrowed to some ports does not');
  variant({ selector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway', extra: 'x' } } });
  t.same(rules(review(s, on, alice, 'CREATE', ksvc('tenant-1-new'))), ['TG-BASELINE-OPEN-WINDOW'], 'a fence selecting by a label the gateway may not carry does not');
  variant({ rules: [{ to: [{ operation: { hosts: rule.to[0].operation.hosts.map((h: string) => h.toUpperCase()) } }] }] });
  t.ok(review(s, on, alice, 'CREATE', ksvc('tenant-1-new')).allowed, 'a fence exempting nobody, its Hosts in upper case (Istio matches them case-insensitively), does');
  const noFence = parseTenancyConfig({ ...structuredClone(defaultConfig), baseline: { enabled: true, gatewayFence: { enabled: false } }, istio: { gatewayStripHostPort: true }, platformControllers: on.platformControllers }, 'no gateway fence');
  t.ok(review(state(true, noFence), noFence, alice, 'CREATE', ksvc('tenant-1')).allowed, 'gateway fence off: none is asked for');
});

t.test("a tenant pod may not wear the shared gateway's selector labels: the gateway's root-namespace policies would select it", async (t) => {
  const s = state(true);
  const labelled = (labels: Record<string, string>): KubeObject => ({ ...pod('tenant-1'), metadata: { name: 'p', namespace: 'tenant-1', labels } });
  const d = review(s, on, alice, 'CREATE', labelled({ app: 'istio-ingressgateway', istio: 'ingressgateway' }));
  t.same(rules(d), ['TG-WORKLOAD-GATEWAY-LABEL']);
  t.match(d.violations[0]!.message, /are the selector of the shared gateway \(config baseline\.gatewayPolicy\.selector\)/);
  t.ok(review(s, on, alice, 'CREATE', labelled({ istio: 'ingressgateway' })).allowed, 'one of the labels alone is not the selector');
});
