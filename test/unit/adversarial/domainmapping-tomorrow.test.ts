// Adversarial review (bob, tenant-2 admin): TG-KNATIVE-DOMAINMAPPING-NAME
// judges a public domain's second label only against namespaces someone
// holds today. Under a custom config-domain (example.com), Knative's default
// domain template gives tenant-1's Service `hello` in a namespace created
// later the public Host `hello.<ns>.example.com`. bob claims it first; the
// namespace is created afterwards and nothing refuses either write, so the
// ingress gateway's oldest claim (bob's mapping) takes that tenant's Host.
// The same two writes in the other order are refused: the verdict does not
// hold for tomorrow's cluster. FAILS on main at 47efa16.
import t from 'tap';
import { evaluate } from '../../../src/engine/index.js';
import type { Decision, KubeObject, UserInfo } from '../../../src/engine/types.js';
import { config, namespace, referenceState } from '../mesh/reference-state.js';

const TL = 'tenant-guard.dev/tenant';
const BOB: UserInfo = { username: 'bob', groups: ['tenant-2-admins'] };
const PLATFORM: UserInfo = { username: 'platform-admin', groups: [] };

const mapping: KubeObject = {
  apiVersion: 'serving.knative.dev/v1beta1',
  kind: 'DomainMapping',
  metadata: { name: 'hello.newns.example.com', namespace: 'tenant-2' },
  spec: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' } },
} as KubeObject;
const newns = namespace('newns', { [TL]: 'tenant-1', 'istio-injection': 'enabled' });

function state() {
  const s = referenceState('kind');
  s.upsert(namespace('tenant-1', { [TL]: 'tenant-1', 'istio-injection': 'enabled' }));
  s.upsert(namespace('tenant-2', { [TL]: 'tenant-2', 'istio-injection': 'enabled' }));
  return s;
}

const createMapping = (s: ReturnType<typeof state>): Decision =>
  evaluate({ operation: 'CREATE', kind: { group: 'serving.knative.dev', version: 'v1beta1', kind: 'DomainMapping' }, namespace: 'tenant-2', name: mapping.metadata.name, object: mapping, userInfo: BOB, dryRun: false }, s, config());
const createNamespace = (s: ReturnType<typeof state>): Decision =>
  evaluate({ operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Namespace' }, name: 'newns', object: newns, userInfo: PLATFORM, dryRun: false }, s, config());

t.test('namespace first, then bob\'s mapping: refused (control)', async (t) => {
  const s = state();
  t.ok(createNamespace(s).allowed);
  s.upsert(newns);
  t.notOk(createMapping(s).allowed, 'TG-KNATIVE-DOMAINMAPPING-NAME');
});

t.test("bob's mapping first, then tenant-1's namespace: one of the two writes must be refused", async (t) => {
  const s = state();
  const dm = createMapping(s);
  if (dm.allowed) s.upsert(mapping);
  const ns = createNamespace(s);
  t.notOk(dm.allowed && ns.allowed, `mapping ${dm.allowed ? 'admitted' : 'refused'}, namespace ${ns.allowed ? 'admitted' : 'refused'}: bob holds hello.newns.example.com, the public Host of tenant-1's future Service`);
});
