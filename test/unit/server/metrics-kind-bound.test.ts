// The kind label of the admission metrics stays within a fixed set whatever
// kinds clients send: a kind of a mesh group that the kind table does not
// list (refused as unjudged) used to become a label of its own, so a client
// reaching the port could add a series per request (2,000 kinds made a
// 5.4 MB scrape).
import t from 'tap';
import { Registry } from 'prom-client';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { buildApp } from '../../../src/server/app.js';
import { staticConfig } from '../../../src/server/config-provider.js';
import type { AdmissionInput } from '../../../src/engine/types.js';
import { ALICE, capturingLogger, reviewOf } from './reviews.js';

function reviewOfKind(group: string, kind: string) {
  const apiVersion = group ? `${group}/v1` : 'v1';
  const input = {
    operation: 'CREATE',
    kind: { group, version: 'v1', kind },
    userInfo: ALICE,
    dryRun: false,
    namespace: 'tenant-1',
    name: 'x',
    object: { apiVersion, kind, metadata: { name: 'x', namespace: 'tenant-1' } },
  } as AdmissionInput;
  return reviewOf(input);
}

t.test('kinds nobody lists fold into "other": the series count does not grow with what clients send', async (t) => {
  const registry = new Registry();
  const app = buildApp({ config: staticConfig(loadDefaultTenancyConfig()), state: new MemoryStore(), logger: capturingLogger().logger, registry });
  t.teardown(() => app.close());
  for (let i = 0; i < 40; i++) {
    const r = await app.inject({ method: 'POST', url: '/validate', payload: reviewOfKind('networking.istio.io', `Made"Up\\${i}`) });
    t.equal(r.json().response.allowed, false, 'an unlisted kind of a mesh group is still refused');
  }
  // A kind the table lists (refused as unjudged) and a judged one keep their names.
  await app.inject({ method: 'POST', url: '/validate', payload: reviewOfKind('networking.internal.knative.dev', 'Certificate') });
  await app.inject({ method: 'POST', url: '/validate', payload: reviewOfKind('networking.istio.io', 'Sidecar') });
  const text = await registry.metrics();
  const series = text.split('\n').filter((l) => l.startsWith('tenant_guard_admission_requests_total{'));
  t.same(
    series.map((l) => /kind="([^"]*)"/.exec(l)?.[1]).sort(),
    ['networking.internal.knative.dev/Certificate', 'networking.istio.io/Sidecar', 'other'],
    'one series for the 40 made-up kinds',
  );
  t.match(text, /tenant_guard_admission_requests_total\{endpoint="validate",kind="other",operation="CREATE",decision="denied"\} 40/);
});
