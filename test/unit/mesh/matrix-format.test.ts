import t from 'tap';
import { formatMatrixText, type MatrixCell, type ReachabilityMatrix } from '../../../src/mesh/matrix.js';

function matrix(cells: Partial<MatrixCell>[]): ReachabilityMatrix {
  return {
    tenants: ['tenant-1', 'tenant-2'],
    sources: ['tenant-1', 'tenant-2'],
    paths: ['direct'],
    cells: cells.map((c) => ({ path: 'direct', reason: 'r', peered: false, allowed: false, from: '', to: '', ...c }) as MatrixCell),
    gateway: 'assumed ISTIO_MUTUAL',
    unreadablePolicies: [],
  } as ReachabilityMatrix;
}

t.test('columns stay aligned with "allow (peered)" and lines carry no trailing spaces', async (t) => {
  const text = formatMatrixText(
    matrix([
      { from: 'tenant-1', to: 'tenant-1', allowed: true },
      { from: 'tenant-1', to: 'tenant-2', allowed: false },
      { from: 'tenant-2', to: 'tenant-1', allowed: true, peered: true },
      { from: 'tenant-2', to: 'tenant-2', allowed: true },
    ]),
  );
  const lines = text.split('\n');
  for (const l of lines) t.notMatch(l, / $/, `no trailing space: ${JSON.stringify(l)}`);
  const table = lines.slice(1, 4);
  const col = table[0]!.indexOf('tenant-2');
  t.ok(col > 0);
  t.equal(table[2]!.indexOf('allow', 'tenant-2'.length + 'allow (peered)'.length), col, 'the tenant-2 column starts at the same offset');
  t.match(table[2], /^tenant-2\s+allow \(peered\)\s+allow$/);
  t.match(text, /no cross-tenant path is open/);
});

t.test('an open cross-tenant cell is marked and explained', async (t) => {
  const text = formatMatrixText(
    matrix([
      { from: 'tenant-1', to: 'tenant-1', allowed: true },
      { from: 'tenant-1', to: 'tenant-2', allowed: true, reason: 'pod in tenant-2: rules[0]' },
      { from: 'tenant-2', to: 'tenant-1', allowed: false },
      { from: 'tenant-2', to: 'tenant-2', allowed: true },
    ]),
  );
  t.match(text, /tenant-1\s+allow\s+ALLOW!/);
  t.match(text, /open cross-tenant paths \(1\):\n  tenant-1 -> tenant-2 via direct: pod in tenant-2: rules\[0\]/);
});
