// The stateless rules hold in the API server itself: `tenant-guard vap`'s
// output applied to a real kube-apiserver with no webhook registered (the
// webhook down), every compiled rule's docs example refused with its rule id
// and its fixed twin admitted, and the policies evaluated within the CEL cost
// budget on the largest objects the bench uses (100 containers, 100 volumes).
import t, { type Test } from 'tap';
import { parseAllDocuments } from 'yaml';
import { evaluate, ruleCatalog } from '../../src/engine/index.js';
import type { KubeObject } from '../../src/engine/types.js';
import { CEL_RULES } from '../../src/vap/rules.js';
import { ADMIN } from './fixtures/cluster.js';
import { E2E_TIMEOUT_MS } from './fixtures/env.js';
import { waitFor } from './fixtures/processes.js';
import { TENANT_LABEL } from './fixtures/reference.js';
import { refusalOf } from './fixtures/kube.js';
import { apiVerdict, CONTROLLER, engineVerdict, kubeAs, LABELLED_NS, RELEASE_NS, setupVapEnv, UNOWNED_NS, type VapEnv } from './fixtures/vap.js';
import { helmTemplate, runCli, tenancyConfigFile } from './fixtures/webhook.js';

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

  t.test('UPDATE: the policies judge the object as updated, as the engine does', (t) => updates(t, v));

  t.test("the chart's policies for a second release, next to tenant-guard vap's: no name collides, both hold", (t) => secondRelease(t, v));

  // Last: the mutating policies change what later requests would see.
  t.test('MutatingAdmissionPolicies (where served): the tenant label and the sidecar-injection label, without the webhook', (t) => mutatingPolicies(t, v));
});

async function mutatingPolicies(t: Test, v: VapEnv): Promise<void> {
  const discovery = await v.env.admin.client.get<{ resources?: { name: string }[] }>('/apis/admissionregistration.k8s.io/v1');
  if (!discovery.resources?.some((r) => r.name === 'mutatingadmissionpolicies')) {
    t.pass(`kube-apiserver ${v.env.bins.kubeVersion} does not serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicy (GA in 1.36): nothing to test`);
    return;
  }
  const out = await runCli(['vap', '--config', tenancyConfigFile, '--namespace', RELEASE_NS, '--mutating']);
  t.equal(out.code, 0, out.stderr);
  const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject);
  for (const d of docs.filter((d) => d.kind.startsWith('MutatingAdmissionPolicy'))) await v.env.admin.create(d);

  const deployment = (ns: string): KubeObject =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] } } },
    }) as unknown as KubeObject;
  const labelsOf = (o: any) => ({ own: o.metadata.labels?.[TENANT_LABEL], template: o.spec?.template?.metadata?.labels?.[TENANT_LABEL] });
  await waitFor('the MutatingAdmissionPolicies to label a dry-run Deployment', async () => labelsOf(await v.env.admin.create(deployment('tenant-1'), { dryRun: true })).own === 'tenant-1', {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  t.same(labelsOf(await v.env.admin.create(deployment('tenant-1'), { dryRun: true })), { own: 'tenant-1', template: 'tenant-1' }, 'config-listed namespace: its tenant');
  t.same(labelsOf(await v.env.admin.create(deployment(LABELLED_NS), { dryRun: true })), { own: 'tenant-x', template: 'tenant-x' }, 'labelled namespace: the label');
  t.same(labelsOf(await v.env.admin.create(deployment(UNOWNED_NS), { dryRun: true })), { own: undefined, template: undefined }, 'namespace of no tenant: nothing');
  t.same(labelsOf(await kubeAs(v, CONTROLLER).create(deployment('tenant-1'), { dryRun: true })), { own: undefined, template: undefined }, 'platform controller: never mutated');
  const wrong = deployment('tenant-1');
  wrong.metadata.labels = { [TENANT_LABEL]: 'tenant-2' };
  t.same(labelsOf(await v.env.admin.create(wrong, { dryRun: true })), { own: 'tenant-1', template: 'tenant-1' }, 'a wrong tenant label is overwritten, as the webhook does');

  const ksvc = (labels?: Record<string, string>): KubeObject =>
    ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'tenant-1' },
      spec: { template: { ...(labels ? { metadata: { labels } } : {}), spec: { containers: [{ image: 'x' }] } } },
    }) as unknown as KubeObject;
  const svc = (await v.env.admin.create(ksvc(), { dryRun: true })) as any;
  t.same(svc.spec.template.metadata.labels, { 'sidecar.istio.io/inject': 'true', [TENANT_LABEL]: 'tenant-1' }, 'a Knative template without metadata gets both labels');
  const kept = (await v.env.admin.create(ksvc({ 'sidecar.istio.io/inject': 'yes' }), { dryRun: true })) as any;
  t.equal(kept.spec.template.metadata.labels['sidecar.istio.io/inject'], 'yes', "the user's true value is kept");
  const refused = await apiVerdict(v, ksvc({ 'sidecar.istio.io/inject': 'false' }));
  t.same(refused.rules, ['TG-WORKLOAD-INJECT-OPTOUT'], 'an opt-out is not overwritten: the validating policy refuses it');
  const pod = (await v.env.admin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: LABELLED_NS }, spec: { containers: [{ name: 'a', image: 'x' }] } } as KubeObject, { dryRun: true })) as any;
  t.equal(pod.metadata.labels?.[TENANT_LABEL], 'tenant-x', 'a Pod: its own labels');
}

/**
 * UPDATE. The engine judges the whole object on every UPDATE (pod.ts,
 * templateHandler: level-based, not a diff), so does the policy: an update
 * adding a forbidden annotation is refused, and so is an update of an
 * unrelated field of an object that already violates a rule (created before
 * tenant-guard, or by a platform controller): the object must be brought
 * into line in the same write. The one exception, setuid on a Pod's existing
 * containers, is not compiled (TG-WORKLOAD-SETUID is webhook-only).
 */
async function updates(t: Test, v: VapEnv): Promise<void> {
  const admin = v.env.admin;
  const deployment = (name: string, spec: Record<string, unknown> = {}, annotations: Record<string, string> = {}): KubeObject =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'tenant-1' },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'app', image: 'x' }], ...spec } } },
    }) as unknown as KubeObject;
  const both = async (what: string, current: KubeObject, next: KubeObject, as = ADMIN) => {
    const engine = engineVerdict(v, next, as, { operation: 'UPDATE', oldObject: current });
    let api: { allowed: boolean; rules: string[]; message?: string };
    try {
      await kubeAs(v, as).replace({ ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } } as KubeObject, { dryRun: true });
      api = { allowed: true, rules: [] };
    } catch (e) {
      const r = refusalOf(e);
      if (!r) throw e;
      api = { allowed: false, rules: [/\b(TG-[A-Z0-9-]+):/.exec(r.message)?.[1] ?? ''], message: r.message };
    }
    t.equal(api.allowed, engine.rules.length === 0, `${what}: the API server ${api.allowed ? 'admits' : 'refuses'} as the engine does (engine: ${JSON.stringify(engine.rules)}) ${api.message ?? ''}`);
    if (!api.allowed) t.ok(engine.rules.includes(api.rules[0]!), `${what}: the API server names a rule the engine found (${api.rules[0]})`);
    return api;
  };

  // A clean Deployment, then an update adding a capture opt-out.
  const clean = await admin.create(deployment('upd-clean'));
  const optOut = structuredClone(clean) as any;
  optOut.spec.template.metadata.annotations = { 'traffic.sidecar.istio.io/excludeInboundPorts': '8080' };
  const r1 = await both('an update adding traffic.sidecar.istio.io/excludeInboundPorts', clean, optOut);
  t.same(r1.rules, ['TG-WORKLOAD-CAPTURE-BYPASS'], 'refused with the rule id, without the webhook');
  const relabel = structuredClone(clean) as any;
  relabel.metadata.labels = { ...relabel.metadata.labels, tier: 'web' };
  t.ok((await both('an unrelated update of a clean Deployment', clean, relabel)).allowed, 'an unrelated update of a clean object is admitted');

  // An object already violating a rule: written by a platform controller (the policies skip it).
  const legacy = await kubeAs(v, CONTROLLER).create(deployment('upd-legacy', { hostNetwork: true }));
  const touched = structuredClone(legacy) as any;
  touched.metadata.labels = { ...touched.metadata.labels, tier: 'web' };
  const r2 = await both('an unrelated update (a label) of a Deployment with hostNetwork', legacy, touched);
  t.same(r2.rules, ['TG-WORKLOAD-HOST-NETWORK'], 'refused: the whole object is judged, as by the engine');
  const fixed = structuredClone(legacy) as any;
  delete fixed.spec.template.spec.hostNetwork;
  t.ok((await both('an update removing hostNetwork', legacy, fixed)).allowed, 'the update that fixes it is admitted');
  t.ok((await both('the controller updating the violating object', legacy, touched, CONTROLLER)).allowed, 'platform controllers are skipped on UPDATE too');

  // A Pod: metadata is all a tenant may change; still judged whole.
  const pod = await kubeAs(v, CONTROLLER).create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'upd-pod', namespace: 'tenant-1' },
    spec: { hostPID: true, containers: [{ name: 'app', image: 'x' }] },
  } as KubeObject);
  const podLabelled = structuredClone(pod) as any;
  podLabelled.metadata.labels = { tier: 'web' };
  const r3 = await both("an update of a violating Pod's labels", pod, podLabelled);
  t.same(r3.rules, ['TG-WORKLOAD-HOST-NAMESPACES']);
  const podAnnotated = structuredClone(pod) as any;
  podAnnotated.metadata.annotations = { 'sidecar.istio.io/inject': 'false' };
  await both('an update adding sidecar.istio.io/inject: false to a Pod', pod, podAnnotated);
}

/**
 * The chart rendered as release `second` (its tenancy with another gateway
 * selector) applied next to `tenant-guard vap`'s output (release
 * tenant-guard): every object is created (no name in common), and each
 * release's bindings refuse what its own config forbids.
 */
async function secondRelease(t: Test, v: VapEnv): Promise<void> {
  const docs = await helmTemplate(v.env.bins, v.env.cluster.dir, ['templates/validating-admission-policies.yaml'], {}, {
    release: 'second',
    args: ['--api-versions', 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'],
    tenancy: { baseline: { gatewayPolicy: { selector: { istio: 'second-gateway' } } } },
  });
  t.ok(docs.length > 0 && docs.every((d) => (d.metadata.name ?? '').startsWith('second-tenant-guard-')), docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', '));
  for (const d of docs) await v.env.admin.create(d);
  const pod = (labels: Record<string, string>): KubeObject =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gw', namespace: 'tenant-1', labels }, spec: { containers: [{ name: 'a', image: 'x' }] } }) as unknown as KubeObject;
  let refused: Awaited<ReturnType<typeof apiVerdict>> | undefined;
  await waitFor(
    "release second's bindings to refuse its gateway's selector",
    async () => {
      refused = await apiVerdict(v, pod({ istio: 'second-gateway' }));
      return !refused.allowed;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  t.same(refused!.rules, ['TG-WORKLOAD-GATEWAY-LABEL']);
  t.match(refused!.message ?? '', /binding 'second-tenant-guard-workloads'/, "refused by release second's binding");
  const first = await apiVerdict(v, pod({ app: 'istio-ingressgateway', istio: 'ingressgateway' }));
  t.match(first.message ?? '', /binding 'tenant-guard-workloads'.*TG-WORKLOAD-GATEWAY-LABEL/, "the default selector is still refused by release tenant-guard's binding");
  t.ok((await apiVerdict(v, pod({ istio: 'other' }))).allowed, 'a pod neither release forbids is admitted');
}
