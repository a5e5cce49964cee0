// Issue 21: `check` in CI with the production config. Offline the baseline the
// controllers keep is assumed present (--strict-open-window restores the
// webhook's refusal); a state exported from a cluster round-trips into --state.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadManifests } from '../../../src/cluster/manifests.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK, groupKindOf } from '../../../src/cluster/state.js';
import { exportState, stateFileName } from '../../../src/cli/state-export.js';
import { seedState } from '../../../src/cli/check-run.js';
import { ALICE, checkJson, NAMESPACES, REPO } from './check-harness.js';

const HARDENED = 'examples/reference-hardened/kind';

function productionConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tg-ci-'));
  // The chart's shape: baseline on (values.yaml), the demo tenants.
  writeFileSync(join(dir, 'values.yaml'), `tenancy:\n  tenants:\n    - {name: tenant-1, admins: {users: [alice], groups: [tenant-1-admins]}, namespaces: [tenant-1]}\n    - {name: tenant-2, admins: {users: [bob], groups: [tenant-2-admins]}, namespaces: [tenant-2]}\n`);
  return join(dir, 'values.yaml');
}

const KSVC = 'test/fixtures/reference/kind/services/tenant-1/kservice.yaml';

t.test('baseline.enabled offline: the kept baseline is assumed; --strict-open-window refuses as the webhook would', async (t) => {
  const config = productionConfig();
  const assumed = await checkJson(['--config', config, ...ALICE, '--state', NAMESPACES, '-f', KSVC]);
  t.equal(assumed.code, 0, 'a tenant workload is admitted offline with the production config');
  t.ok(assumed.report.results.every((r) => r.allowed));
  const strict = await checkJson(['--config', config, ...ALICE, '--state', NAMESPACES, '-f', KSVC, '--strict-open-window']);
  t.equal(strict.code, 1);
  t.ok(strict.report.results.every((r) => r.violations.some((v) => v.rule === 'TG-BASELINE-OPEN-WINDOW')), 'each refused with TG-BASELINE-OPEN-WINDOW');
  // Other rules still apply offline: the opt-out is refused either way.
  const optOut = await checkJson(['--config', config, ...ALICE, '--state', NAMESPACES, '-f', 'examples/bad-service.yaml']);
  t.same(optOut.report.results[0]!.violations.map((v) => v.rule), ['TG-WORKLOAD-INJECT-OPTOUT']);
});

t.test('a state export round-trips into check --state', async (t) => {
  const manifests = await loadManifests([NAMESPACES, HARDENED], { cwd: REPO });
  const store = new MemoryStore();
  seedState(store, manifests, 'default');
  const kinds = [...new Set(manifests.map((m) => groupKindOf(m.object)))];
  const dir = join(mkdtempSync(join(tmpdir(), 'tg-export-')), 'state');
  const n = exportState(store, kinds, dir);
  t.equal(n.objects, store.size());
  t.ok(readdirSync(dir).includes(stateFileName(GK.Namespace)), 'namespace.yaml');
  t.ok(readdirSync(dir).includes('authorizationpolicy.security.istio.io.yaml'));
  t.notMatch(readFileSync(join(dir, 'namespace.yaml'), 'utf8'), /managedFields/);

  const args = ['-f', 'examples/cross-tenant-policy.yaml'];
  const fromSource = await checkJson(['--state', NAMESPACES, '--state', HARDENED, ...args]);
  const fromExport = await checkJson(['--state', dir, ...args]);
  t.equal(fromSource.code, 1);
  t.equal(fromExport.code, 1, 'the cross-tenant policy is refused against the exported state');
  t.same(fromExport.report, fromSource.report, 'the same verdicts, rule ids, messages and operation (UPDATE: it exists in the state)');
  t.throws(() => exportState(store, kinds, dir), { code: 'TG_ERR_USAGE', message: /not empty/ }, 'never mixed with an older export');
});
