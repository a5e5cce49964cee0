// Per-tenant control planes: tenant-1 on revision rev-t1, tenant-2 on rev-t2.
import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import type { KubeObject } from '../../../src/engine/types.js';
import { alice, bob, fixture, namespace, platformAdmin, revisionConfig, submit, TENANT_LABEL } from './workload-harness.js';

const T = TENANT_LABEL;
const config = revisionConfig;

function revState(): MemoryStore {
  const s = new MemoryStore();
  s.upsert(namespace('tenant-1', { [T]: 'tenant-1', 'istio.io/rev': 'rev-t1' }));
  s.upsert(namespace('tenant-2', { [T]: 'tenant-2', 'istio.io/rev': 'rev-t2' }));
  return s;
}

t.test('tenant namespaces get istio.io/rev, never istio-injection', async (t) => {
  const { d, result } = submit(namespace('tenant-1-dev'), alice, { config, state: new MemoryStore() });
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-1', 'istio.io/rev': 'rev-t1' });
  const admin = submit(namespace('tenant-2'), platformAdmin, { config, state: new MemoryStore() });
  t.same(admin.result.metadata.labels, { [T]: 'tenant-2', 'istio.io/rev': 'rev-t2' });
});

t.test('tenants may not pick another control plane or istio-injection', async (t) => {
  const foreign = submit(namespace('tenant-1-dev', { 'istio.io/rev': 'rev-t2' }), alice, { config, state: new MemoryStore() });
  t.same(foreign.d.violations.map((v) => [v.rule, v.path]), [['TG-NS-REVISION-MISMATCH', 'metadata.labels["istio.io/rev"]']]);
  const other = submit(namespace('tenant-1-dev', { 'istio.io/rev': 'canary' }), alice, { config, state: new MemoryStore() });
  t.same(other.rules, ['TG-NS-REVISION-MISMATCH'], 'only the own revision');
  const injection = submit(namespace('tenant-1-dev', { 'istio-injection': 'enabled' }), alice, { config, state: new MemoryStore() });
  t.same(injection.d.violations.map((v) => [v.rule, v.path]), [['TG-NS-REVISION-MISMATCH', 'metadata.labels["istio-injection"]']]);
});

t.test('platform admins: another tenant revision refused, canary or istio-injection warned', async (t) => {
  const foreign = submit(namespace('tenant-1', { 'istio.io/rev': 'rev-t2' }), platformAdmin, { config, state: new MemoryStore() });
  t.same(foreign.rules, ['TG-NS-REVISION-MISMATCH']);
  const canary = submit(namespace('tenant-1', { 'istio.io/rev': 'rev-t1-canary' }), platformAdmin, { config, state: new MemoryStore() });
  t.equal(canary.d.allowed, true);
  t.equal(canary.result.metadata.labels?.['istio.io/rev'], 'rev-t1-canary', 'the admin value is kept');
  t.match(canary.d.warnings.join('\n'), /not tenant tenant-1's control plane/);
  const injection = submit(namespace('tenant-1', { 'istio-injection': 'enabled' }), platformAdmin, { config, state: new MemoryStore() });
  t.equal(injection.d.allowed, true);
  t.match(injection.d.warnings.join('\n'), /takes precedence/);
});

t.test('shared control plane: a namespace label naming a tenant revision is refused for everyone', async (t) => {
  // tenant-1 keeps the shared control plane, tenant-2 has its own.
  const mixed = { ...structuredClone(config), tenants: config.tenants.map(({ revision, ...rest }) => (rest.name === 'tenant-1' ? rest : { ...rest, revision })) };
  const r = submit(namespace('tenant-1', { 'istio.io/rev': 'rev-t2' }), platformAdmin, { config: mixed, state: new MemoryStore() });
  t.same(r.rules, ['TG-NS-REVISION-MISMATCH']);
  const ok = submit(namespace('tenant-1'), alice, { config: mixed, state: new MemoryStore() });
  t.same(ok.result.metadata.labels, { [T]: 'tenant-1', 'istio-injection': 'enabled' });
});

t.test('reference services under per-tenant control planes', async (t) => {
  const svcs = [...fixture('reference/kind/services/tenant-1/kservice.yaml'), ...fixture('reference/openshift/services/tenant-2/kservice.yaml')];
  for (const svc of svcs) {
    const { d, result } = submit(svc, svc.metadata.namespace === 'tenant-1' ? alice : bob, { config, state: revState() });
    t.equal(d.allowed, true);
    t.same(result.spec.template.metadata.labels, { [T]: svc.metadata.namespace, 'sidecar.istio.io/inject': 'true' }, 'no istio.io/rev added: the namespace decides');
  }
});

function ksvcWithRev(ns: string, rev: string): KubeObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: ns },
    spec: { template: { metadata: { labels: { 'istio.io/rev': rev } }, spec: { containers: [{ image: 'x' }] } } },
  };
}

t.test('workload istio.io/rev: own revision or none', async (t) => {
  t.equal(submit(ksvcWithRev('tenant-1', 'rev-t1'), alice, { config, state: revState() }).d.allowed, true);
  const foreign = submit(ksvcWithRev('tenant-1', 'rev-t2'), alice, { config, state: revState() });
  t.same(foreign.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-FOREIGN-REVISION', 'spec.template.metadata.labels["istio.io/rev"]']]);
  t.match(foreign.d.violations[0]!.message, /tenant tenant-2's control plane/);
  t.same(submit(ksvcWithRev('tenant-1', 'default'), alice, { config, state: revState() }).rules, ['TG-WORKLOAD-FOREIGN-REVISION']);
  t.same(submit(ksvcWithRev('tenant-1', 'rev-t2'), platformAdmin, { config, state: revState() }).rules, ['TG-WORKLOAD-FOREIGN-REVISION'], 'platform admins too');
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'tenant-2', labels: { 'istio.io/rev': 'rev-t1' } },
    spec: { containers: [{ name: 'a', image: 'x' }] },
  };
  t.same(submit(pod, bob, { config, state: revState() }).d.violations.map((v) => v.path), ['metadata.labels["istio.io/rev"]']);
});

t.test('shared control plane: a workload revision label is refused only when it is a tenant revision', async (t) => {
  t.equal(submit(ksvcWithRev('tenant-1', 'canary'), alice).d.allowed, true, 'default config: no tenant revisions');
});
