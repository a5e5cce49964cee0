import t from 'tap';
import { admin, alice, bob, judge, namespaceController, netIstio, obj, readDocs, revisionConfig, ruleIds, store } from './istio-fixtures.js';

const referencePAs = readDocs('test/fixtures/reference/kind/config/peer-authentication.yaml');

const pa = (ns: string, spec: string, name = 'default', extraMeta = ''): string =>
  `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: ${name}, namespace: ${ns}${extraMeta}}\nspec: ${spec}\n`;

const meshStrict = obj(pa('istio-system', '{mtls: {mode: STRICT}}'));

t.test('reference PeerAuthentications (3 x STRICT) are admitted for a platform admin, any version', async (t) => {
  t.equal(referencePAs.length, 3);
  const s = store();
  for (const p of referencePAs) {
    t.equal(p.apiVersion, 'security.istio.io/v1beta1');
    const d = judge('CREATE', p, admin, { state: s });
    t.ok(d.intercepted, `${p.metadata.namespace} intercepted`);
    t.ok(d.allowed, `${p.metadata.namespace} admitted: ${JSON.stringify(d.violations)}`);
    s.upsert(p);
  }
  // Re-applying them unchanged is an UPDATE that must pass as well.
  for (const p of referencePAs) t.ok(judge('UPDATE', p, admin, { state: s, oldObject: p }).allowed);
});

t.test('TG-PEERAUTHN-MODE: STRICT allowed, PERMISSIVE / DISABLE rejected, namespace-wide or workload-level', async (t) => {
  t.ok(judge('CREATE', pa('tenant-1', '{mtls: {mode: STRICT}}'), alice).allowed);
  t.ok(judge('CREATE', pa('tenant-1', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}', 'a'), alice).allowed);

  for (const mode of ['PERMISSIVE', 'DISABLE']) {
    const d = judge('CREATE', pa('tenant-1', `{mtls: {mode: ${mode}}}`), alice);
    t.notOk(d.allowed, mode);
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-MODE', 'spec.mtls.mode']]);
    t.match(d.violations[0]!.message, /plaintext/);
  }
  const workload = judge('CREATE', pa('tenant-1', '{selector: {matchLabels: {app: a}}, mtls: {mode: PERMISSIVE}}', 'a'), alice);
  t.same(ruleIds(workload), ['TG-PEERAUTHN-MODE'], 'a workload-level PERMISSIVE is a weakening too');
  t.match(workload.violations[0]!.message, /selected by spec.selector/);
});

t.test('TG-PEERAUTHN-MODE applies to every identity in guarded namespaces, not in unowned ones', async (t) => {
  t.same(ruleIds(judge('CREATE', pa('tenant-2', '{mtls: {mode: PERMISSIVE}}'), admin)), ['TG-PEERAUTHN-MODE'], 'platform admin');
  t.same(ruleIds(judge('CREATE', pa('knative-serving', '{mtls: {mode: DISABLE}}'), admin)), ['TG-PEERAUTHN-MODE'], 'system namespace');
  t.same(ruleIds(judge('CREATE', pa('tenant-1', '{mtls: {mode: PERMISSIVE}}'), netIstio)), ['TG-PEERAUTHN-MODE'], 'platform controller');
  const unowned = judge('CREATE', pa('legacy', '{mtls: {mode: PERMISSIVE}}'), admin);
  t.ok(unowned.intercepted);
  t.ok(unowned.allowed, 'a namespace of no tenant is not judged');
  // A namespace labelled for a tenant is guarded even if the config does not list it.
  const labelled = store(obj('apiVersion: v1\nkind: Namespace\nmetadata: {name: t1-extra, labels: {tenant-guard.dev/tenant: tenant-1}}'));
  t.same(ruleIds(judge('CREATE', pa('t1-extra', '{mtls: {mode: PERMISSIVE}}'), alice, { state: labelled })), ['TG-PEERAUTHN-MODE']);
});

t.test('TG-PEERAUTHN-PORT-MODE: PERMISSIVE only on the drain port', async (t) => {
  const base = (ports: string) => pa('tenant-1', `{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: ${ports}}`, 'a');
  t.ok(judge('CREATE', base('{"8022": {mode: PERMISSIVE}}'), alice).allowed, 'drain port 8022 PERMISSIVE');
  t.ok(judge('CREATE', base('{8080: {mode: STRICT}, 9090: {mode: UNSET}}'), alice).allowed);

  const d = judge('CREATE', base('{8080: {mode: PERMISSIVE}}'), alice);
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-PORT-MODE', 'spec.portLevelMtls["8080"].mode']]);
  t.match(d.violations[0]!.message, /8022/);
  const disableDrain = judge('CREATE', base('{"8022": {mode: DISABLE}}'), alice);
  t.same(disableDrain.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-PORT-MODE', 'spec.portLevelMtls["8022"].mode']]);
});

t.test('TG-PEERAUTHN-UNSET-NO-STRICT-MESH: namespace-wide UNSET needs a STRICT mesh-wide policy', async (t) => {
  for (const spec of ['{mtls: {mode: UNSET}}', '{}', '{mtls: {}}', '{selector: {matchLabels: {}}, mtls: {mode: UNSET}}']) {
    const d = judge('CREATE', pa('tenant-1', spec), alice);
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-UNSET-NO-STRICT-MESH', 'spec.mtls.mode']], spec);
  }
  t.ok(judge('CREATE', pa('tenant-1', '{mtls: {mode: UNSET}}'), alice, { state: store(meshStrict) }).allowed, 'inherits STRICT');
  const permissiveMesh = store(obj(pa('istio-system', '{mtls: {mode: PERMISSIVE}}')));
  t.notOk(judge('CREATE', pa('tenant-1', '{mtls: {mode: UNSET}}'), alice, { state: permissiveMesh }).allowed);
  t.ok(judge('CREATE', pa('tenant-1', '{selector: {matchLabels: {app: a}}, mtls: {mode: UNSET}}', 'a'), alice).allowed, 'workload UNSET inherits the namespace');
});

t.test('TG-PEERAUTHN-MESH-STRICT: only STRICT in the mesh root namespace', async (t) => {
  t.ok(judge('CREATE', meshStrict, admin).allowed);
  for (const mode of ['PERMISSIVE', 'DISABLE', 'UNSET']) {
    const d = judge('CREATE', pa('istio-system', `{mtls: {mode: ${mode}}}`), admin);
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-MESH-STRICT', 'spec.mtls.mode']], mode);
  }
  const port = judge('CREATE', pa('istio-system', '{mtls: {mode: STRICT}, portLevelMtls: {"8022": {mode: PERMISSIVE}}}'), admin);
  t.same(port.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-MESH-STRICT', 'spec.portLevelMtls["8022"].mode']], 'no drain exception mesh-wide');
  // A tenant is stopped by the common system-namespace rule first.
  t.ok(ruleIds(judge('CREATE', meshStrict, alice)).includes('TG-SYSTEM-NAMESPACE-WRITE'));
});

t.test('TG-PEERAUTHN-WEAKEN: deleting the STRICT policy a namespace relies on', async (t) => {
  const [ks, t1, t2] = referencePAs;
  const s = store(...referencePAs);
  for (const who of [alice, admin]) {
    const d = judge('DELETE', t1!, who, { state: s });
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-WEAKEN', 'metadata.name']], who.username);
    t.match(d.violations[0]!.message, /tenant-1 without STRICT mTLS/);
  }
  t.same(ruleIds(judge('DELETE', ks!, admin, { state: s })), ['TG-PEERAUTHN-WEAKEN'], 'knative-serving default');

  t.ok(judge('DELETE', t2!, bob, { state: store(...referencePAs, meshStrict) }).allowed, 'mesh-wide STRICT remains');
  const second = obj(pa('tenant-1', '{mtls: {mode: STRICT}}', 'second'));
  t.ok(judge('DELETE', t1!, alice, { state: store(...referencePAs, second) }).allowed, 'another namespace-wide STRICT remains');
  const unsetSecond = obj(pa('tenant-1', '{mtls: {mode: UNSET}}', 'second'));
  t.notOk(judge('DELETE', t1!, alice, { state: store(...referencePAs, unsetSecond) }).allowed, 'a remaining UNSET without STRICT mesh is not STRICT');

  // A legacy non-STRICT namespace-wide policy next to STRICT: Istio picks the oldest, so either may be in force.
  const legacy = obj(pa('tenant-1', '{mtls: {mode: PERMISSIVE}}', 'legacy'));
  t.same(ruleIds(judge('DELETE', t1!, admin, { state: store(...referencePAs, legacy) })), ['TG-PEERAUTHN-WEAKEN'], 'STRICT may have been the one in force');
  t.ok(judge('UPDATE', t1!, admin, { state: store(...referencePAs, legacy), oldObject: t1! }).allowed, 're-applying STRICT changes nothing');
  t.ok(judge('DELETE', legacy, admin, { state: store(...referencePAs, legacy) }).allowed, 'removing the legacy policy only strengthens');

  const workload = obj(pa('tenant-1', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}', 'a'));
  t.ok(judge('DELETE', workload, alice, { state: store(...referencePAs, workload) }).allowed, 'workload-level delete');
  t.ok(judge('DELETE', obj(pa('legacy', '{mtls: {mode: STRICT}}')), admin, { state: store() }).allowed, 'unowned namespace');
});

t.test('TG-PEERAUTHN-WEAKEN: a terminating namespace may be emptied (namespace controller)', async (t) => {
  const terminating = obj('apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-1, deletionTimestamp: "2024-01-01T00:00:00Z"}\nstatus: {phase: Terminating}');
  const t1 = referencePAs[1]!;
  t.ok(judge('DELETE', t1, namespaceController, { state: store(...referencePAs, terminating) }).allowed);
  // The garbage collector or namespace controller gets no pass outside namespace deletion.
  t.same(ruleIds(judge('DELETE', t1, namespaceController, { state: store(...referencePAs) })), ['TG-PEERAUTHN-WEAKEN']);
});

t.test('TG-PEERAUTHN-WEAKEN: updating the namespace policy into a workload policy', async (t) => {
  const t1 = referencePAs[1]!;
  const narrowed = obj(pa('tenant-1', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}'));
  const d = judge('UPDATE', narrowed, alice, { state: store(...referencePAs), oldObject: t1 });
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-WEAKEN', 'spec.selector']]);
  // STRICT -> UNSET keeps the namespace STRICT when the mesh is STRICT.
  const unset = obj(pa('tenant-1', '{mtls: {mode: UNSET}}'));
  t.ok(judge('UPDATE', unset, alice, { state: store(...referencePAs, meshStrict), oldObject: t1 }).allowed);
  // STRICT -> PERMISSIVE is reported once, by the content rule.
  const weak = obj(pa('tenant-1', '{mtls: {mode: PERMISSIVE}}'));
  t.same(ruleIds(judge('UPDATE', weak, alice, { state: store(...referencePAs), oldObject: t1 })), ['TG-PEERAUTHN-MODE']);
});

t.test('TG-PEERAUTHN-WEAKEN: deleting the mesh-wide STRICT policy names every namespace relying on it', async (t) => {
  const t1 = referencePAs[1]!;
  const s = store(meshStrict, t1); // knative-serving and tenant-2 have no own policy
  const d = judge('DELETE', meshStrict, admin, { state: s });
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-WEAKEN', 'metadata.name']]);
  t.match(d.violations[0]!.message, /istio-system, knative-serving, tenant-2 without STRICT/);
  t.notMatch(d.violations[0]!.message, /tenant-1/);
  // With every namespace on its own STRICT policy, only istio-system itself relied on the mesh policy.
  const own = store(meshStrict, ...referencePAs, obj(pa('istio-system', '{mtls: {mode: STRICT}}', 'second')));
  t.ok(judge('DELETE', meshStrict, admin, { state: own }).allowed, 'another mesh-wide STRICT remains');
});

t.test('TG-ISTIO-REVISION on PeerAuthentication', async (t) => {
  const own = pa('tenant-1', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: rev-t1}');
  t.ok(judge('CREATE', own, alice, { config: revisionConfig }).allowed);
  const other = pa('tenant-1', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: rev-t2}');
  const d = judge('CREATE', other, alice, { config: revisionConfig });
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-REVISION', 'metadata.labels["istio.io/rev"]']]);
  t.match(d.violations[0]!.message, /tenant tenant-2/);
});

t.test('TG-PEERAUTHN-WEAKEN: a STRICT policy relabelled for a control plane that skips it (regression)', async (t) => {
  // istiod reads only unlabelled config and config labelled with its own
  // revision (pkg/config/model.go LabelsInRevision): relabelled, the tenant's
  // STRICT default is ignored and the namespace falls back to PERMISSIVE.
  const strict = obj(pa('tenant-1', '{mtls: {mode: STRICT}}'));
  const relabelled = obj(pa('tenant-1', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: ignored}'));
  const d = judge('UPDATE', relabelled, alice, { state: store(strict), oldObject: strict });
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-PEERAUTHN-WEAKEN', 'metadata.labels["istio.io/rev"]']]);
  t.match(d.violations[0]!.message, /istio\.io\/rev=ignored names a control plane that does not configure it/);
  t.same(d.patch, []);
  t.same(ruleIds(judge('UPDATE', relabelled, admin, { state: store(strict), oldObject: strict })), ['TG-PEERAUTHN-WEAKEN'], 'platform admins too');

  // The mesh-wide policy, relabelled, no longer covers namespaces that relied on it.
  const meshRelabelled = obj(pa('istio-system', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: canary}'));
  const m = judge('UPDATE', meshRelabelled, admin, { state: store(meshStrict), oldObject: meshStrict });
  t.same(ruleIds(m), ['TG-PEERAUTHN-WEAKEN']);

  // The revision that serves the namespace keeps honouring it.
  const own = obj(pa('tenant-1', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: rev-t1}'));
  t.ok(judge('UPDATE', own, alice, { state: store(strict), oldObject: strict, config: revisionConfig }).allowed, "the tenant's own revision");
  const nsRev = store(strict, obj('apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant-1, labels: {tenant-guard.dev/tenant: tenant-1, istio.io/rev: canary}}'));
  const canary = obj(pa('tenant-1', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: canary}'));
  t.ok(judge('UPDATE', canary, admin, { state: nsRev, oldObject: strict }).allowed, "the namespace's istio.io/rev");
  // An ignored policy next to an honoured STRICT one weakens nothing.
  t.ok(judge('CREATE', obj(pa('tenant-1', '{mtls: {mode: STRICT}}', 'extra', ', labels: {istio.io/rev: ignored}')), alice, { state: store(strict) }).allowed);
});

t.test('TG-PEERAUTHN-UNSET-NO-STRICT-MESH: a mesh-wide policy the namespace does not honour does not count (regression)', async (t) => {
  const meshIgnored = obj(pa('istio-system', '{mtls: {mode: STRICT}}', 'default', ', labels: {istio.io/rev: canary}'));
  t.same(ruleIds(judge('CREATE', pa('tenant-1', '{mtls: {mode: UNSET}}'), alice, { state: store(meshIgnored) })), ['TG-PEERAUTHN-UNSET-NO-STRICT-MESH']);
  t.ok(judge('CREATE', pa('tenant-1', '{mtls: {mode: UNSET}}'), alice, { state: store(meshStrict) }).allowed);
});
