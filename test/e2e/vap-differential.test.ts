// Differential test: generated objects (fast-check, seeded) sent through the
// engine and through the API server's ValidatingAdmissionPolicies with no
// webhook registered. Fails on any object where they disagree on allow/deny,
// or where the rule the API server names is not one the engine found.
//
// Compared on the compiled rules only (src/vap/rules.ts): the API server
// enforces nothing else, so the engine's verdict is "denied" when one of
// those rules is violated. Rules the generator cannot help tripping that are
// not compiled (a foreign DestinationRule host, for one) are counted and
// printed, not compared. The generator leaves out what the docs list as
// webhook-only: proxy.istio.io/config, a Pod's sidecar.istio.io/status,
// istio.io/rev labels, OpenShift uid ranges.
//
// Then the same cluster is switched to fixtures/vap-enforcement.yaml
// (enforcement overrides by rule, prefix, tenant and namespace; exceptions by
// kind, name, label selector, tenant and namespace; an expired one), and
// generated objects are compared again, on the engine's verdict after its
// enforcement: denied or admitted, the denying rule, and the rules the API
// server's Warn bindings warn about against those the engine admits in warn
// mode (audit leaves no trace a client sees).
//
// TG_VAP_DIFF_RUNS (default 2000), TG_VAP_DIFF_ENF_RUNS (default 1000) and
// TG_VAP_DIFF_SEED (default 19; the enforcement run uses seed + 1) set the
// counts and the seed; a failure prints the seed and the object.
import fc from 'fast-check';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { KubeObject } from '../../src/engine/types.js';
import { CAPTURE_KNOBS, PROXY_OVERRIDES } from '../../src/engine/sidecar-metadata-checks.js';
import { ADMIN, type UserIdentity } from './fixtures/cluster.js';
import { E2E_TIMEOUT_MS } from './fixtures/env.js';
import { apiVerdict, bindingProbes, COMPILED, CONTROLLER, engineVerdict, kubeAs, LABELLED_NS, probeDisagreements, setupVapEnv, switchConfig, UNOWNED_NS, type VapEnv } from './fixtures/vap.js';

t.setTimeout(E2E_TIMEOUT_MS);

const RUNS = Number(process.env.TG_VAP_DIFF_RUNS ?? 2000);
const ENF_RUNS = Number(process.env.TG_VAP_DIFF_ENF_RUNS ?? 1000);
const ENFORCEMENT_CONFIG = join(import.meta.dirname, 'fixtures', 'vap-enforcement.yaml');
const SEED = Number(process.env.TG_VAP_DIFF_SEED ?? 19);
const CONCURRENCY = 8;

const NAMESPACES = ['tenant-1', 'tenant-2', LABELLED_NS, UNOWNED_NS, 'knative-serving', 'istio-system'];

const annotationValue = fc.constantFrom('', '*', ' * ', '15020', '15020,15021', '15090, 15021', '8080', '15020,8080', ' , ', '10.0.0.0/8', 'REDIRECT', 'TPROXY', 'NONE', 'true', 'false', 'Yes', 'ON', 'n', 'sidecar', 'sidecar,gateway', 'gateway', 'eth1', 'istio.ingress.networking.knative.dev', 'kourier.ingress.networking.knative.dev');
const annotationKey = fc.constantFrom(
  ...CAPTURE_KNOBS.map((k) => k.key),
  'traffic.sidecar.istio.io/someFutureKnob',
  ...Object.keys(PROXY_OVERRIDES),
  'inject.istio.io/templates',
  'sidecar.istio.io/inject',
  'sidecar.istio.io/status',
  'sidecar.istio.io/proxyCPU',
  'example.com/note',
  'networking.knative.dev/ingress.class',
);
const labelValue = fc.constantFrom('', 'true', 'false', 'Yes', 'y', 'on', 'disabled', 'gw');
const labelKey = fc.constantFrom('sidecar.istio.io/inject', 'gateway.networking.k8s.io/gateway-name', 'istio.io/gateway-name', 'tier');

/** `value` about one time in eight, else absent or the harmless `otherwise`: most objects then break one rule or none, so the API server's first reason is each rule in turn. */
function rarely<T>(value: T, otherwise?: T): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(value), weight: 1 }, { arbitrary: fc.constant(otherwise), weight: 7 });
}

const caps = fc.oneof(
  { arbitrary: fc.constant([] as string[]), weight: 4 },
  { arbitrary: fc.uniqueArray(fc.constantFrom('NET_BIND_SERVICE', 'NET_ADMIN', 'net_admin', 'CAP_NET_ADMIN', 'ALL', 'SYS_PTRACE', 'CAP_SYS_ADMIN', 'chown', 'cap_net_bind_service'), { maxLength: 2 }), weight: 1 },
);
const id = fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.constantFrom(0, 1000), weight: 3 }, { arbitrary: fc.constant(1337), weight: 1 });

const securityContext = fc.option(
  fc.record(
    { privileged: rarely(true), runAsUser: id, runAsGroup: id, capabilities: fc.record({ add: caps }, { requiredKeys: [] }) },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const containerName = fc.oneof(
  { arbitrary: fc.constantFrom('app', 'helper', 'db', 'web', 'worker', 'cache', 'enable-core-dump'), weight: 6 },
  { arbitrary: fc.constantFrom('istio-proxy', 'istio-init', 'istio-validation'), weight: 1 },
);

const containers = (min: number, max: number) =>
  fc.uniqueArray(fc.record({ name: containerName, securityContext }), { minLength: min, maxLength: max, selector: (c) => c.name }).map((cs) =>
    cs.map((c) => ({ name: c.name, image: 'registry.example/app:1', ...(c.securityContext ? { securityContext: stripUndefined(c.securityContext) } : {}) })),
  );

function stripUndefined<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

const podMeta = fc.record({
  annotations: fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, { arbitrary: fc.dictionary(annotationKey, annotationValue, { maxKeys: 2 }), weight: 2 }),
  labels: fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, { arbitrary: fc.dictionary(labelKey, labelValue, { maxKeys: 1 }), weight: 1 }),
});

const podSpec = fc
  .record(
    {
      hostNetwork: rarely(true, false),
      hostPID: rarely(true, false),
      hostIPC: rarely(true, false),
      securityContext: fc.record({ runAsUser: id, runAsGroup: id }, { requiredKeys: [] }),
      volumes: fc.array(fc.constantFrom<Record<string, unknown>>({ emptyDir: {} }, { emptyDir: {} }, { emptyDir: {} }, { configMap: { name: 'cfg' } }, { configMap: { name: 'cfg' } }, { hostPath: { path: '/var/lib/kubelet' } }), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  )
  .chain((spec) =>
    fc.tuple(containers(1, 3), containers(0, 2)).map(([cs, init]) => {
      // Names are unique across containers and initContainers.
      const taken = new Set(cs.map((c) => c.name));
      const initContainers = init.filter((c) => !taken.has(c.name));
      return stripUndefined({
        ...spec,
        volumes: spec.volumes?.map((v, i) => ({ name: `v${i}`, ...v })),
        containers: cs,
        ...(initContainers.length ? { initContainers } : {}),
      });
    }),
  );

type Gen = { obj: KubeObject; as: UserIdentity };

const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController', 'Service', 'Configuration', 'Revision', 'Route', 'DomainMapping'] as const;

/**
 * Labels of the shared gateway's selector (config baseline.gatewayPolicy.selector,
 * default {app: istio-ingressgateway, istio: ingressgateway}): all of them, or one.
 */
const gatewayLabels = fc.oneof(
  { arbitrary: fc.constant({} as Record<string, string>), weight: 12 },
  { arbitrary: fc.constant({ app: 'istio-ingressgateway', istio: 'ingressgateway' }), weight: 1 },
  { arbitrary: fc.constantFrom<Record<string, string>>({ istio: 'ingressgateway' }, { app: 'istio-ingressgateway' }, { app: 'istio-ingressgateway', istio: 'egressgateway' }), weight: 1 },
);
/** The object's own `tier` label (exceptions select on it). */
const ownTier = fc.constantFrom<Record<string, string>>({}, {}, {}, { tier: 'gw' }, { tier: 'true' }, { tier: 'x' });

function workload(
  kind: (typeof WORKLOAD_KINDS)[number],
  ns: string,
  name: string,
  meta: { annotations: Record<string, string>; labels: Record<string, string> },
  spec: Record<string, unknown>,
  own: { annotations: Record<string, string>; labels: Record<string, string> },
  gw: Record<string, string> = {},
  tier: Record<string, string> = {},
): KubeObject {
  const app = gw.app ?? name;
  const labels = { ...meta.labels, ...gw, app };
  const template = { metadata: { labels, annotations: meta.annotations }, spec };
  const selector = { matchLabels: { app } };
  const metadata = { name, namespace: ns, ...(Object.keys(tier).length ? { labels: tier } : {}) };
  const o = (apiVersion: string, body: Record<string, unknown>) => ({ apiVersion, kind, metadata, ...body }) as unknown as KubeObject;
  switch (kind) {
    case 'Pod': {
      const annotations = { ...meta.annotations };
      delete annotations['sidecar.istio.io/status']; // webhook-only on Pods (TG-POD-INJECTION-STATUS)
      return o('v1', { metadata: { ...metadata, labels: { ...labels, ...tier }, annotations }, spec });
    }
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return o('apps/v1', { spec: { selector, template, ...(kind === 'StatefulSet' ? { serviceName: name } : {}) } });
    case 'ReplicationController':
      return o('v1', { spec: { selector: { app }, template } });
    case 'Job':
      return o('batch/v1', { spec: { template: { ...template, spec: { ...spec, restartPolicy: 'Never' } } } });
    case 'CronJob':
      return o('batch/v1', { spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { ...template, spec: { ...spec, restartPolicy: 'Never' } } } } } });
    case 'Service':
    case 'Configuration':
      return o('serving.knative.dev/v1', { metadata: { ...metadata, ...own, labels: { ...own.labels, ...tier } }, spec: { template } });
    case 'Revision':
      return o('serving.knative.dev/v1', { metadata: { ...metadata, labels: { ...labels, ...tier }, annotations: meta.annotations }, spec });
    case 'Route':
      return o('serving.knative.dev/v1', { metadata: { ...metadata, ...own, labels: { ...own.labels, ...tier } }, spec: { traffic: [{ configurationName: name, percent: 100 }] } });
    case 'DomainMapping':
      return o('serving.knative.dev/v1beta1', {
        metadata: { ...metadata, name: `${name}.example.com`, ...own, labels: { ...own.labels, ...tier } },
        spec: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, namespace: ns } },
      });
  }
}

const mode = fc.option(fc.constantFrom('UNSET', 'STRICT', 'PERMISSIVE', 'DISABLE'), { nil: undefined });
const tlsMode = fc.option(fc.constantFrom('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'), { nil: undefined });
const tls = fc.option(tlsMode.map((m) => (m === undefined ? {} : { mode: m })), { nil: undefined });
const trafficPolicy = fc.record(
  { tls, portLevelSettings: fc.array(tls.map((x) => ({ port: { number: 8080 }, ...(x ? { tls: x } : {}) })), { maxLength: 2 }) },
  { requiredKeys: [] },
);

function generator(): fc.Arbitrary<Gen> {
  const who = fc.constantFrom<UserIdentity>(ADMIN, ADMIN, ADMIN, CONTROLLER);
  const ns = fc.constantFrom(...NAMESPACES);
  const wl = fc
    .record({ kind: fc.constantFrom(...WORKLOAD_KINDS), ns, meta: podMeta, own: podMeta, spec: podSpec, as: who, ingress: fc.constantFrom(undefined, undefined, 'istio.ingress.networking.knative.dev', 'kourier.ingress.networking.knative.dev'), gw: gatewayLabels, tier: ownTier })
    .map((g) => {
      const own = g.ingress ? { ...g.own, annotations: { ...g.own.annotations, 'networking.knative.dev/ingress.class': g.ingress } } : g.own;
      return { obj: workload(g.kind, g.ns, 'gen', g.meta, g.spec, own, g.gw, g.tier), as: g.as };
    });
  const pa = fc
    .record({
      ns,
      as: who,
      mode,
      selector: fc.boolean(),
      ports: fc.dictionary(fc.constantFrom('8022', '8080', '9000'), mode, { maxKeys: 2 }),
    })
    .map((g) => {
      const ports = Object.fromEntries(Object.entries(g.ports).map(([p, m]) => [p, m ? { mode: m } : {}]));
      const spec: Record<string, unknown> = {};
      if (g.selector || Object.keys(ports).length) spec.selector = { matchLabels: { app: 'gen' } };
      if (g.mode) spec.mtls = { mode: g.mode };
      if (Object.keys(ports).length) spec.portLevelMtls = ports;
      return { obj: { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'gen', namespace: g.ns }, spec } as unknown as KubeObject, as: g.as };
    });
  const dr = fc
    .record({
      ns,
      as: who,
      host: fc.constantFrom('hello', 'hello.NS', 'hello.NS.svc', 'hello.NS.svc.cluster.local', 'Hello.NS.svc.cluster.local.', 'api.example.com', '*.example.com', 'api.example.com.', 'svc.example.com', '*.local', '*'),
      trafficPolicy: fc.option(trafficPolicy, { nil: undefined }),
      subsets: fc.array(fc.option(trafficPolicy, { nil: undefined }), { maxLength: 2 }),
    })
    .map((g) => {
      const spec: Record<string, unknown> = { host: g.host.replace('NS', g.ns), exportTo: ['.'] };
      if (g.trafficPolicy) spec.trafficPolicy = stripUndefined(g.trafficPolicy);
      if (g.subsets.length) spec.subsets = g.subsets.map((tp, i) => ({ name: `v${i}`, labels: { version: `v${i}` }, ...(tp ? { trafficPolicy: stripUndefined(tp) } : {}) }));
      return { obj: { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'gen', namespace: g.ns }, spec } as unknown as KubeObject, as: g.as };
    });
  return fc.oneof({ arbitrary: wl, weight: 6 }, { arbitrary: pa, weight: 2 }, { arbitrary: dr, weight: 2 });
}

interface Outcome {
  index: number;
  gen: Gen;
  engine: ReturnType<typeof engineVerdict>;
  api: Awaited<ReturnType<typeof apiVerdict>>;
}

/** The object as the API server (and so a webhook) sees it: defaulted and pruned, read from a dry run by an exempt identity. */
async function normalized(v: VapEnv, obj: KubeObject): Promise<KubeObject | undefined> {
  if (obj.kind === 'PeerAuthentication') return obj; // its schema covers every generated field; no identity skips its policy
  try {
    return await kubeAs(v, CONTROLLER).create(obj, { dryRun: true });
  } catch {
    return undefined;
  }
}

interface RunOptions {
  runs: number;
  seed: number;
  /** Also compare the rules the API server warns about (Warn bindings) with those the engine admits in warn mode. */
  warnings: boolean;
}

async function differential(t: Test, v: VapEnv, opts: RunOptions): Promise<void> {
  const { runs, seed } = opts;
  const samples = fc.sample(generator(), { seed, numRuns: runs });
  const outcomes: Outcome[] = [];
  const invalid: { index: number; gen: Gen; message: string }[] = [];
  const started = Date.now();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < samples.length) {
      const index = next++;
      const gen = samples[index]!;
      const obj = (await normalized(v, gen.obj)) ?? gen.obj;
      const api = await apiVerdict(v, gen.obj, gen.as);
      if (!api.allowed && api.rules.length === 0) {
        invalid.push({ index, gen, message: api.message ?? '' });
        continue;
      }
      outcomes.push({ index, gen, engine: engineVerdict(v, obj, gen.as), api });
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;

  const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
  const disagreements = outcomes.filter(
    (o) =>
      o.engine.rules.length === 0 !== o.api.allowed ||
      (!o.api.allowed && !o.engine.rules.includes(o.api.rules[0]!)) ||
      (opts.warnings && o.api.allowed && !sameSet(o.engine.warned, o.api.warned)),
  );
  const denied = outcomes.filter((o) => !o.api.allowed).length;
  const warned = outcomes.filter((o) => o.api.allowed && o.api.warned.length > 0).length;
  const byRule = new Map<string, number>();
  for (const o of outcomes) for (const r of o.api.rules) byRule.set(r, (byRule.get(r) ?? 0) + 1);
  const warnedByRule = new Map<string, number>();
  for (const o of outcomes) for (const r of o.api.warned) warnedByRule.set(r, (warnedByRule.get(r) ?? 0) + 1);
  const other = new Map<string, number>();
  for (const o of outcomes) for (const r of o.engine.other) other.set(r, (other.get(r) ?? 0) + 1);
  t.comment(
    `differential: ${outcomes.length} objects compared (seed ${seed}), ${denied} denied, ${outcomes.length - denied} admitted` +
      `${opts.warnings ? ` (${warned} with warnings)` : ''}, ${disagreements.length} disagreements, ${invalid.length} refused as invalid, in ${seconds.toFixed(1)}s`,
  );
  t.comment(`denials by rule: ${[...byRule].sort().map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const tally = (pick: (o: Outcome) => string[]) => {
    const m = new Map<string, number>();
    for (const o of outcomes) for (const r of pick(o)) m.set(r, (m.get(r) ?? 0) + 1);
    return m;
  };
  const show = (m: Map<string, number>) => [...m].sort().map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
  const audited = tally((o) => o.engine.audited);
  const excepted = tally((o) => o.engine.excepted);
  if (opts.warnings) {
    t.comment(`warnings by rule: ${show(warnedByRule)}`);
    t.comment(`violations the engine admits in audit mode, by rule: ${show(audited)}`);
    t.comment(`violations lifted by an exception, by rule: ${show(excepted)}`);
  }
  if (other.size) t.comment(`not compiled, not compared: ${[...other].sort().map(([r, n]) => `${r} ${n}`).join(', ')}`);
  for (const d of disagreements.slice(0, 5)) {
    t.comment(
      `disagreement #${d.index} as ${d.gen.as.user}: engine denies ${JSON.stringify(d.engine.rules)} warns ${JSON.stringify(d.engine.warned)}, ` +
        `API server ${d.api.allowed ? `allowed, warns ${JSON.stringify(d.api.warned)}` : d.api.message}\n${JSON.stringify(d.gen.obj)}`,
    );
  }
  for (const d of invalid.slice(0, 5)) t.comment(`invalid #${d.index}: ${d.message}\n${JSON.stringify(d.gen.obj)}`);
  t.equal(disagreements.length, 0, `0 disagreements between the engine and the API server (seed ${seed})`);
  t.equal(invalid.length, 0, 'every generated object is valid for the API server');
  t.equal(outcomes.length, runs, `${runs} objects compared`);
  // The generator reaches both verdicts, and every compiled rule is the API server's reason somewhere.
  t.ok(denied > runs / 10 && denied < runs - runs / 10, 'both verdicts are well represented');
  if (runs >= 1000 && !opts.warnings) t.same([...COMPILED].filter((r) => !byRule.has(r)), [], 'every compiled rule refuses some generated object');
  if (runs >= 500 && opts.warnings) {
    t.ok(warned > runs / 50, 'warnings are well represented');
    t.ok(audited.size >= 5, 'audit mode reached on several rules');
    t.ok(excepted.size >= 5, 'exceptions lift several rules');
  }
}

t.test('differential: engine vs ValidatingAdmissionPolicies', async (t) => {
  const v = await setupVapEnv(t);

  t.test(`examples/tenancy.yaml (every rule denies): ${RUNS} generated objects, seed ${SEED}`, (t) => differential(t, v, { runs: RUNS, seed: SEED, warnings: false }));

  // The same cluster switched to a config with enforcement overrides at every
  // level and exceptions of every scope (fixtures/vap-enforcement.yaml): the
  // API server must refuse, warn and admit exactly as the engine's
  // enforcement does (src/vap/enforcement.ts).
  t.test(`enforcement and exceptions (test/e2e/fixtures/vap-enforcement.yaml): ${ENF_RUNS} generated objects, seed ${SEED + 1}`, async (t) => {
    const dep = (ns: string, annotations: Record<string, string>, spec: Record<string, unknown> = {}): KubeObject =>
      ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'probe', namespace: ns },
        spec: { selector: { matchLabels: { app: 'probe' } }, template: { metadata: { labels: { app: 'probe' }, annotations }, spec: { containers: [{ name: 'a', image: 'x' }], ...spec } } },
      }) as unknown as KubeObject;
    let last = '';
    const probes = bindingProbes(NAMESPACES);
    await switchConfig(v, ENFORCEMENT_CONFIG, async () => {
      const warned = await apiVerdict(v, dep('tenant-1', { 'traffic.sidecar.istio.io/excludeInboundPorts': '8080' }));
      const audited = await apiVerdict(v, dep('tenant-2', {}, { hostPID: true }));
      const apart = await probeDisagreements(v, probes);
      last = JSON.stringify({ warned, audited, apart });
      return warned.allowed && warned.warned.includes('TG-WORKLOAD-CAPTURE-BYPASS') && audited.allowed && audited.warned.length === 0 && apart.length === 0;
    }).catch(async (e: unknown) => {
      t.comment(`last probes: ${last}`);
      const cms = await v.env.admin.list<KubeObject>('v1', 'ConfigMap', 'tenant-guard');
      t.comment(`configmaps: ${cms.map((c) => c.metadata.name).join(', ')}`);
      throw e;
    });
    const w = await apiVerdict(v, dep('tenant-1', { 'traffic.sidecar.istio.io/excludeInboundPorts': '8080' }));
    t.same(w.warned, ['TG-WORKLOAD-CAPTURE-BYPASS'], 'warn: admitted with the rule id in a warning, as kubectl prints it');
    const exempt = await apiVerdict(v, dep('tenant-1', {}, { volumes: [{ name: 'h', hostPath: { path: '/var/lib/kubelet' } }] }));
    t.ok(exempt.allowed, `an exception (hostpath-deployments) lifts the rule in the API server too ${exempt.message ?? ''}`);
    const pod = await apiVerdict(v, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe', namespace: 'tenant-1' }, spec: { volumes: [{ name: 'h', hostPath: { path: '/var/lib/kubelet' } }], containers: [{ name: 'a', image: 'x' }] } } as KubeObject);
    t.same(pod.rules, ['TG-WORKLOAD-HOST-PATH'], 'outside its kinds the exception lifts nothing');
    await differential(t, v, { runs: ENF_RUNS, seed: SEED + 1, warnings: true });
  });
});
