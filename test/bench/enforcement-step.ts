// `node --import tsx test/bench/enforcement-step.ts`: the cost of the
// enforcement step (src/engine/enforcement.ts) beside the engine, in process,
// alternating rounds so that machine noise hits both alike. Decisions: an
// allowed Knative Service (the hot path: a clean decision is returned as is)
// and a denied one, under the default config (every rule denies) and under a
// config with overrides and exceptions (compiled once per config object).
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../src/config/default.js';
import { parseTenancyConfig } from '../../src/config/load.js';
import { applyEnforcement, requestFacts } from '../../src/engine/enforcement.js';
import { evaluate } from '../../src/engine/index.js';
import type { AdmissionInput, KubeObject } from '../../src/engine/types.js';

const base = loadDefaultTenancyConfig();
const relaxed = parseTenancyConfig(
  {
    ...base,
    enforcement: { action: 'deny', overrides: [{ rules: ['TG-WORKLOAD-*'], namespaces: ['tenant-2'], action: 'warn' }, { rules: ['TG-ISTIO-*'], tenants: ['tenant-1'], action: 'audit' }] },
    exceptions: [{ name: 'x', rules: ['TG-WORKLOAD-CAPTURE-BYPASS'], namespaces: ['tenant-1'], names: ['legacy'], reason: 'r', expires: '2099-01-01' }],
  },
  'bench config',
);
const state = new MemoryStore();
for (const ns of ['tenant-1', 'tenant-2']) state.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'tenant-guard.dev/tenant': ns, 'istio-injection': 'enabled' } } });
const ksvc = (annotations: Record<string, string>): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'tenant-1' },
  spec: { template: { metadata: { annotations }, spec: { containers: [{ image: 'x', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true } }] } } },
});
const input = (o: KubeObject): AdmissionInput => ({ operation: 'CREATE', kind: { group: 'serving.knative.dev', version: 'v1', kind: 'Service' }, namespace: 'tenant-1', name: 'hello', object: o, userInfo: { username: 'alice', groups: ['tenant-1-admins'] }, dryRun: false });
const cases = { allowed: input(ksvc({})), denied: input(ksvc({ 'sidecar.istio.io/inject': 'false' })) };
const N = Number(process.env.N ?? 20000);
let sink = 0;
function time(f: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return Number(process.hrtime.bigint() - t0) / N / 1000;
}
console.log(`enforcement step: µs per decision, median of 7 alternating rounds of ${N}`);
console.log('| decision | config | engine alone | engine + enforcement | step |');
console.log('|---|---|---|---|---|');
for (const [name, inp] of Object.entries(cases)) {
  for (const [cname, config] of [['default (all deny)', base], ['overrides + exception', relaxed]] as const) {
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < 7; r++) {
      a.push(time(() => (sink += evaluate(inp, state, config).violations.length)));
      b.push(
        time(() => {
          const d = evaluate(inp, state, config);
          sink += applyEnforcement(d, () => requestFacts(inp, state, config), config, Date.now(), (c) => evaluate(inp, state, c)).outcomes.length;
        }),
      );
    }
    const med = (x: number[]) => [...x].sort((p, q) => p - q)[3]!;
    console.log(`| ${name} | ${cname} | ${med(a).toFixed(2)} | ${med(b).toFixed(2)} | ${(med(b) - med(a)).toFixed(2)} |`);
  }
}
if (sink < 0) console.log(sink);
