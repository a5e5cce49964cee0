import t from 'tap';
import { KubeHttpError, type KubeClient } from '../../../src/cluster/kube-client.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK } from '../../../src/cluster/state.js';
import { buildPolicyReports } from '../../../src/reports/policy-reports.js';
import { terminatingNamespaces, writePolicyReports, type WriteFailure } from '../../../src/reports/write-policy-reports.js';
import type { AuditResult } from '../../../src/reports/audit-report.js';
import type { KubeObject } from '../../../src/engine/types.js';

const as = { username: 'alice', groups: [] };
const deployment = (ns: string): AuditResult => ({
  object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: ns } } as KubeObject,
  as,
  decision: { allowed: true, intercepted: true, violations: [], warnings: [], patch: [] },
});
const reports = buildPolicyReports(['ns-a', 'ns-held', 'ns-late', 'ns-flaky', 'ns-denied', 'ns-z'].map(deployment), [], new Date('2026-12-01T00:00:00Z'));

/** A fake API server: per-path scripted failures, a record of every call. */
function fakeClient(script: Record<string, KubeHttpError[]>, stale: string[] = []) {
  const calls: string[] = [];
  const store = new Map<string, unknown>();
  const client = {
    async get(path: string) {
      calls.push(`GET ${path}`);
      if (path.endsWith('/policyreports')) return { items: stale.map((ns) => ({ metadata: { name: 'tenant-guard', namespace: ns } })) };
      if (!store.has(path)) throw new KubeHttpError(404, 'NotFound', `GET ${path}: not found`);
      return { metadata: { resourceVersion: '1' } };
    },
    async request(method: string, path: string, opts: { body?: { metadata: { name: string } } } = {}) {
      calls.push(`${method} ${path}`);
      const queued = script[path]?.shift();
      if (queued) throw queued;
      if (method === 'POST') store.set(`${path}/${opts.body!.metadata.name}`, opts.body);
      if (method === 'DELETE') store.delete(path);
      return {};
    },
  };
  return { client: client as unknown as KubeClient, calls };
}

const P = (ns: string) => `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports`;
const terminating = (ns: string) => new KubeHttpError(403, 'Forbidden', `POST ${P(ns)}: policyreports.wgpolicyk8s.io "tenant-guard" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);

t.test('one failing report stops nothing: the ClusterPolicyReport first, each write retried or reported, terminating namespaces skipped', async (t) => {
  const { client, calls } = fakeClient(
    {
      [P('ns-late')]: [terminating('ns-late')],
      [P('ns-flaky')]: [new KubeHttpError(503, 'ServiceUnavailable', 'unavailable'), new KubeHttpError(500, 'InternalError', 'etcd timeout')],
      [P('ns-denied')]: [new KubeHttpError(403, 'Forbidden', 'policyreports is forbidden: User cannot create')],
    },
    ['ns-gone'],
  );
  const failures: WriteFailure[] = [];
  const w = await writePolicyReports(client, reports, {
    terminating: new Set(['ns-held']),
    retry: { attempts: 4, baseMs: 1, maxMs: 5 },
    onFailure: (f) => failures.push(f),
  });
  t.equal(calls.find((c) => c.startsWith('POST')), 'POST /apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports', 'the ClusterPolicyReport is written first');
  t.ok(w.clusterWritten);
  t.same(w.skipped, ['ns-held', 'ns-late'], 'terminating in the snapshot, and one that began terminating since (its 403 is not retried)');
  t.notOk(calls.some((c) => c.includes('/namespaces/ns-held/')), 'nothing is sent to a namespace known to be terminating');
  t.equal(calls.filter((c) => c === `POST ${P('ns-flaky')}`).length, 3, 'a 503 and a 500 are retried with backoff; the third try succeeds');
  t.equal(calls.filter((c) => c === `POST ${P('ns-denied')}`).length, 1, 'a plain 403 is not retried');
  t.same(failures.map((f) => [f.report, f.action, f.status, f.attempts]), [['ns-denied/tenant-guard', 'write', 403, 1]]);
  t.same(w.failures, failures);
  t.ok(calls.includes(`POST ${P('ns-z')}`), 'the namespaces after a failure are written');
  t.equal(w.written, 1 + 3, 'the ClusterPolicyReport, ns-a, ns-flaky, ns-z');
  t.equal(w.deleted, 1, 'the stale report is still deleted');
});

t.test('a retriable error that persists is reported after its tries; the rest goes on', async (t) => {
  const down = Array.from({ length: 10 }, () => new KubeHttpError(500, 'InternalError', 'down'));
  const { client } = fakeClient({ '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports': down });
  const w = await writePolicyReports(client, reports, { retry: { attempts: 3, baseMs: 1, maxMs: 2 } });
  t.notOk(w.clusterWritten);
  t.match(w.failures, [{ report: 'ClusterPolicyReport/tenant-guard', action: 'write', status: 500, attempts: 3 }]);
  t.equal(w.written, 6, 'every namespace report is written');
});

t.test('terminatingNamespaces: phase Terminating or a deletionTimestamp', async (t) => {
  const store = new MemoryStore();
  store.replaceKind(GK.Namespace, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' }, status: { phase: 'Active' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' }, status: { phase: 'Terminating' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c', deletionTimestamp: '2026-12-01T00:00:00Z' } },
  ] as KubeObject[]);
  t.same([...terminatingNamespaces(store)].sort(), ['b', 'c']);
});
