// Closed world (issue 17, item 3): every served kind of the mesh-affecting
// groups, read from the real CRDs (test/fixtures/crds, copied from
// ../shared/crds) plus the built-in networking.k8s.io kinds and Knative's
// networking.internal.knative.dev kinds, has a row in the kinds table, and
// the engine does what the row says for a tenant, a platform admin and a
// platform controller.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { evaluate, interceptedKinds, ruleCatalog } from '../../../src/engine/index.js';
import { isMeshGroup, KIND_TABLE, MESH_GROUPS } from '../../../src/engine/mesh-kinds.js';
import type { AdmissionInput, UserInfo } from '../../../src/engine/types.js';
import { admin, alice, defaultConfig, netIstio, store } from './istio-fixtures.js';

const CRD_DIR = new URL('../../fixtures/crds/', import.meta.url);

interface Served {
  group: string;
  kind: string;
  versions: string[];
  clusterScoped: boolean;
}

function servedKinds(): Served[] {
  const out: Served[] = [];
  for (const file of readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, CRD_DIR), 'utf8'))) {
      const crd = doc.toJS() as any;
      if (crd?.kind !== 'CustomResourceDefinition' || !isMeshGroup(crd.spec.group)) continue;
      const versions = (crd.spec.versions as any[]).filter((v) => v.served).map((v) => v.name);
      if (versions.length > 0) out.push({ group: crd.spec.group, kind: crd.spec.names.kind, versions, clusterScoped: crd.spec.scope === 'Cluster' });
    }
  }
  // Built in (kube-apiserver 1.33+: `kubectl api-resources --api-group=networking.k8s.io`).
  for (const [kind, clusterScoped] of [['Ingress', false], ['IngressClass', true], ['NetworkPolicy', false], ['IPAddress', true], ['ServiceCIDR', true]] as const) {
    out.push({ group: 'networking.k8s.io', kind, versions: ['v1'], clusterScoped });
  }
  // knative.dev/networking config/core/300-resources (not available as files here; see test/fixtures/crds/README.md).
  for (const [kind, clusterScoped] of [['Ingress', false], ['ServerlessService', false], ['Certificate', false], ['ClusterDomainClaim', true]] as const) {
    out.push({ group: 'networking.internal.knative.dev', kind, versions: ['v1alpha1'], clusterScoped });
  }
  return out;
}

const served = servedKinds();
const judgedKinds = new Set(interceptedKinds());
const ruleIds = new Set(ruleCatalog.map((r) => r.id));

const controller: UserInfo = netIstio;

function request(s: Pick<Served, 'group' | 'kind' | 'clusterScoped'>, version: string, user: UserInfo, extra: Partial<AdmissionInput> = {}): AdmissionInput {
  const namespace = s.clusterScoped ? undefined : 'tenant-1';
  return {
    operation: 'CREATE',
    kind: { group: s.group, version, kind: s.kind },
    namespace,
    name: 'x',
    object: { apiVersion: `${s.group}/${version}`, kind: s.kind, metadata: { name: 'x', ...(namespace ? { namespace } : {}) }, spec: {} },
    userInfo: user,
    dryRun: false,
    ...extra,
  };
}

t.test('the CRDs hold kinds of every group they should', async (t) => {
  for (const g of MESH_GROUPS) t.ok(served.some((s) => s.group === g), `${g} has served kinds`);
  t.ok(served.length >= 40, `${served.length} served kinds`);
});

t.test('every served kind has a row; its handling is what the row says', async (t) => {
  for (const s of served) {
    const gk = `${s.group}/${s.kind}`;
    const row = KIND_TABLE.find((r) => r.group === s.group && r.kind === s.kind);
    if (!t.ok(row, `${gk} has a row in the kinds table (src/engine/mesh-kinds.ts, docs/rules.md "Kinds")`)) continue;
    t.equal(!!row!.clusterScoped, s.clusterScoped, `${gk}: scope`);
    for (const id of row!.rules) {
      t.ok(id.endsWith('*') ? [...ruleIds].some((r) => r.startsWith(id.slice(0, -1))) : ruleIds.has(id), `${gk}: rule ${id} exists`);
    }
    for (const version of s.versions) {
      const tenant = evaluate(request(s, version, alice), store(), defaultConfig);
      const unjudged = tenant.violations.some((v) => v.rule === 'TG-KIND-UNJUDGED');
      if (row!.treatment === 'judged') {
        t.ok(judgedKinds.has(gk), `${gk}: a handler judges it`);
        t.notOk(unjudged, `${gk} ${version}: not refused as unjudged`);
      } else {
        t.notOk(judgedKinds.has(gk), `${gk}: refused by default, no handler`);
        t.equal(tenant.allowed, false, `${gk} ${version}: refused to a tenant`);
        t.ok(unjudged, `${gk} ${version}: by TG-KIND-UNJUDGED`);
        t.match(tenant.violations.find((v) => v.rule === 'TG-KIND-UNJUDGED')?.message ?? '', gk, 'the message names the kind');
        const deleted = evaluate({ ...request(s, version, alice), operation: 'DELETE', oldObject: request(s, version, alice).object, object: undefined }, store(), defaultConfig);
        t.equal(deleted.allowed, false, `${gk}: a tenant's DELETE is refused too`);
        const platform = evaluate(request(s, version, admin), store(), defaultConfig);
        t.equal(platform.allowed, true, `${gk}: a platform admin is admitted`);
        t.match(platform.warnings.join('\n'), /TG-KIND-UNJUDGED/, `${gk}: with a warning`);
      }
      const ctl = evaluate(request(s, version, controller), store(), defaultConfig);
      // Not by this rule: a judged kind keeps its own rules for everyone they name (a PeerAuthentication without STRICT, say).
      t.notOk(ctl.violations.some((v) => v.rule === 'TG-KIND-UNJUDGED'), `${gk} ${version}: a platform controller is never refused as unjudged`);
      if (row!.treatment === 'refused') t.equal(ctl.allowed, true, `${gk} ${version}: a platform controller is admitted`);
      const status = evaluate(request(s, version, alice, { subResource: 'status', operation: 'UPDATE', oldObject: request(s, version, alice).object }), store(), defaultConfig);
      t.ok(status.violations.some((v) => v.rule === 'TG-KIND-UNJUDGED' && v.path === 'status'), `${gk}: a tenant's status write is refused`);
      t.equal(evaluate(request(s, version, controller, { subResource: 'status', operation: 'UPDATE' }), store(), defaultConfig).allowed, true, `${gk}: the controller's status write is not`);
    }
  }
});

t.test('a kind a later release adds to one of the groups is refused until judged', async (t) => {
  const future = { group: 'networking.istio.io', kind: 'MeshTunnel', clusterScoped: false };
  const d = evaluate(request(future, 'v1', alice), store(), defaultConfig);
  t.same(d.violations.map((v) => v.rule), ['TG-KIND-UNJUDGED']);
  t.match(d.violations[0]!.message, /networking\.istio\.io\/MeshTunnel/);
  t.equal(evaluate(request({ group: 'example.com', kind: 'Widget', clusterScoped: false }, 'v1', alice), store(), defaultConfig).intercepted, false, 'other groups stay out of scope');
});

t.test('every row names a group of the closed world, once', async (t) => {
  const seen = new Set<string>();
  for (const r of KIND_TABLE) {
    t.ok(isMeshGroup(r.group), `${r.group}/${r.kind}`);
    t.notOk(seen.has(`${r.group}/${r.kind}`), `${r.group}/${r.kind} once`);
    seen.add(`${r.group}/${r.kind}`);
  }
});
