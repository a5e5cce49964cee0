import { readFileSync } from 'node:fs';
import t from 'tap';
import { impersonate } from '../../../src/cli/check-identity.js';
import { checkManifests, seedState } from '../../../src/cli/check-run.js';
import { parseManifests } from '../../../src/cluster/manifests.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK } from '../../../src/cluster/state.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { NAMESPACES, REPO } from './check-harness.js';

const config = loadDefaultTenancyConfig();
const alice = impersonate('alice', ['tenant-1-admins']);
const KSVC = 'test/fixtures/reference/kind/services/tenant-1/kservice.yaml';

function store(): MemoryStore {
  const s = new MemoryStore();
  seedState(s, parseManifests(readFileSync(REPO + NAMESPACES, 'utf8'), NAMESPACES), 'default');
  return s;
}

t.test('admitted objects join the state with the engine patch applied', async (t) => {
  const s = store();
  const results = checkManifests(parseManifests(readFileSync(REPO + KSVC, 'utf8'), KSVC), s, config, { userInfo: alice, defaultNamespace: 'default' });
  for (const r of results) {
    t.equal(r.decision.allowed, true, r.decision.violations.map((v) => v.message).join('; '));
    const stored = s.get(GK.KnativeService, 'tenant-1', r.object.metadata.name!);
    t.ok(stored, `${r.object.metadata.name} stored`);
    for (const op of r.decision.patch) {
      if (op.op === 'remove') continue;
      const segments = op.path.slice(1).split('/').map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'));
      const value = segments.reduce<any>((o, k) => o?.[k], stored);
      // match, not same: a later op may add entries into a map an earlier op created.
      t.match(value, op.value as object, `stored object reflects ${op.op} ${op.path}`);
    }
  }
  t.ok(results.some((r) => r.decision.patch.length > 0), 'the tenant services are mutated (tenant label, injection)');
});

t.test('denied objects do not join the state; admitted deletes leave it', async (t) => {
  const s = store();
  const optOut = parseManifests(
    'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: no-mesh, namespace: tenant-1}\n' +
      'spec: {template: {metadata: {annotations: {sidecar.istio.io/inject: "false"}}, spec: {containers: [{image: x}]}}}\n',
    'opt-out.yaml',
  );
  const [denied] = checkManifests(optOut, s, config, { userInfo: alice, defaultNamespace: 'default' });
  t.equal(denied!.decision.allowed, false);
  t.equal(s.get(GK.KnativeService, 'tenant-1', 'no-mesh'), undefined);

  const ns = parseManifests('apiVersion: v1\nkind: Namespace\nmetadata: {name: knative-eventing}\n', 'ns.yaml');
  const [del] = checkManifests(ns, s, config, { userInfo: impersonate(undefined, []), operation: 'DELETE', defaultNamespace: 'default' });
  t.equal(del!.decision.allowed, true, del!.decision.violations.map((v) => v.message).join('; '));
  t.equal(del!.input.oldObject?.metadata.labels?.['istio-injection'], 'enabled', 'DELETE judges the stored object');
  t.equal(del!.input.object, undefined, 'a DELETE request carries no object');
  t.equal(s.get(GK.Namespace, undefined, 'knative-eventing'), undefined);
});
