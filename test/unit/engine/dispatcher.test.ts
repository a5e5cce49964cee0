import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { evaluate } from '../../../src/engine/index.js';
import type { AdmissionInput, KubeObject } from '../../../src/engine/types.js';

const config = loadDefaultTenancyConfig();
const alice = { username: 'alice', groups: ['tenant-1-admins', 'system:authenticated'] };

/** A CREATE of `object` (group/version from its apiVersion) by `userInfo`, judged on an empty state. */
function create(object: KubeObject, userInfo = alice) {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  return evaluate(
    {
      operation: 'CREATE',
      kind: { group: group!, version: version!, kind: object.kind },
      namespace: object.metadata.namespace,
      name: object.metadata.name,
      object,
      userInfo,
      dryRun: false,
    },
    new MemoryStore(),
    config,
  );
}

t.test('kinds no rule looks at pass, marked not intercepted', async (t) => {
  const d = create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'tenant-1' } });
  t.same(d, { allowed: true, intercepted: false, violations: [], warnings: [], patch: [] });
});

t.test('an intercepted object without metadata is denied, not allowed', async (t) => {
  const input = {
    operation: 'CREATE',
    kind: { group: 'security.istio.io', version: 'v1', kind: 'PeerAuthentication' },
    namespace: 'tenant-1',
    object: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication' },
    userInfo: alice,
    dryRun: false,
  } as unknown as AdmissionInput;
  const d = evaluate(input, new MemoryStore(), config);
  t.equal(d.allowed, false);
  t.equal(d.violations[0]?.rule, 'TG-ENGINE-ERROR');
});

t.test('tenant writes into system namespaces are denied', async (t) => {
  const d = create({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'p', namespace: 'knative-serving' }, spec: { mtls: { mode: 'STRICT' } } });
  t.equal(d.allowed, false);
  t.ok(d.violations.some((v) => v.rule === 'TG-SYSTEM-NAMESPACE-WRITE'));
});

t.test('status writes: not judged outside the mesh-affecting groups; inside them, refused to tenants only', async (t) => {
  const statusWrite = (group: string, kind: string, username: string, groups: string[]) =>
    evaluate(
      {
        operation: 'UPDATE',
        kind: { group, version: 'v1', kind },
        subResource: 'status',
        namespace: 'tenant-1',
        name: 's',
        object: { apiVersion: group ? `${group}/v1` : 'v1', kind, metadata: { name: 's', namespace: 'tenant-1' } },
        userInfo: { username, groups },
        dryRun: false,
      },
      new MemoryStore(),
      config,
    );
  const d = statusWrite('apps', 'Deployment', 'alice', ['tenant-1-admins']);
  t.equal(d.allowed, true);
  t.equal(d.intercepted, false);
  const controller = statusWrite('serving.knative.dev', 'Service', 'system:serviceaccount:knative-serving:controller', ['system:serviceaccounts:knative-serving']);
  t.equal(controller.allowed, true, "Knative's controller writes status");
  t.same(controller.warnings, []);
  const tenant = statusWrite('serving.knative.dev', 'Service', 'alice', ['tenant-1-admins']);
  t.same(tenant.violations.map((v) => [v.rule, v.path]), [['TG-KIND-UNJUDGED', 'status']], 'a tenant writing a Knative status is refused (routing follows it)');
  t.match(tenant.violations[0]!.message, /serving\.knative\.dev\/Service/);
});

t.test('kubectl debug containers (pods/ephemeralcontainers) are judged like the pod', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'tenant-1' },
    spec: {
      containers: [{ name: 'app', image: 'app' }],
      ephemeralContainers: [{ name: 'debug', image: 'busybox', securityContext: { runAsUser: 1337 } }],
    },
  };
  const d = evaluate(
    {
      operation: 'UPDATE',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      subResource: 'ephemeralcontainers',
      namespace: 'tenant-1',
      name: 'p',
      object: pod,
      oldObject: { ...pod, spec: { containers: pod.spec.containers } },
      userInfo: alice,
      dryRun: false,
    },
    new MemoryStore(),
    config,
  );
  t.equal(d.allowed, false);
  t.ok(d.violations.some((v) => v.rule === 'TG-WORKLOAD-PROXY-UID'), JSON.stringify(d.violations));
});

t.test('users the config does not know may not write into system namespaces', async (t) => {
  const d = create(
    { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', metadata: { name: 'r', namespace: 'istio-system' }, spec: {} },
    { username: 'mallory', groups: ['system:authenticated'] },
  );
  t.equal(d.allowed, false);
  t.ok(d.violations.some((v) => v.rule === 'TG-SYSTEM-NAMESPACE-WRITE'));
});

t.test("a tenant may not write into another tenant's namespace", async (t) => {
  const input = (user: { username: string; groups: string[] }, namespace: string): AdmissionInput => ({
    operation: 'CREATE',
    kind: { group: 'security.istio.io', version: 'v1', kind: 'PeerAuthentication' },
    namespace,
    name: 'default',
    object: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace }, spec: { mtls: { mode: 'STRICT' } } },
    userInfo: user,
    dryRun: false,
  });
  const bob = { username: 'bob', groups: ['tenant-2-admins'] };
  const denied = evaluate(input(bob, 'tenant-1'), new MemoryStore(), config);
  t.equal(denied.allowed, false);
  t.match(denied.violations[0], { rule: 'TG-TENANT-FOREIGN-NAMESPACE', path: 'metadata.namespace', message: /belongs to tenant tenant-1/ });
  t.equal(evaluate(input(bob, 'tenant-2'), new MemoryStore(), config).allowed, true);
  const sa = { username: 'system:serviceaccount:tenant-2:deployer', groups: ['system:serviceaccounts'] };
  t.equal(evaluate(input(sa, 'tenant-1'), new MemoryStore(), config).allowed, false);
  const admin = { username: 'platform-admin', groups: [] };
  t.equal(evaluate(input(admin, 'tenant-1'), new MemoryStore(), config).allowed, true);
});
