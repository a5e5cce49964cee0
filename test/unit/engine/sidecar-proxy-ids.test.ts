import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { blockEnd, proxyIdsOf } from '../../../src/engine/sidecar-proxy-ids.js';

t.test('blockEnd reads OpenShift id blocks as ParseBlock does', async (t) => {
  t.equal(blockEnd('1000650000/10000'), 1000659999);
  t.equal(blockEnd('5000-5999'), 5999);
  t.equal(blockEnd('1000650000/10000,2000/5'), 1000659999, 'first block');
  t.equal(blockEnd('nonsense'), undefined);
  t.equal(blockEnd('100/0'), undefined, 'an empty block has no last id');
});

t.test('proxyIdsOf: 1337 everywhere, plus the namespace range ends on OpenShift', async (t) => {
  const s = new MemoryStore();
  s.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
  s.upsert({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ocp', annotations: { 'openshift.io/sa.scc.uid-range': '1000/100', 'openshift.io/sa.scc.supplemental-groups': '2000/10,3000/10' } },
  });
  s.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'uid-only', annotations: { 'openshift.io/sa.scc.uid-range': '1000/100' } } });
  t.same([...proxyIdsOf(s, 'plain').uids], [1337]);
  t.same([...proxyIdsOf(s, 'missing').gids], [1337], 'a namespace not in the state');
  t.same([...proxyIdsOf(s, undefined).uids], [1337]);
  const ocp = proxyIdsOf(s, 'ocp');
  t.same([...ocp.uids].sort(), [1099, 1337]);
  t.same([...ocp.gids].sort(), [1337, 2009]);
  t.same([...proxyIdsOf(s, 'uid-only').gids].sort(), [1099, 1337], 'GID falls back to the UID range');
});
