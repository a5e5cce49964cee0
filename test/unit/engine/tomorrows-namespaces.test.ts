// Verdicts that hold for tomorrow's cluster (issue 8): a caller is judged
// symbolically, as any namespace the target tenant does not own today or
// could lose tomorrow, so deny-lists, wildcards, names that do not exist yet
// and names freed by a delete are refused at the first write that makes them
// usable by another tenant.
import t, { type Test } from 'tap';
import { evaluate } from '../../../src/engine/index.js';
import type { Decision, KubeObject, Operation, UserInfo } from '../../../src/engine/types.js';
import { apply, review, ruleIds } from '../mesh/admit.js';
import { ALICE, ap, config, namespace, unfencedReferenceState } from '../mesh/reference-state.js';
import { computeMatrix, openCrossTenantCells } from '../../../src/mesh/matrix.js';
import type { MemoryStore } from '../../../src/cluster/memory-store.js';

const TL = 'tenant-guard.dev/tenant';
const BOB: UserInfo = { username: 'bob', groups: [] };
const PLATFORM: UserInfo = { username: 'platform-admin', groups: [] };
const from = (source: object) => ({ rules: [{ from: [{ source }] }] });

function state(extra: KubeObject[] = []): MemoryStore {
  // Without the hardened reference's fences: these tests judge what rules open where nothing else stands behind them.
  return unfencedReferenceState('kind', [namespace('tenant-1', { [TL]: 'tenant-1', 'istio-injection': 'enabled' }), namespace('tenant-2', { [TL]: 'tenant-2', 'istio-injection': 'enabled' }), ...extra]);
}

function nsReview(s: MemoryStore, obj: KubeObject, user: UserInfo, operation: Operation = 'CREATE'): Decision {
  const old = s.get('/Namespace', undefined, obj.metadata.name!);
  const d = evaluate(
    { operation, kind: { group: '', version: 'v1', kind: 'Namespace' }, name: obj.metadata.name, object: operation === 'DELETE' ? undefined : obj, oldObject: operation === 'CREATE' ? undefined : old ?? obj, userInfo: user, dryRun: false },
    s,
    config(),
  );
  if (d.allowed) {
    if (operation === 'DELETE') s.remove(obj);
    else s.upsert({ ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, ...(d.patch.length ? patchLabels(d) : {}) } } });
  }
  return d;
}

function patchLabels(d: Decision): Record<string, string> {
  const out: Record<string, string> = {};
  for (const op of d.patch) {
    if (op.op === 'remove') continue;
    if (op.path === '/metadata/labels') Object.assign(out, op.value as object);
    else if (op.path.startsWith('/metadata/labels/')) out[op.path.slice('/metadata/labels/'.length).replace('~1', '/')] = String(op.value);
  }
  return out;
}

function messages(d: Decision): string {
  return d.violations.map((v) => `${v.rule}: ${v.message}`).join('\n');
}

function noOpenCellInto(t: Test, s: MemoryStore, tenant: string) {
  const open = openCrossTenantCells(computeMatrix(s, config())).filter((c) => c.to === tenant);
  t.same(open.map((c) => `${c.from} -> ${c.to} via ${c.path}`), [], `no cross-tenant cell into ${tenant} is open`);
}

t.test('notNamespaces: refused at alice\'s write, naming the future caller', async (t) => {
  const s = state();
  const d = apply(s, ap('tenant-1', 'all-but-tenant-2', from({ notNamespaces: ['tenant-2'] })), { user: ALICE });
  t.notOk(d.allowed);
  t.ok(ruleIds(d).every((r) => r === 'TG-AUTHZ-OPENS-PATH' || r === 'TG-AUTHZ-FOREIGN-SOURCE'), ruleIds(d).join());
  t.match(messages(d), /any namespace created later \(for example "[a-z0-9]+"\) -> tenant-1 via direct/);
  t.match(messages(d), /notNamespaces/);
  // The rest of the sequence: bob's new namespace gets nothing from tenant-1.
  const created = nsReview(s, namespace('tenant-2-b'), BOB);
  t.ok(created.allowed, messages(created));
  // (tenant-2-b itself has no policy yet: closing new namespaces from birth is the baseline's job.)
  noOpenCellInto(t, s, 'tenant-1');
});

t.test('a namespace wildcard another tenant can squat: refused', async (t) => {
  const s = state();
  const d = review(s, ap('tenant-1', 'own-prefix', from({ namespaces: ['tenant-1*', 'knative-serving', 'istio-system'] })), { user: ALICE });
  t.notOk(d.allowed);
  t.match(messages(d), /a namespace created later whose name fits the pattern \(for example "tenant-1[a-z0-9]+"\) -> tenant-1/);
  t.match(messages(d), /namespaces\[0\] = "tenant-1\*"/);
});

t.test('a namespace that does not exist yet: refused', async (t) => {
  const s = state();
  const d = review(s, ap('tenant-1', 'future', from({ namespaces: ['tenant-1', 'tenant-1-b'] })), { user: ALICE });
  t.notOk(d.allowed);
  t.match(messages(d), /namespace tenant-1-b, which does not exist yet \(any tenant may create it later\) -> tenant-1/);
  // Once tenant-1 holds the name, the same policy is admitted.
  t.ok(nsReview(s, namespace('tenant-1-b'), ALICE).allowed);
  t.equal(s.get('/Namespace', undefined, 'tenant-1-b')?.metadata.labels?.[TL], 'tenant-1', 'labelled for tenant-1 by the webhook');
  const again = review(s, ap('tenant-1', 'future', from({ namespaces: ['tenant-1', 'tenant-1-b'] })), { user: ALICE });
  t.ok(again.allowed, messages(again));
});

t.test('principals and service accounts of names nobody holds: refused; of own namespaces: admitted', async (t) => {
  const s = state();
  for (const source of [{ principals: ['cluster.local/ns/tenant-1-x/sa/default'] }, { principals: ['cluster.local/ns/tenant-1*'] }, { serviceAccounts: ['tenant-1-x/robot'] }]) {
    const d = review(s, ap('tenant-1', 'p', from(source)), { user: ALICE });
    t.notOk(d.allowed, `${JSON.stringify(source)} refused`);
    t.match(messages(d), /created later|does not exist yet/, JSON.stringify(source));
  }
  // A deny-list of one service account admits that tenant's others.
  const notOne = review(s, ap('tenant-1', 'p', from({ notPrincipals: ['cluster.local/ns/tenant-2/sa/default'] })), { user: ALICE });
  t.notOk(notOne.allowed);
  t.match(messages(notOne), /notPrincipals/);
  for (const source of [{ principals: ['cluster.local/ns/tenant-1/sa/default'] }, { serviceAccounts: ['tenant-1/robot'] }, { namespaces: ['tenant-1', 'knative-serving', 'istio-system'] }]) {
    const d = review(s, ap('tenant-1', 'p', from(source)), { user: ALICE });
    t.ok(d.allowed, `${JSON.stringify(source)}: ${messages(d)}`);
  }
});

t.test('a reused name: deleting a namespace other policies still trust is refused; re-creating a trusted name for another tenant is refused', async (t) => {
  const s = state([namespace('tenant-1-b', { [TL]: 'tenant-1' })]);
  t.ok(apply(s, ap('tenant-1', 'own', from({ namespaces: ['tenant-1', 'tenant-1-b', 'knative-serving', 'istio-system'] })), { user: ALICE }).allowed);
  const del = nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-1' }), ALICE, 'DELETE');
  t.same(ruleIds(del), ['TG-NS-TRUSTED-NAME']);
  t.match(messages(del), /"tenant-1-b" is still trusted by AuthorizationPolicy tenant-1\/own .*Remove "tenant-1-b" from those policies first/);
  // The same name deleted while the webhook was not looking (or before it was installed): nobody else may create it.
  s.remove(namespace('tenant-1-b'));
  const squat = nsReview(s, namespace('tenant-1-b'), BOB);
  t.notOk(squat.allowed);
  t.same(ruleIds(squat), ['TG-NS-TRUSTED-NAME']);
  t.match(messages(squat), /"tenant-1-b" is trusted by AuthorizationPolicy tenant-1\/own \(rules\[0\]\.from\[0\]\.source\.namespaces\[1\] = "tenant-1-b"\)/);
  // Creating it unlabelled (no tenant) is refused too; tenant-1 may take it back.
  t.notOk(nsReview(s, namespace('tenant-1-b'), PLATFORM).allowed);
  t.ok(nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-1' }), ALICE).allowed);
  // Once the policy no longer names it, the namespace may go.
  t.ok(apply(s, ap('tenant-1', 'own', from({ namespaces: ['tenant-1', 'knative-serving', 'istio-system'] })), { user: ALICE }).allowed);
  t.ok(nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-1' }), ALICE, 'DELETE').allowed);
});

t.test("the baseline's own policies do not block a delete: tenant-guard drops the name itself", async (t) => {
  const s = state([namespace('tenant-1-b', { [TL]: 'tenant-1' })]);
  const managed = ap('tenant-1', 'tenant-guard-allow-tenant', from({ namespaces: ['tenant-1', 'tenant-1-b', 'knative-serving', 'istio-system'] }));
  managed.metadata.labels = { 'tenant-guard.dev/managed-by': 'tenant-guard', 'tenant-guard.dev/baseline': 'authorization-policy' };
  s.upsert(managed);
  const del = nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-1' }), ALICE, 'DELETE');
  t.ok(del.allowed, messages(del));
  t.match(del.warnings.join('\n'), /TG-NS-TRUSTED-NAME: the baseline's .* still name "tenant-1-b"/);
  t.same(ruleIds(nsReview(s, namespace('tenant-1-b'), BOB)), ['TG-NS-TRUSTED-NAME'], 'meanwhile nobody else may take the name');
});

t.test('moving a trusted namespace to another tenant, or out of tenancy, is refused', async (t) => {
  const s = state([namespace('tenant-1-b', { [TL]: 'tenant-1' })]);
  t.ok(apply(s, ap('tenant-1', 'own', from({ namespaces: ['tenant-1', 'tenant-1-b'] })), { user: ALICE }).allowed);
  const moved = nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-2' }), PLATFORM, 'UPDATE');
  t.same(ruleIds(moved), ['TG-NS-TRUSTED-NAME']);
  const unlabelled = nsReview(s, namespace('tenant-1-b', {}), PLATFORM, 'UPDATE');
  t.same(ruleIds(unlabelled), ['TG-NS-TRUSTED-NAME']);
  // A name nobody trusts moves freely (with the usual warning).
  const s2 = state([namespace('tenant-1-c', { [TL]: 'tenant-1' })]);
  t.ok(nsReview(s2, namespace('tenant-1-c', { [TL]: 'tenant-2' }), PLATFORM, 'UPDATE').allowed);
});

t.test('a peered tenant may hold names the peer trusts', async (t) => {
  const cfg = config({ peerings: [{ from: 'tenant-2', to: 'tenant-1' }] });
  const s = state();
  const d = evaluate(
    { operation: 'CREATE', kind: { group: 'security.istio.io', version: 'v1', kind: 'AuthorizationPolicy' }, namespace: 'tenant-1', name: 'peer', object: ap('tenant-1', 'peer', from({ namespaces: ['tenant-2'] })), userInfo: ALICE, dryRun: false },
    s,
    cfg,
  );
  t.ok(d.allowed, messages(d));
});

t.test('an activator rule pinned to the tenant\'s namespaces but with a squattable source pattern: refused', async (t) => {
  const s = state();
  const d = review(
    s,
    ap('knative-serving', 'tenant-1-activator', {
      selector: { matchLabels: { app: 'activator' } },
      rules: [{ from: [{ source: { namespaces: ['tenant-1*'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1'] }] }],
    }),
    { user: PLATFORM },
  );
  t.notOk(d.allowed);
  t.match(messages(d), /fits the pattern .* -> tenant-1 via (activator|gateway-activator)/);
});

t.test('an activator rule routing to a namespace nobody holds yet: refused (its creator would be reached)', async (t) => {
  const s = state();
  const d = review(
    s,
    ap('knative-serving', 'tenant-1-future', {
      selector: { matchLabels: { app: 'activator' } },
      rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1-b'] }] }],
    }),
    { user: PLATFORM },
  );
  t.notOk(d.allowed);
  t.match(messages(d), /tenant-1 -> a namespace of another tenant \(for example "tenant-1-b"\) via activator/);
  // Once tenant-1 holds the name, the same rule is its own business.
  s.upsert(namespace('tenant-1-b', { [TL]: 'tenant-1' }));
  s.upsert(ap('tenant-1-b', 'own', from({ namespaces: ['tenant-1', 'tenant-1-b', 'knative-serving', 'istio-system'] })));
  const again = review(
    s,
    ap('knative-serving', 'tenant-1-future', {
      selector: { matchLabels: { app: 'activator' } },
      rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1-b'] }] }],
    }),
    { user: PLATFORM },
  );
  t.ok(again.allowed, messages(again));
});

t.test('invented names cannot be excluded or squatted away', async (t) => {
  // A deny-list naming every character the invented names are made of.
  const pool = 'qjxzvkwyfgbhmpu0123456789';
  const s = state();
  const d = review(s, ap('tenant-1', 'star', from({ namespaces: ['tenant-*'], notNamespaces: ['tenant-qjx', pool] })), { user: ALICE });
  t.notOk(d.allowed, 'tenant-* minus the invented names still admits tenant-2 and every future tenant-x');
  const d2 = review(s, ap('tenant-1', 'all-but', from({ notNamespaces: ['tenant-2', 'qjx', pool] })), { user: ALICE });
  t.notOk(d2.allowed);
  // alice squats the invented names before writing the wildcard.
  for (const n of ['tenant-qjx', 'qjx', 'tenant-zvk']) t.ok(nsReview(s, namespace(n), ALICE).allowed, n);
  for (const source of [{ namespaces: ['tenant-*'] }, { namespaces: ['*'] }]) {
    const d3 = review(s, ap('tenant-1', 'squat', from(source)), { user: ALICE });
    t.notOk(d3.allowed, JSON.stringify(source));
  }
});

t.test('invented activator targets cannot be squatted or excluded', async (t) => {
  const s = state();
  const seed = ap('knative-serving', 'host-only', {
    selector: { matchLabels: { app: 'activator' } },
    rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], to: [{ operation: { hosts: ['*.tenant-1.svc.cluster.local'] } }] }],
  });
  // bob creates namespaces named like the symbolic target.
  for (const n of ['xqjz', 'qjx', 'zvk']) t.ok(nsReview(s, namespace(n), BOB).allowed, n);
  t.notOk(review(s, seed, { user: PLATFORM }).allowed, 'a Host-only activator rule is still refused');
  const notPool = ap('knative-serving', 'pin-not', {
    selector: { matchLabels: { app: 'activator' } },
    rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['*'], notValues: ['xqjx', 'qjxzvkwyfgbhmpu0123456789'] }] }],
  });
  t.notOk(review(s, notPool, { user: PLATFORM }).allowed, 'a wildcard pin minus the invented names is refused');
});

t.test('a namespace an activator rule routes to keeps its holder: no delete, no squat, no move', async (t) => {
  const s = state([namespace('tenant-1-b', { [TL]: 'tenant-1' })]);
  const pin = ap('knative-serving', 'tenant-1-pin', {
    selector: { matchLabels: { app: 'activator' } },
    rules: [{ from: [{ source: { namespaces: ['tenant-1'] } }], when: [{ key: 'request.headers[knative-serving-namespace]', values: ['tenant-1', 'tenant-1-b'] }] }],
  });
  t.ok(apply(s, ap('tenant-1-b', 'own', from({ namespaces: ['tenant-1', 'tenant-1-b', 'knative-serving', 'istio-system'] })), { user: ALICE }).allowed);
  const d = apply(s, pin, { user: PLATFORM });
  t.ok(d.allowed, messages(d));
  const del = nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-1' }), ALICE, 'DELETE');
  t.same(ruleIds(del), ['TG-NS-TRUSTED-NAME']);
  t.match(messages(del), /routes callers of tenant-1 to it through the activator/);
  t.same(ruleIds(nsReview(s, namespace('tenant-1-b', { [TL]: 'tenant-2' }), PLATFORM, 'UPDATE')), ['TG-NS-TRUSTED-NAME'], 'moving it to tenant-2 is refused');
  s.remove(namespace('tenant-1-b'));
  t.same(ruleIds(nsReview(s, namespace('tenant-1-b'), BOB)), ['TG-NS-TRUSTED-NAME'], 'bob may not create it');
  t.ok(nsReview(s, namespace('tenant-1-b'), ALICE).allowed, 'tenant-1 may');
});
