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
// TG_VAP_DIFF_RUNS (default 2000) and TG_VAP_DIFF_SEED (default 19) set the
// count and the seed; a failure prints the seed and the object.
import fc from 'fast-check';
import t from 'tap';
import type { KubeObject } from '../../src/engine/types.js';
import { CAPTURE_KNOBS, PROXY_OVERRIDES } from '../../src/engine/sidecar-metadata-checks.js';
import { ADMIN, type UserIdentity } from './fixtures/cluster.js';
import { E2E_TIMEOUT_MS } from './fixtures/env.js';
import { apiVerdict, COMPILED, CONTROLLER, engineVerdict, kubeAs, LABELLED_NS, setupVapEnv, UNOWNED_NS, type VapEnv } from './fixtures/vap.js';

t.setTimeout(E2E_TIMEOUT_MS);

const RUNS = Number(process.env.TG_VAP_DIFF_RUNS ?? 2000);
const SEED = Number(process.env.TG_VAP_DIFF_SEED ?? 19);
const CONCURRENCY = 8;

const NAMESPACES = ['tenant-1', LABELLED_NS, UNOWNED_NS, 'knative-serving', 'istio-system'];

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

function workload(kind: (typeof WORKLOAD_KINDS)[number], ns: string, name: string, meta: { annotations: Record<string, string>; labels: Record<string, string> }, spec: Record<string, unknown>, own: { annotations: Record<string, string>; labels: Record<string, string> }): KubeObject {
  const labels = { ...meta.labels, app: name };
  const template = { metadata: { labels, annotations: meta.annotations }, spec };
  const selector = { matchLabels: { app: name } };
  const metadata = { name, namespace: ns };
  const o = (apiVersion: string, body: Record<string, unknown>) => ({ apiVersion, kind, metadata, ...body }) as unknown as KubeObject;
  switch (kind) {
    case 'Pod': {
      const annotations = { ...meta.annotations };
      delete annotations['sidecar.istio.io/status']; // webhook-only on Pods (TG-POD-INJECTION-STATUS)
      return o('v1', { metadata: { ...metadata, labels, annotations }, spec });
    }
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return o('apps/v1', { spec: { selector, template, ...(kind === 'StatefulSet' ? { serviceName: name } : {}) } });
    case 'ReplicationController':
      return o('v1', { spec: { selector: { app: name }, template } });
    case 'Job':
      return o('batch/v1', { spec: { template: { ...template, spec: { ...spec, restartPolicy: 'Never' } } } });
    case 'CronJob':
      return o('batch/v1', { spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { ...template, spec: { ...spec, restartPolicy: 'Never' } } } } } });
    case 'Service':
    case 'Configuration':
      return o('serving.knative.dev/v1', { metadata: { ...metadata, ...own }, spec: { template } });
    case 'Revision':
      return o('serving.knative.dev/v1', { metadata: { ...metadata, labels, annotations: meta.annotations }, spec });
    case 'Route':
      return o('serving.knative.dev/v1', { metadata: { ...metadata, ...own }, spec: { traffic: [{ configurationName: name, percent: 100 }] } });
    case 'DomainMapping':
      return o('serving.knative.dev/v1beta1', {
        metadata: { ...metadata, name: `${name}.example.com`, ...own },
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
    .record({ kind: fc.constantFrom(...WORKLOAD_KINDS), ns, meta: podMeta, own: podMeta, spec: podSpec, as: who, ingress: fc.constantFrom(undefined, undefined, 'istio.ingress.networking.knative.dev', 'kourier.ingress.networking.knative.dev') })
    .map((g) => {
      const own = g.ingress ? { ...g.own, annotations: { ...g.own.annotations, 'networking.knative.dev/ingress.class': g.ingress } } : g.own;
      return { obj: workload(g.kind, g.ns, 'gen', g.meta, g.spec, own), as: g.as };
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

t.test(`differential: engine vs ValidatingAdmissionPolicies, ${RUNS} generated objects, seed ${SEED}`, async (t) => {
  const v = await setupVapEnv(t);
  const samples = fc.sample(generator(), { seed: SEED, numRuns: RUNS });
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

  const disagreements = outcomes.filter((o) => o.engine.rules.length === 0 !== o.api.allowed || (!o.api.allowed && !o.engine.rules.includes(o.api.rules[0]!)));
  const denied = outcomes.filter((o) => !o.api.allowed).length;
  const byRule = new Map<string, number>();
  for (const o of outcomes) for (const r of o.api.rules) byRule.set(r, (byRule.get(r) ?? 0) + 1);
  const other = new Map<string, number>();
  for (const o of outcomes) for (const r of o.engine.other) other.set(r, (other.get(r) ?? 0) + 1);
  t.comment(
    `differential: ${outcomes.length} objects compared (seed ${SEED}), ${denied} denied, ${outcomes.length - denied} admitted, ` +
      `${disagreements.length} disagreements, ${invalid.length} refused as invalid, in ${seconds.toFixed(1)}s`,
  );
  t.comment(`denials by rule: ${[...byRule].sort().map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (other.size) t.comment(`not compiled, not compared: ${[...other].sort().map(([r, n]) => `${r} ${n}`).join(', ')}`);
  for (const d of disagreements.slice(0, 5)) {
    t.comment(`disagreement #${d.index} as ${d.gen.as.user}: engine ${JSON.stringify(d.engine.rules)}, API server ${d.api.allowed ? 'allowed' : d.api.message}\n${JSON.stringify(d.gen.obj)}`);
  }
  for (const d of invalid.slice(0, 5)) t.comment(`invalid #${d.index}: ${d.message}\n${JSON.stringify(d.gen.obj)}`);
  t.equal(disagreements.length, 0, `0 disagreements between the engine and the API server (seed ${SEED})`);
  t.equal(invalid.length, 0, 'every generated object is valid for the API server');
  t.equal(outcomes.length, RUNS, `${RUNS} objects compared`);
  // The generator reaches both verdicts, and every compiled rule is the API server's reason somewhere.
  t.ok(denied > RUNS / 10 && denied < RUNS - RUNS / 10, 'both verdicts are well represented');
  if (RUNS >= 1000) t.same([...COMPILED].filter((r) => !byRule.has(r)), [], 'every compiled rule refuses some generated object');
});
