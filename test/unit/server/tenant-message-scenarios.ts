// Hand-written scenarios for the rules whose docs/rules.md entry has no
// example (RuleDoc.example), for tenant-messages.test.ts: each one draws its
// rule with the configuration the rule needs, as a tenant (or tenantless)
// caller, in a cluster where another tenant holds distinctively named objects
// of the kinds the rule's message could name. A rule only platform callers
// draw (a warning to a platform admin) has its platform request too, and the
// tenant's request must not draw it.

import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK, type ClusterState, type GroupKind } from '../../../src/cluster/state.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { evaluate } from '../../../src/engine/index.js';
import type { AdmissionInput, Decision, KubeObject } from '../../../src/engine/types.js';
import type { Evaluate } from '../../../src/server/admission.js';
import { BOB, inputFor, PLATFORM_ADMIN } from './reviews.js';

export const SECRET = 'xyz-secret';
export const base = loadDefaultTenancyConfig();

/** Another tenant's objects, every name and host distinctive. */
export function kit(tenant: string): KubeObject[] {
  const ns = `${tenant}-${SECRET}-ns`;
  const meta = (name: string) => ({ name: `${SECRET}-${name}`, namespace: ns });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [base.tenantLabel]: tenant } } },
    // Trusts every namespace name (a pattern and a deny-list): any namespace created or deleted is "trusted" by it.
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: meta('trusts-all'),
      spec: { rules: [{ from: [{ source: { namespaces: ['*'] } }, { source: { notNamespaces: [`${SECRET}-nobody`] } }] }] },
    },
    { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta('deny-hosts'), spec: { action: 'DENY', rules: [{ to: [{ operation: { hosts: [`${SECRET}-host.example.com`] } }] }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: meta('svc'), spec: { type: 'ExternalName', externalName: `${SECRET}-external.example.com` } },
    { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta('vs'), spec: { hosts: [`${SECRET}-vs.example.com`], http: [{ route: [{ destination: { host: `${SECRET}-svc` } }] }] } },
    { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta('se'), spec: { hosts: [`${SECRET}-se.example.com`], ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS' } },
    { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: meta('gw'), spec: { selector: { app: `${SECRET}-gw` }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [`${SECRET}-gw.example.com`] }] } },
    { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta('pa'), spec: { mtls: { mode: 'STRICT' } } },
    { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: meta('ksvc'), spec: { template: { spec: { containers: [{ image: 'example.com/app' }] } } } },
  ];
}

export interface HandScenario {
  /** The rule it draws. */
  rule: string;
  /** What the rule's message could name, and so what the state holds of the other tenant. */
  aim: string;
  config: TenancyConfig;
  state: MemoryStore;
  /** The tenant's (or tenantless caller's) request. */
  input: AdmissionInput;
  /** Every name of another tenant's object in the state (or in what the engine may read). */
  secrets: string[];
  /** The engine the webhook runs (default: the real one). */
  evaluate?: Evaluate;
  /** For a rule only platform callers draw: the platform's request that draws it (the tenant's `input` must not). */
  platformInput?: AdmissionInput;
  /** The full decision (what `check` and the debug log show) names some secret: only the rendering for the caller hides it. */
  fullNamesSecrets?: boolean;
}

const T1 = 'tenant-1';
/** A user of no tenant and no platform group. */
const NOBODY = { username: 'eve', groups: ['system:authenticated'] };
const OWN = 'tenant-2'; // BOB's tenant and namespace

function ns(name: string, tenant: string | undefined, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...(tenant ? { [base.tenantLabel]: tenant } : {}), ...labels } } };
}

/** The two tenants' namespaces, the platform's, the other tenant's kit and `extra` (the other tenant's objects aimed at the rule). */
function world(extra: KubeObject[] = [], own: Record<string, string> = {}): { state: MemoryStore; secrets: string[] } {
  const state = new MemoryStore();
  const objs = [
    ns(T1, T1),
    ns(OWN, OWN, own),
    ns('istio-system', undefined),
    ns('knative-serving', undefined),
    ...kit(T1),
    ...extra,
  ];
  for (const o of objs) state.upsert(o);
  const secrets = objs.filter((o) => o.kind !== 'Namespace' && o.metadata.name!.includes(SECRET)).map((o) => o.metadata.name!);
  return { state, secrets };
}

const withRevisions: TenancyConfig = { ...base, tenants: base.tenants.map((t) => ({ ...t, revision: `rev-${t.name}` })) };

function pod(namespace: string, name: string, labels: Record<string, string> = {}, container: Record<string, unknown> = { name: 'app', image: 'example.com/app', securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false } }): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [container] } };
}

/** An AuthorizationPolicy admitting, without `from`, only the drain port: Knative's pre-stop hook exception. */
function drainPolicy(namespace: string, name: string): KubeObject {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec: { rules: [{ to: [{ operation: { ports: ['8022'] } }] }] } };
}

/** The other tenant's policies in the mesh shape of Knative's drain exception, and its Revision pods. */
function otherDrain(): KubeObject[] {
  return [
    drainPolicy(`${T1}-${SECRET}-ns`, `${SECRET}-drain`),
    drainPolicy(T1, `${SECRET}-drain-t1`),
    pod(T1, `${SECRET}-pod-00001-deployment-abc`, { 'serving.knative.dev/service': `${SECRET}-ksvc`, app: `${SECRET}-app` }),
  ];
}

/**
 * The store as the engine reads it through a broken index: every read of the
 * AuthorizationPolicies fails with an error naming another tenant's policy,
 * as a corrupted cache entry or a model invariant broken by that policy
 * would. The webhook's own reads (who the caller is) stay whole.
 */
export function failingPolicies(s: ClusterState, culprit: string): ClusterState {
  const fail = (gk: GroupKind) => {
    if (gk === GK.AuthorizationPolicy) throw new Error(`AuthorizationPolicy ${culprit}: spec.rules[0].from[0].source.namespaces[0] "*" cannot be compiled (index corrupted)`);
  };
  return {
    get: (gk, n, name) => (fail(gk), s.get(gk, n, name)),
    list: (gk, n) => (fail(gk), s.list(gk, n)),
    namespacesWithLabel: (l, v) => s.namespacesWithLabel(l, v),
    namespacesOf: (gk) => (fail(gk), s.namespacesOf(gk)),
    derived: (key, gk, n, compute) => (fail(gk), s.derived(key, gk, n, compute)),
    derivedAcross: (key, gk, compute) => (fail(gk), s.derivedAcross(key, gk, compute)),
  };
}

export function handScenarios(): HandScenario[] {
  const out: HandScenario[] = [];
  {
    // TG-ENGINE-ERROR: the engine fails on another tenant's object while judging the caller's policy.
    const w = world();
    const culprit = `${T1}-${SECRET}-ns/${SECRET}-trusts-all`;
    const broken: Evaluate = (input, state, config) => evaluate(input, failingPolicies(state, culprit), config);
    out.push({
      rule: 'TG-ENGINE-ERROR',
      aim: "the exception's own words, which can name whatever object the engine was reading (here another tenant's policy)",
      config: base,
      ...w,
      input: inputFor({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'own', namespace: OWN }, spec: { rules: [{ from: [{ source: { namespaces: [OWN] } }] }] } }, BOB),
      evaluate: broken,
      fullNamesSecrets: true,
    });
  }
  {
    // The same failure for a caller of no tenant, writing into a namespace of no tenant.
    const w = world([ns('scratch', undefined)]);
    const culprit = `${T1}-${SECRET}-ns/${SECRET}-deny-hosts`;
    out.push({
      rule: 'TG-ENGINE-ERROR',
      aim: "the exception's own words, read by a caller of no tenant",
      config: base,
      ...w,
      input: inputFor({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'mine', namespace: 'scratch' }, spec: {} }, NOBODY),
      evaluate: (input, state, config) => evaluate(input, failingPolicies(state, culprit), config),
      fullNamesSecrets: true,
    });
  }
  {
    // TG-NS-REVISION-MISMATCH: a tenant namespace labelled with another tenant's control plane; the other tenant's objects in the namespace it holds.
    const w = world();
    out.push({
      rule: 'TG-NS-REVISION-MISMATCH',
      aim: "the revision and the tenant holding it, the namespace written, and (TG-NS-TRUSTED-NAME beside it) the other tenant's policies trusting the name",
      config: withRevisions,
      ...w,
      input: inputFor(ns(`${OWN}-apps`, OWN, { 'istio.io/rev': `rev-${T1}` }), BOB),
    });
  }
  {
    const w = world([pod(`${T1}-${SECRET}-ns`, `${SECRET}-pod`, { 'istio.io/rev': `rev-${T1}` })]);
    out.push({
      rule: 'TG-WORKLOAD-FOREIGN-REVISION',
      aim: "the revision and its tenant; the other tenant's pods of that revision are around",
      config: withRevisions,
      ...w,
      input: inputFor(pod(OWN, 'web', { 'istio.io/rev': `rev-${T1}` }), BOB),
    });
  }
  {
    const w = world([pod(`${T1}-${SECRET}-ns`, `${SECRET}-root-pod`, {}, { name: `${SECRET}-root`, image: 'example.com/app' })]);
    out.push({
      rule: 'TG-WORKLOAD-SETUID',
      aim: "the container of the caller's own pod (rootContainers: deny); another tenant's root containers are around",
      config: { ...base, rootContainers: 'deny' },
      ...w,
      input: inputFor(pod(OWN, 'web', {}, { name: 'app', image: 'example.com/app' }), BOB),
    });
  }
  {
    // The same rule as the patch's warning (rootContainers: drop, the default) on a Deployment.
    const w = world([pod(`${T1}-${SECRET}-ns`, `${SECRET}-root-pod`, {}, { name: `${SECRET}-root`, image: 'example.com/app' })]);
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: OWN },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'example.com/app' }] } } },
    };
    out.push({ rule: 'TG-WORKLOAD-SETUID', aim: 'the patched container (rootContainers: drop), in the warning', config: base, ...w, input: inputFor(deployment, BOB) });
  }
  {
    const w = world([pod(`${T1}-${SECRET}-ns`, `${SECRET}-pod`)]);
    const input: AdmissionInput = {
      operation: 'CONNECT',
      kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
      userInfo: BOB,
      dryRun: false,
      namespace: OWN,
      name: 'web',
      subResource: 'exec',
      object: { apiVersion: 'v1', kind: 'PodExecOptions', container: 'istio-proxy', command: ['sh'] } as unknown as KubeObject,
    };
    w.state.upsert(pod(OWN, 'web'));
    out.push({ rule: 'TG-WORKLOAD-EXEC-PROXY', aim: 'the pod and container the caller names (pods/exec)', config: base, ...w, input });
  }
  {
    const w = world([
      { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: `${SECRET}-filter`, namespace: `${T1}-${SECRET}-ns` }, spec: { configPatches: [] } },
    ]);
    const filter: KubeObject = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'EnvoyFilter',
      metadata: { name: 'tune', namespace: OWN },
      spec: { configPatches: [{ applyTo: 'CLUSTER', patch: { operation: 'MERGE', value: { connect_timeout: '5s' } } }] },
    };
    out.push({
      rule: 'TG-ISTIO-PLATFORM-EXTENSION',
      aim: "the extension written and the tenant whose proxies it reaches; only platform admins draw it, the tenant's same write draws TG-ISTIO-ENVOYFILTER",
      config: base,
      ...w,
      input: inputFor(filter, BOB),
      platformInput: inputFor(filter, PLATFORM_ADMIN),
    });
  }
  {
    const w = world([
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: `${SECRET}-rev-vs`, namespace: `${T1}-${SECRET}-ns`, labels: { 'istio.io/rev': `rev-${T1}` } }, spec: { hosts: [`${SECRET}-rev.example.com`] } },
    ]);
    const vs: KubeObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'route', namespace: OWN, labels: { 'istio.io/rev': `rev-${T1}` } },
      spec: { hosts: [`hello.${OWN}.svc.cluster.local`], exportTo: ['.'], http: [{ route: [{ destination: { host: `hello.${OWN}.svc.cluster.local` } }] }] },
    };
    out.push({
      rule: 'TG-ISTIO-REVISION',
      aim: "the object written, the revision and its tenant; the other tenant's config of that revision is around",
      config: withRevisions,
      ...w,
      input: inputFor(vs, BOB),
    });
  }
  const nodeCIDRs: TenancyConfig = { ...base, clusterNetwork: { ...base.clusterNetwork, nodeCIDRs: ['10.250.0.0/16'] } };
  for (const [rule, config] of [
    ['TG-AUTHZ-DRAIN-PATH', base],
    ['TG-AUTHZ-DRAIN-OPEN', base],
    ['TG-AUTHZ-DRAIN-SOURCE', nodeCIDRs],
  ] as const) {
    const w = world(otherDrain());
    out.push({
      rule,
      aim: "the drain policy written and its rule; the other tenant holds policies of the same shape and the Revision pods they select",
      config,
      ...w,
      input: inputFor(drainPolicy(OWN, 'knative-drain'), BOB),
    });
  }
  const withBaseline: TenancyConfig = { ...base, baseline: { ...base.baseline, enabled: true } };
  {
    // Nothing closes the caller's namespace: the message names the baseline objects missing there.
    const w = world([drainPolicy(`${T1}-${SECRET}-ns`, `${SECRET}-allow`)]);
    out.push({
      rule: 'TG-BASELINE-OPEN-WINDOW',
      aim: "the caller's namespace and its missing baseline objects (baseline.enabled); the other tenant's namespaces hold their policies",
      config: withBaseline,
      ...w,
      input: inputFor(pod(OWN, 'web'), BOB),
    });
  }
  {
    // A caller of no tenant, into a namespace the state has not seen yet.
    const w = world([drainPolicy(`${T1}-${SECRET}-ns`, `${SECRET}-allow`)]);
    out.push({
      rule: 'TG-BASELINE-OPEN-WINDOW',
      aim: 'the namespace the caller names, not yet known (a caller of no tenant)',
      config: withBaseline,
      ...w,
      input: inputFor(pod('fresh', 'web'), NOBODY),
    });
  }
  {
    // The caller's namespace is closed but its tenant's pin on the activator is missing: the message names the platform's pin;
    // the other tenant's pin is in place and its namespaces are closed.
    const closedBy = (namespace: string, name: string): KubeObject => ({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name, namespace },
      spec: { rules: [{ from: [{ source: { namespaces: [namespace] } }] }] },
    });
    const w = world([closedBy(`${T1}-${SECRET}-ns`, `${SECRET}-closes`), closedBy(OWN, 'own-allow')]);
    out.push({
      rule: 'TG-BASELINE-OPEN-WINDOW',
      aim: "the tenant's own (missing) activator pin, a platform object",
      config: withBaseline,
      ...w,
      input: inputFor(pod(OWN, 'web'), BOB),
    });
  }
  // Rules whose docs/rules.md example is a platform admin's write: the same write by a tenant.
  {
    const w = world();
    out.push({
      rule: 'TG-NS-SYSTEM-TENANT-LABEL',
      aim: 'the system namespace written and the tenant named in its label',
      config: base,
      ...w,
      input: inputFor(ns('knative-serving', OWN), BOB, 'UPDATE', ns('knative-serving', undefined)),
    });
  }
  {
    const w = world();
    out.push({
      rule: 'TG-NS-TENANT-LABEL-CONFLICT',
      aim: "the namespace written, the tenant the config lists it under and the tenant its label names; the other tenant's policies trusting the name are around",
      config: base,
      ...w,
      input: inputFor(ns(OWN, T1), BOB, 'UPDATE', ns(OWN, OWN)),
    });
  }
  {
    const w = world();
    out.push({
      rule: 'TG-NS-INJECTION-DISABLED',
      aim: "the namespace written and its tenant; the other tenant's policies trusting every name are around (TG-NS-TRUSTED-NAME)",
      config: base,
      ...w,
      input: inputFor(ns(`${OWN}-batch`, OWN, { 'istio-injection': 'disabled' }), BOB),
    });
  }
  {
    const w = world();
    out.push({
      rule: 'TG-PEERAUTHN-MESH-STRICT',
      aim: "the mesh root policy written; the other tenant's PeerAuthentications are around",
      config: base,
      ...w,
      input: inputFor({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: base.meshRootNamespace }, spec: { mtls: { mode: 'PERMISSIVE' } } }, BOB),
    });
  }
  {
    const w = world();
    const gateway: KubeObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'knative-local-gateway', namespace: OWN },
      spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8081, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
    };
    out.push({
      rule: 'TG-ISTIO-LOCAL-GATEWAY-MTLS',
      aim: "the Gateway written (named knative-local-gateway in the caller's namespace); the other tenant's Gateway is around",
      config: base,
      ...w,
      input: inputFor(gateway, BOB),
    });
  }
  return out;
}

/** Whether `d` draws `rule` (a violation, a warning, or a violation the enforcement relaxed). */
export function draws(d: Decision, rule: string): boolean {
  return d.violations.some((v) => v.rule === rule) || d.warnings.some((w) => w.includes(rule)) || (d.relaxed?.some((v) => v.rule === rule) ?? false);
}

/** The full decision as `check` prints it. */
export function fullText(d: Decision): string {
  return [...d.violations.map((v) => `${v.rule} ${v.message}`), ...d.warnings].join('\n');
}
