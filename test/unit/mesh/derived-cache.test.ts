// Data the model derives from a namespace's policies is kept in the store
// across reviews (ClusterState.derived) and dropped when a policy changes;
// what else it reads must be in its key (found by the issue 17 review).
import t from 'tap';
import { computeMatrix } from '../../../src/mesh/matrix.js';
import { ap, config, referenceState, VARIANTS, type Variant } from './reference-state.js';

const VARIANT = Object.keys(VARIANTS)[0] as Variant;

t.test("kept derived data follows the activator namespace's revision label (found by review): relabelling it re-reads its policies", async (t) => {
  // A policy labelled for a revision that does not serve knative-serving is skipped by istiod; once the namespace is
  // relabelled for that revision, the policy applies.
  const s = referenceState(VARIANT);
  const open = ap('knative-serving', 'rev-open', { selector: { matchLabels: { app: 'activator' } }, action: 'ALLOW', rules: [{}] });
  open.metadata.labels = { 'istio.io/rev': 'canary' };
  s.upsert(open);
  const c = config();
  const before = computeMatrix(s, c);
  const ns = s.get('/Namespace', undefined, 'knative-serving')!;
  s.upsert({ ...ns, metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, 'istio.io/rev': 'canary' } } });
  const after = computeMatrix(s, c);
  const activatorOpen = (m: ReturnType<typeof computeMatrix>) => m.cells.some((x) => x.allowed && x.from === 'tenant-2' && x.to === 'tenant-1' && x.path === 'activator');
  t.notOk(activatorOpen(before), 'skipped while no istiod serving knative-serving reads it');
  t.ok(activatorOpen(after), 'read (and open) once the namespace is served by that revision');
});
