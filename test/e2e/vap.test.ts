// The stateless rules hold in the API server itself: `tenant-guard vap`'s
// output applied to a real kube-apiserver with no webhook registered (the
// webhook down), every compiled rule's docs example refused with its rule id
// and its fixed twin admitted, and the policies evaluated within the CEL cost
// budget on the largest objects the bench uses (100 containers, 100 volumes).
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { evaluate, ruleCatalog } from '../../src/engine/index.js';
import type { KubeObject } from '../../src/engine/types.js';
import { CEL_RULES } from '../../src/vap/rules.js';
import { ADMIN } from './fixtures/cluster.js';
import { E2E_TIMEOUT_MS } from './fixtures/env.js';
import { apiVerdict, engineVerdict, setupVapEnv, type VapEnv } from './fixtures/vap.js';

t.setTimeout(E2E_TIMEOUT_MS);

type Seg = string | number;

/** `spec.containers[0].securityContext.capabilities.add[1]`, `metadata.annotations["a/b"]` -> segments. */
function segments(path: string): Seg[] {
  const out: Seg[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const m of path.matchAll(re)) out.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : JSON.parse(`"${m[3]}"`));
  return out;
}

/** The fix a violation's message asks for, applied at its path. */
function fixAt(obj: KubeObject, path: string): void {
  const segs = segments(path);
  const last = segs.pop()!;
  let parent: any = obj;
  for (const s of segs) parent = parent?.[s];
  if (parent === undefined || parent === null) throw new Error(`no parent for ${path}`);
  if (last === 'mode') parent.mode = obj.kind === 'DestinationRule' ? 'ISTIO_MUTUAL' : 'STRICT';
  else if (last === 'name') parent.name = `app-${Math.random().toString(36).slice(2, 7)}`;
  else if (last === 'runAsUser' || last === 'runAsGroup') parent[last] = 1000;
  else if (typeof last === 'number') parent.splice(last, 1);
  else delete parent[last];
}

/** The example with every violation of the engine fixed: its allowed twin. */
function twinOf(v: VapEnv, obj: KubeObject): KubeObject {
  const twin = structuredClone(obj);
  for (let round = 0; round < 20; round++) {
    const { allowed } = engineVerdict(v, twin);
    if (allowed) return twin;
    fixAt(twin, pathsOf(v, twin)[0]!);
  }
  throw new Error(`no allowed twin found for ${obj.kind} ${obj.metadata.name}`);
}

/** The paths of the engine's violations (engineVerdict keeps the ids only). */
function pathsOf(v: VapEnv, obj: KubeObject): string[] {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const d = evaluate(
    { operation: 'CREATE', kind: { group: group!, version: version!, kind: obj.kind }, namespace: obj.metadata.namespace, name: obj.metadata.name, object: obj, userInfo: { username: ADMIN.user, groups: ADMIN.groups }, dryRun: true },
    v.state,
    v.config,
  );
  return d.violations.map((x) => x.path);
}

t.test('ValidatingAdmissionPolicies on a real kube-apiserver, webhook not registered', async (t) => {
  const v = await setupVapEnv(t);

  t.test('the policies were accepted, with no cost or type error reported', async (t) => {
    for (const p of v.policies) {
      const got = await v.env.admin.read<KubeObject & { status?: { typeChecking?: { expressionWarnings?: { fieldRef: string; warning: string }[] }; conditions?: unknown[] } }>(p);
      const warnings = got.status?.typeChecking?.expressionWarnings ?? [];
      t.notOk(warnings.some((w) => /cost/i.test(w.warning)), `${p.metadata.name}: no cost warning`);
      for (const w of warnings) t.comment(`${p.metadata.name} ${w.fieldRef}: ${w.warning}`);
    }
  });

  t.test("every compiled rule's docs example is refused with its rule id; its fixed twin is admitted", async (t) => {
    for (const rule of CEL_RULES) {
      const doc = ruleCatalog.find((r) => r.id === rule.id)!;
      const docs = parseAllDocuments(doc.example!).map((d) => d.toJS() as KubeObject);
      const example = docs[docs.length - 1]!;
      t.equal(docs.length, 1, `${rule.id}: the example needs no state`);
      const engine = engineVerdict(v, example);
      t.ok(!engine.allowed && engine.rules.includes(rule.id), `${rule.id}: the engine refuses the example as ${ADMIN.user}`);
      const api = await apiVerdict(v, example);
      t.notOk(api.allowed, `${rule.id}: the API server refuses the example`);
      t.same(api.rules, [rule.id], `${rule.id}: the message names the rule: ${api.message}`);
      const twin = twinOf(v, example);
      const admitted = await apiVerdict(v, twin);
      t.ok(admitted.allowed, `${rule.id}: the twin is admitted ${admitted.message ?? ''}`);
    }
  });

  t.test('CEL cost: 100 containers and 100 volumes are judged, to the last container', async (t) => {
    const container = (i: number) => ({
      name: `c${i}`,
      image: 'registry.example/app:1',
      securityContext: { runAsUser: 1000 + i, runAsGroup: 1000, allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } },
    });
    const annotations: Record<string, string> = { 'traffic.sidecar.istio.io/includeInboundPorts': '*', 'traffic.sidecar.istio.io/excludeInboundPorts': '15020,15021,15090' };
    for (let i = 0; i < 100; i++) annotations[`example.com/a${i}`] = `v${i}`;
    const big = (last: Record<string, unknown>): KubeObject =>
      ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'big', namespace: 'tenant-1' },
        spec: {
          selector: { matchLabels: { app: 'big' } },
          template: {
            metadata: { labels: { app: 'big' }, annotations },
            spec: {
              initContainers: Array.from({ length: 20 }, (_, i) => container(200 + i)),
              containers: [...Array.from({ length: 99 }, (_, i) => container(i)), { ...container(99), ...last }],
              volumes: Array.from({ length: 100 }, (_, i) => ({ name: `v${i}`, emptyDir: {} })),
            },
          },
        },
      }) as unknown as KubeObject;
    const ok = await apiVerdict(v, big({}));
    t.ok(ok.allowed, `admitted: ${ok.message ?? ''}`);
    const bad = await apiVerdict(v, big({ securityContext: { runAsUser: 1000, capabilities: { add: ['NET_ADMIN'] } } }));
    t.same(bad.rules, ['TG-WORKLOAD-NET-ADMIN'], `the 100th container's NET_ADMIN is found: ${bad.message}`);
    t.notMatch(bad.message ?? '', /cost|budget/i, 'refused for the rule, not for cost');
    const pod = { ...big({}).spec.template, apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'tenant-1', annotations } } as unknown as KubeObject;
    (pod.spec as any).volumes.push({ name: 'host', hostPath: { path: '/var/lib/kubelet' } });
    const pv = await apiVerdict(v, pod);
    t.same(pv.rules, ['TG-WORKLOAD-HOST-PATH'], `a Pod's 101st volume is found: ${pv.message}`);
  });
});
