// Seeded random policy sets around one target tenant namespace (tenant-1) and
// the shared hops a foreign caller crosses into it: the activator
// (knative-serving), knative-local-gateway (istio-system, the mesh root) and
// mesh-wide policies in the root namespace. Half of the sets start from
// tenant-guard's own baseline (examples of what closes every path) and then
// get a few random edits; the rest are random from scratch, biased towards
// near-misses of the target's names (`tenant-1*`, `*-1`, `*.tenant-1:80`).
// Only shapes istiod accepts and the model reads are generated: a set that
// falls outside either is dropped by the run (and counted), not judged.
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import type { KubeObject } from '../../../src/kube/objects.js';
import { ACTIVATOR, GATEWAY } from '../../../src/mesh/platform.js';
import { baselineObjectsFor } from '../../../src/tenancy/baseline-objects.js';

/** mulberry32, as the oracle's gen.mjs (../shared/tools/istio-oracle/gen.mjs) seeds its cases. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rand {
  next: () => number;
  pick: <T>(xs: readonly T[]) => T;
  chance: (p: number) => boolean;
  some: <T>(xs: readonly T[], max?: number) => T[];
  int: (n: number) => number;
  token: () => string;
}

export function rand(seed: number): Rand {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  return {
    next,
    int,
    pick,
    chance: (p) => next() < p,
    some: (xs, max = 3) => [...new Set(Array.from({ length: 1 + int(max) }, () => pick(xs)))],
    // Letters no generated pattern uses, so a token completes a pattern only where it is meant to.
    token: () => Array.from({ length: 4 }, () => pick([...'qjzvkwyx'])).join(''),
  };
}

export const TARGET = 'tenant-1';
export const TARGET_TENANT = 'tenant-1';
export const ROOT = 'istio-system';
export const HEADER = 'request.headers[knative-serving-namespace]';

const V = {
  namespaces: ['tenant-1', 'tenant-2', 'tenant-*', '*', '*-2', '*-1', 't*', 'knative-serving', 'istio-system', 'tenant-1*', 'tenant-1-b'],
  principals: [
    'cluster.local/ns/tenant-1/sa/default',
    'cluster.local/ns/tenant-2/sa/default',
    'cluster.local/ns/knative-serving/sa/controller',
    'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
    'cluster.local/ns/tenant-1/*',
    'cluster.local/ns/tenant-2/*',
    '*/sa/default',
    '*/ns/tenant-1/sa/default',
    'cluster.local/ns/tenant-1-b/sa/default',
    '*-1/sa/default',
    '*',
  ],
  serviceAccounts: ['tenant-1/default', 'tenant-2/default', 'knative-serving/controller', 'default'],
  ipBlocks: ['10.0.0.0/8', '0.0.0.0/0', '192.168.0.0/16', '10.244.1.0/24', '::/0', '2001:db8::/32'],
  hosts: [
    '*.tenant-1.svc.cluster.local',
    '*.tenant-1.svc',
    '*.tenant-1',
    '*.tenant-1:80',
    'hello.tenant-1*',
    'hello.tenant-1.svc.cluster.local',
    'HELLO.tenant-1',
    '*.svc.cluster.local',
    '*.tenant-2.svc.cluster.local',
    '*:80',
    '*',
    'hello.tenant-1:*',
    '*.TENANT-1.svc.cluster.local',
    'hello.tenant-1.svc.cluster.local:8012',
    '*-1.svc.cluster.local',
  ],
  ports: ['8012', '8013', '8022', '8080', '8081', '9090'],
  methods: ['GET', 'POST', '*', 'G*'],
  paths: ['/', '/admin*', '*', '/api/*', '*.json', '/healthz', '/api/{*}/x', '/api/{**}'],
  routing: ['tenant-1', 'tenant-2', 'tenant-*', '*', '*-1', 'tenant-1*', 'tenant-2,tenant-1', 'tenant-1,*', '*,tenant-1', 'TENANT-1'],
  xTenant: ['tenant-1', 'tenant-2', 'tenant-*', '*'],
  requestPrincipals: ['*', 'https://issuer/tenant-1', 'https://issuer/*'],
};

const WHEN: [string, readonly string[]][] = [
  [HEADER, V.routing],
  ['request.headers[x-tenant]', V.xTenant],
  ['source.namespace', V.namespaces],
  ['source.principal', V.principals],
  ['destination.port', V.ports],
  ['source.ip', V.ipBlocks],
  ['remote.ip', V.ipBlocks],
  ['request.auth.claims[iss]', ['https://issuer', 'https://issuer/*', '*']],
];

export interface Scenario {
  id: string;
  /** Every AuthorizationPolicy of the state (the same list the oracle is given). */
  policies: KubeObject[];
  /** Other objects of the state: namespaces, PeerAuthentications, the local Gateway. */
  others: KubeObject[];
  config: TenancyConfig;
  /** Plaintext reaches tenant pods / the activator (no STRICT PeerAuthentication there). */
  plaintextAt: { pod: boolean; activator: boolean; gateway: boolean };
  kind: 'baseline+edits' | 'random';
}

function ap(namespace: string, name: string, spec: Record<string, unknown>, dryRun = false): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace, ...(dryRun ? { annotations: { 'istio.io/dry-run': 'true' } } : {}) },
    spec: spec as KubeObject['spec'],
  };
}

function source(r: Rand): Record<string, unknown> {
  const fields: [string, readonly string[]][] = [
    ['namespaces', V.namespaces],
    ['namespaces', V.namespaces],
    ['notNamespaces', V.namespaces],
    ['principals', V.principals],
    ['notPrincipals', V.principals],
    ['serviceAccounts', V.serviceAccounts],
    ['ipBlocks', V.ipBlocks],
    ['notIpBlocks', V.ipBlocks],
    ['remoteIpBlocks', V.ipBlocks],
    ['requestPrincipals', V.requestPrincipals],
  ];
  const s: Record<string, unknown> = {};
  for (let i = 0, n = 1 + r.int(2); i < n; i++) {
    const [k, vs] = r.pick(fields);
    // istiod refuses serviceAccounts beside namespaces or principals.
    if (k === 'serviceAccounts' && (s.namespaces || s.principals)) continue;
    if ((k === 'namespaces' || k === 'principals') && s.serviceAccounts) continue;
    s[k] = r.some(vs);
  }
  return s;
}

function operation(r: Rand): Record<string, unknown> {
  const fields: [string, readonly string[]][] = [
    ['hosts', V.hosts],
    ['hosts', V.hosts],
    ['notHosts', V.hosts],
    ['ports', V.ports],
    ['notPorts', V.ports],
    ['methods', V.methods],
    ['paths', V.paths],
    ['notPaths', V.paths],
  ];
  const o: Record<string, unknown> = {};
  for (let i = 0, n = 1 + r.int(2); i < n; i++) {
    const [k, vs] = r.pick(fields);
    o[k] = r.some(vs);
  }
  return o;
}

function condition(r: Rand): Record<string, unknown> {
  const [key, vs] = r.chance(0.4) ? WHEN[0]! : r.pick(WHEN);
  const x = r.next();
  if (x < 0.7) return { key, values: r.some(vs) };
  if (x < 0.9) return { key, notValues: r.some(vs) };
  return { key, values: r.some(vs), notValues: r.some(vs) };
}

function rule(r: Rand): Record<string, unknown> {
  if (r.chance(0.05)) return {};
  const out: Record<string, unknown> = {};
  if (r.chance(0.75)) out.from = Array.from({ length: 1 + r.int(2) }, () => ({ source: source(r) }));
  if (r.chance(0.5)) out.to = Array.from({ length: 1 + r.int(2) }, () => ({ operation: operation(r) }));
  if (r.chance(0.4)) out.when = Array.from({ length: 1 + r.int(2) }, () => condition(r));
  // istiod refuses serviceAccounts in a rule that also names namespaces or principals anywhere.
  const sources = ((out.from ?? []) as { source: Record<string, unknown> }[]).map((f) => f.source);
  const identity = sources.some((x) => ['namespaces', 'notNamespaces', 'principals', 'notPrincipals'].some((k) => k in x)) || ((out.when ?? []) as { key: string }[]).some((c) => /^source\.(namespace|principal)$/.test(c.key));
  if (identity) for (const x of sources) delete x.serviceAccounts;
  // …and an empty source.
  for (const x of sources) if (Object.keys(x).length === 0) x.namespaces = ['tenant-2'];
  return out;
}

/** The places a policy can sit, with the selectors that make it reach a hop (or not). */
function placement(r: Rand): { namespace: string; selector?: Record<string, string> } {
  const x = r.next();
  if (x < 0.35) return { namespace: TARGET, selector: r.pick<Record<string, string> | undefined>([undefined, undefined, { app: 'hello' }]) };
  if (x < 0.65) return { namespace: ACTIVATOR.namespace, selector: r.pick<Record<string, string> | undefined>([{ app: 'activator' }, { app: 'activator' }, undefined, { role: 'activator' }]) };
  if (x < 0.9) return { namespace: ROOT, selector: r.pick<Record<string, string> | undefined>([{ istio: 'ingressgateway' }, { app: 'istio-ingressgateway' }, { istio: 'ingressgateway' }, undefined]) };
  return { namespace: 'tenant-2', selector: undefined };
}

function randomPolicy(r: Rand, name: string): KubeObject {
  const { namespace, selector } = placement(r);
  const a = r.next();
  const action = a < 0.6 ? 'ALLOW' : a < 0.9 ? 'DENY' : 'AUDIT';
  const spec: Record<string, unknown> = { action };
  if (selector) spec.selector = { matchLabels: selector };
  spec.rules = Array.from({ length: 1 + r.int(3) }, () => rule(r));
  // istiod refuses istio.io/dry-run on AUDIT.
  return ap(namespace, name, spec, action !== 'AUDIT' && r.chance(0.05));
}

/**
 * Closing policies like a careful admin writes them, so random edits land on
 * closed sets as often as on open ones: the target admits its own tenant and
 * the platform; the activator and the gateway admit each tenant pinned to its
 * own routing header or Hosts.
 */
function guardedPolicies(r: Rand): KubeObject[] {
  const out: KubeObject[] = [];
  out.push(ap(TARGET, 'own', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: [TARGET, 'knative-serving', 'istio-system'] } }] }] }));
  for (const t of ['tenant-1', 'tenant-2']) {
    out.push(
      ap('knative-serving', `act-${t}`, {
        selector: { matchLabels: { app: 'activator' } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { namespaces: [t] } }], when: [{ key: HEADER, values: [t] }] }],
      }),
    );
    if (r.chance(0.7)) {
      out.push(
        ap(ROOT, `gw-${t}`, {
          selector: { matchLabels: { istio: 'ingressgateway' } },
          action: 'ALLOW',
          rules: [{ from: [{ source: { namespaces: [t] } }], to: [{ operation: { hosts: [`*.${t}.svc.cluster.local`, `*.${t}.svc`, `*.${t}`] } }] }],
        }),
      );
    }
  }
  out.push(ap('knative-serving', 'act-platform', { selector: { matchLabels: { app: 'activator' } }, action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] }] }));
  out.push(ap(ROOT, 'gw-platform', { selector: { matchLabels: { istio: 'ingressgateway' } }, action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['istio-system', 'knative-serving'] } }] }] }));
  return out;
}

function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: name.startsWith('tenant-') ? { 'istio-injection': 'enabled' } : {} } };
}

export function makeScenario(seed: number, index: number): Scenario {
  const r = rand(seed * 7919 + index);
  const config = loadDefaultTenancyConfig();
  const stripHostPort = r.chance(0.5);
  config.istio = { ...config.istio, gatewayStripHostPort: stripHostPort };
  const others: KubeObject[] = ['tenant-1', 'tenant-2', 'knative-serving', 'istio-system'].map(namespace);
  // PeerAuthentication: none (PERMISSIVE), mesh-wide STRICT, or STRICT on the target only.
  const pa = r.pick(['none', 'mesh', 'target'] as const);
  if (pa !== 'none') {
    others.push({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'strict', namespace: pa === 'mesh' ? ROOT : TARGET }, spec: { mtls: { mode: 'STRICT' } } });
  }
  // knative-local-gateway's server: ISTIO_MUTUAL (the reference's patch) or plaintext.
  const gatewayPlaintext = r.chance(0.3);
  if (gatewayPlaintext || r.chance(0.5)) {
    others.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'knative-local-gateway', namespace: 'knative-serving' },
      spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8081, name: 'http', protocol: 'HTTP' }, hosts: ['*'], ...(gatewayPlaintext ? {} : { tls: { mode: 'ISTIO_MUTUAL' } }) }] },
    });
  }
  const style = r.next();
  let policies: KubeObject[];
  let kind: Scenario['kind'];
  if (style < 0.35) {
    kind = 'baseline+edits';
    config.baseline = { ...config.baseline, enabled: true };
    const s = new MemoryStore();
    for (const o of others) s.upsert(o);
    const base = baselineObjectsFor(config, s);
    others.push(...base.filter((o) => o.kind !== 'AuthorizationPolicy'));
    policies = base.filter((o) => o.kind === 'AuthorizationPolicy');
    // The baseline's objects are now in the state, as given to the oracle. With the baseline on, the
    // model would also count a removed one as still coming (MeshState.pendingBaseline: tenant-guard
    // recreates it): an admission-time assumption, not Istio's, so both sides see the state as it is.
    config.baseline = { ...config.baseline, enabled: false };
  } else if (style < 0.7) {
    kind = 'baseline+edits';
    policies = guardedPolicies(r);
  } else {
    kind = 'random';
    policies = [];
  }
  const edits = kind === 'random' ? 1 + r.int(6) : r.int(4);
  for (let i = 0; i < edits; i++) {
    const x = r.next();
    if (kind !== 'random' && x < 0.35 && policies.length > 0) {
      // Widen or narrow an existing policy: one more rule, or one rule dropped.
      const j = r.int(policies.length);
      const p = structuredClone(policies[j]!);
      const rules = ((p.spec as { rules?: unknown[] }).rules ??= []);
      if (r.chance(0.5) && rules.length > 1) rules.splice(r.int(rules.length), 1);
      else rules.push(rule(r));
      policies[j] = p;
    } else if (kind !== 'random' && x < 0.45 && policies.length > 1) {
      policies.splice(r.int(policies.length), 1);
    } else {
      policies.push(randomPolicy(r, `r${i}`));
    }
  }
  const strictIn = (ns: string) => others.some((o) => o.kind === 'PeerAuthentication' && o.metadata.namespace === ns);
  return {
    id: `s${seed}-${index}`,
    policies,
    others,
    config,
    plaintextAt: { pod: !strictIn(ROOT) && !strictIn(TARGET), activator: !strictIn(ROOT), gateway: gatewayPlaintext },
    kind,
  };
}

export function stateOf(s: Scenario): MemoryStore {
  const st = new MemoryStore();
  for (const o of [...s.others, ...s.policies]) st.upsert(o);
  return st;
}

export { GATEWAY };
