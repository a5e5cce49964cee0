// The stateless rules in CEL: what the API server checks by itself through
// ValidatingAdmissionPolicies, with the webhook's rule ids, whether or not the
// webhook answers.
//
// Each entry is the CEL form of a rule whose TypeScript form lives in
// src/engine (named beside it). The value lists (capture knobs, proxy
// override annotations, Istio's container names, capabilities, inject values)
// are imported from the engine files, so a list changed there changes here;
// the capture knobs carry their CEL test next to their TypeScript test
// (sidecar-metadata-checks.ts CAPTURE_KNOBS). test/unit/vap runs every docs
// example through both, and the e2e differential test
// (test/e2e/vap-differential.test.ts) compares the API server's verdicts with
// the engine's on generated objects.
//
// A rule is compiled only where the engine decides it from the object, its
// namespace's labels and the tenancy config alone. What needs more cluster
// state (AuthorizationPolicy reachability, trusted names, the open window,
// the last ALLOW, PeerAuthentication weakening, revisions of other tenants)
// stays with the webhook: see UNCOMPILED below and docs/rules.md.
//
// Semantics shared by every workload rule (src/engine/workload-findings.ts
// workloadScope): enforced in tenant namespaces (listed in the config, or
// carrying the tenant label with a non-empty value; never a system
// namespace), for every identity but the platform controllers, which the
// policies skip through matchConditions (the engine only warns them).

import { CAPTURE_KNOBS, GATEWAY_NAME_LABELS, INJECT_KEY, INJECT_VALUES, PROXY_OVERRIDES, SIDECAR_TEMPLATE, STATUS_KEY, TEMPLATES_KEY, TRAFFIC_PREFIX } from '../engine/sidecar-metadata-checks.js';
import { INGRESS_CLASS_KEY, ISTIO_INGRESS_CLASS } from '../engine/knative.js';
import { ISTIO_INJECTED_NAMES } from '../engine/sidecar-injection-status.js';
import { ALLOWED_ADDED_CAPS, ISTIO_CONTAINERS, NET_ADMIN_CAPS, PROXY_ID } from '../engine/sidecar-podspec-checks.js';
import { celList, celString } from './cel.js';

/** One ValidatingAdmissionPolicy per kind family. */
export type Family = 'workloads' | 'peer-authentication' | 'destination-rule';

export interface CelVariable {
  name: string;
  expression: string;
}

export interface CelRule {
  /** The engine's rule id (the message starts with it). */
  id: string;
  family: Family;
  /** True when the object is allowed. */
  expression: string;
  /** What is wrong, as one sentence (the message's middle). */
  problem: string;
  /** How to fix it (the message's end). */
  fix: string;
  /** The part of the engine's rule that stays webhook-only, if any. */
  webhookOnly?: string;
}

const WORKLOAD_KINDS_NOTE = 'Pod, ReplicationController, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Knative Service/Configuration/Revision/Route/DomainMapping';

/** `params.data.<key>` as a list (the ConfigMap holds lists one item a line). */
function paramList(key: string): string {
  return `params.data.${key}.split('\\n')`;
}

/** The namespace belongs to a tenant (Tenancy.tenantOf, without the cluster state: from namespaceObject). */
const TENANT_NAMESPACE =
  `(namespaceObject.metadata.name in ${paramList('tenantNamespaces')} || ` +
  `namespaceObject.metadata.?labels[?params.data.tenantLabel].orValue('') != '')`;

/** The request is a platform controller's and not a platform admin's (Tenancy.actor). */
export const PLATFORM_CONTROLLER_ONLY =
  `!(request.userInfo.username in ${paramList('platformAdminUsers')} || request.userInfo.groups.exists(g, g in ${paramList('platformAdminGroups')})) && ` +
  `(request.userInfo.username in ${paramList('platformControllerUsers')} || request.userInfo.groups.exists(g, g in ${paramList('platformControllerGroups')}))`;

/** Upper case, CAP_ prefix removed: sidecar-podspec-checks.ts capabilityName. */
function capName(x: string): string {
  return `(${x}.upperAscii().startsWith('CAP_') ? ${x}.upperAscii().substring(4) : ${x}.upperAscii())`;
}

export const WORKLOAD_VARIABLES: CelVariable[] = [
  { name: 'systemNamespaces', expression: paramList('systemNamespaces') },
  { name: 'enforced', expression: `!(namespaceObject.metadata.name in variables.systemNamespaces) && ${TENANT_NAMESPACE}` },
  // Where the pod's metadata and spec are (pod.ts, knative.ts handlers).
  {
    name: 'pod',
    expression: "object.kind == 'CronJob' ? object.spec.?jobTemplate.?spec.?template.orValue({}) : (object.kind in ['Pod', 'Revision'] ? object : object.spec.?template.orValue({}))",
  },
  { name: 'labels', expression: 'variables.pod.?metadata.?labels.orValue({})' },
  // Knative labels a revision's pods app: <revision name> unless the template sets app (knative.ts implicitRevisionLabels).
  {
    name: 'implicitApp',
    expression: "object.apiVersion.startsWith('serving.knative.dev/') && !('app' in variables.labels) ? variables.pod.?metadata.?name.orValue('') : ''",
  },
  { name: 'annotations', expression: 'variables.pod.?metadata.?annotations.orValue({})' },
  { name: 'spec', expression: 'variables.pod.?spec.orValue({})' },
  // Istio's injected containers, exempt on Pods (sidecar-injection-status.ts).
  // The webhook verifies the status against the containers
  // (TG-POD-INJECTION-STATUS); here a container is exempt when it has one of
  // Istio's names and the status names it.
  {
    name: 'injected',
    expression:
      `object.kind == 'Pod' && ${celString(STATUS_KEY)} in variables.annotations ? ` +
      `${celList([...ISTIO_INJECTED_NAMES].sort())}.filter(n, variables.annotations[${celString(STATUS_KEY)}].contains('"' + n + '"')) : []`,
  },
  {
    name: 'containers',
    expression:
      "(variables.spec.?initContainers.orValue([]) + variables.spec.?containers.orValue([]) + variables.spec.?ephemeralContainers.orValue([]))" +
      ".filter(c, !(c.?name.orValue('') in variables.injected))",
  },
  { name: 'subject', expression: "object.kind + ' ' + object.metadata.?name.orValue(object.metadata.?generateName.orValue(''))" },
];

function enforced(ok: string): string {
  return `!variables.enforced || (${ok})`;
}

const INJECT_OK = (m: string): string => `!(${celString(INJECT_KEY)} in ${m}) || ${m}[${celString(INJECT_KEY)}].lowerAscii() in ${celList([...INJECT_VALUES])}`;

/** The capture knobs' CEL tests, one chained conditional over the annotation `k` with value `v`. */
function captureOk(): string {
  let expr = `!k.startsWith(${celString(TRAFFIC_PREFIX)})`;
  for (const knob of [...CAPTURE_KNOBS].reverse()) expr = `k == ${celString(knob.key)} ? (${knob.cel.replace(/\bv\b/g, 'variables.annotations[k]')}) : ${expr}`;
  return `variables.annotations.all(k, ${expr})`;
}

const WORKLOAD_RULES: CelRule[] = [
  {
    id: 'TG-WORKLOAD-INJECT-OPTOUT',
    family: 'workloads',
    expression: enforced(
      [INJECT_OK('variables.labels'), INJECT_OK('variables.annotations'), `!(object.kind in ['Service', 'Configuration']) || ((${INJECT_OK('object.metadata.?labels.orValue({})')}) && (${INJECT_OK('object.metadata.?annotations.orValue({})')}))`]
        .map((e) => `(${e})`)
        .join(' && '),
    ),
    problem: `${INJECT_KEY} opts the pod out of Istio sidecar injection: without a sidecar it takes plaintext from every tenant`,
    fix: `remove ${INJECT_KEY} or set it to "true"`,
  },
  {
    id: 'TG-WORKLOAD-CAPTURE-BYPASS',
    family: 'workloads',
    expression: enforced(captureOk()),
    problem: 'a traffic-capture annotation narrows what the sidecar captures (an unknown traffic.sidecar.istio.io/* too); uncaptured traffic skips mTLS and AuthorizationPolicy',
    fix: 'remove the annotation',
  },
  {
    id: 'TG-WORKLOAD-PROXY-OVERRIDE',
    family: 'workloads',
    expression: enforced(
      `!variables.annotations.exists(k, k in ${celList(Object.keys(PROXY_OVERRIDES))}) && ` +
        `(!(${celString(TEMPLATES_KEY)} in variables.annotations) || variables.annotations[${celString(TEMPLATES_KEY)}].split(',').all(t, t.trim() == '' || t.trim() == ${celString(SIDECAR_TEMPLATE)})) && ` +
        `(object.kind == 'Pod' || !(${celString(STATUS_KEY)} in variables.annotations))`,
    ),
    problem: 'an annotation replaces part of the injected proxy (image, bootstrap, volumes, discovery address, overrides, injection template, or a user-written sidecar.istio.io/status)',
    fix: 'remove the annotation',
    webhookOnly: 'the content of `proxy.istio.io/config` (YAML, which CEL cannot parse)',
  },
  {
    id: 'TG-WORKLOAD-RESERVED-CONTAINER',
    family: 'workloads',
    expression: enforced(`variables.containers.all(c, !(c.?name.orValue('') in ${celList([...ISTIO_CONTAINERS])}))`),
    problem: 'a user container has the name of one of Istio\'s injected containers, which Istio merges into its own',
    fix: 'rename the container',
  },
  {
    id: 'TG-WORKLOAD-PROXY-UID',
    family: 'workloads',
    expression: enforced(
      `variables.spec.?securityContext.?runAsUser.orValue(0) != ${PROXY_ID} && variables.spec.?securityContext.?runAsGroup.orValue(0) != ${PROXY_ID} && ` +
        `variables.containers.all(c, c.?securityContext.?runAsUser.orValue(0) != ${PROXY_ID} && c.?securityContext.?runAsGroup.orValue(0) != ${PROXY_ID})`,
    ),
    problem: `runAsUser or runAsGroup is ${PROXY_ID}, the Istio proxy's id whose traffic istio-iptables does not capture`,
    fix: `use any other UID/GID than ${PROXY_ID}`,
    webhookOnly: "OpenShift's per-namespace proxy id (the last id of openshift.io/sa.scc.uid-range)",
  },
  {
    id: 'TG-WORKLOAD-NET-ADMIN',
    family: 'workloads',
    expression: enforced(
      `variables.containers.all(c, c.?securityContext.?privileged.orValue(false) != true && ` +
        `c.?securityContext.?capabilities.?add.orValue([]).all(x, !(${capName('x')} in ${celList([...NET_ADMIN_CAPS])})))`,
    ),
    problem: 'a user container is privileged or adds NET_ADMIN/ALL, which can flush the capture rules of the pod',
    fix: 'remove privileged and the capability',
  },
  {
    id: 'TG-WORKLOAD-HOST-NETWORK',
    family: 'workloads',
    expression: enforced('variables.spec.?hostNetwork.orValue(false) != true'),
    problem: 'hostNetwork: true: Istio does not inject host-network pods',
    fix: 'remove hostNetwork',
  },
  {
    id: 'TG-WORKLOAD-GATEWAY-LABEL',
    family: 'workloads',
    // checkGatewayNameLabel: a gateway-name label, or every label of a shared proxy's selector (params.data.gatewaySelector: one selector a line, `key=value` pairs joined by `,`).
    expression: enforced(
      `!variables.labels.exists(k, k in ${celList(GATEWAY_NAME_LABELS)}) && ` +
        "!params.data.gatewaySelector.split('\\n').exists(sel, sel != '' && sel.split(',').all(l, " +
        "(l.substring(0, l.indexOf('=')) in variables.labels && variables.labels[l.substring(0, l.indexOf('='))] == l.substring(l.indexOf('=') + 1)) || " +
        "(l.substring(0, l.indexOf('=')) == 'app' && variables.implicitApp != '' && variables.implicitApp == l.substring(l.indexOf('=') + 1))))",
    ),
    problem:
      "the pod claims to be a gateway's proxy (a Gateway API gateway-name label, or every label of a shared proxy's selector, config baseline.gatewayPolicy.selector or sharedHops labels), taking that proxy's policies instead of the tenant's",
    fix: 'remove the label, or use other labels',
  },
  {
    id: 'TG-WORKLOAD-HOST-PATH',
    family: 'workloads',
    expression: enforced('variables.spec.?volumes.orValue([]).all(v, !has(v.hostPath))'),
    problem: "a hostPath volume mounts the node, which holds every pod's mesh credentials",
    fix: 'use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim',
  },
  {
    id: 'TG-WORKLOAD-HOST-NAMESPACES',
    family: 'workloads',
    expression: enforced('variables.spec.?hostPID.orValue(false) != true && variables.spec.?hostIPC.orValue(false) != true'),
    problem: "hostPID or hostIPC shares the node's process or IPC namespace with other tenants' proxies",
    fix: 'remove hostPID and hostIPC',
  },
  {
    id: 'TG-WORKLOAD-CAPABILITIES',
    family: 'workloads',
    expression: enforced(
      `variables.containers.all(c, c.?securityContext.?capabilities.?add.orValue([]).all(x, ${capName('x')} in ${celList([...ALLOWED_ADDED_CAPS, ...NET_ADMIN_CAPS])}))`,
    ),
    problem: 'a user container adds a capability beyond NET_BIND_SERVICE',
    fix: 'remove the capability',
  },
  {
    id: 'TG-KNATIVE-INGRESS-CLASS',
    family: 'workloads',
    // knative.ts checkIngressClass: Service, Route and DomainMapping (not Configuration or Revision).
    expression: enforced(
      `!(object.kind in ['Service', 'Route', 'DomainMapping']) || object.metadata.?annotations[?${celString(INGRESS_CLASS_KEY)}].orValue(${celString(ISTIO_INGRESS_CLASS)}) == ${celString(ISTIO_INGRESS_CLASS)}`,
    ),
    problem: `${INGRESS_CLASS_KEY} routes the service through an ingress other than Istio's, outside the mesh policies the tenants rely on`,
    fix: `remove the annotation or set it to "${ISTIO_INGRESS_CLASS}"`,
  },
];

export const PEER_AUTHENTICATION_VARIABLES: CelVariable[] = [
  { name: 'root', expression: 'namespaceObject.metadata.name == params.data.meshRootNamespace' },
  // isGuarded in peer-authentication.ts: system namespaces and tenant namespaces.
  { name: 'guarded', expression: `!variables.root && (namespaceObject.metadata.name in ${paramList('systemNamespaces')} || ${TENANT_NAMESPACE})` },
  // mtlsMode(): absent or empty is UNSET.
  { name: 'mode', expression: "object.spec.?mtls.?mode.orValue('') == '' ? 'UNSET' : object.spec.mtls.mode" },
  { name: 'ports', expression: 'object.spec.?portLevelMtls.orValue({})' },
  { name: 'subject', expression: "'PeerAuthentication ' + object.metadata.?name.orValue('')" },
];

const PEER_AUTHENTICATION_RULES: CelRule[] = [
  {
    id: 'TG-PEERAUTHN-MESH-STRICT',
    family: 'peer-authentication',
    expression: "!variables.root || (variables.mode == 'STRICT' && variables.ports.all(p, variables.ports[p].?mode.orValue('') == 'STRICT'))",
    problem: 'a PeerAuthentication in the mesh root namespace is not STRICT (UNSET there means PERMISSIVE for the whole mesh)',
    fix: 'set spec.mtls.mode and every port to STRICT',
  },
  {
    id: 'TG-PEERAUTHN-MODE',
    family: 'peer-authentication',
    expression: "!variables.guarded || variables.mode in ['STRICT', 'UNSET']",
    problem: 'mtls mode PERMISSIVE or DISABLE accepts plaintext callers without a mesh identity',
    fix: 'use STRICT (or UNSET to inherit STRICT)',
  },
  {
    id: 'TG-PEERAUTHN-PORT-MODE',
    family: 'peer-authentication',
    expression:
      "!variables.guarded || variables.ports.all(p, variables.ports[p].?mode.orValue('') in ['', 'STRICT', 'UNSET'] || " +
      `(variables.ports[p].?mode.orValue('') == 'PERMISSIVE' && p in ${paramList('drainPorts')}))`,
    problem: 'a port accepts plaintext callers (only PERMISSIVE on a configured drain port is tolerated)',
    fix: 'use STRICT or UNSET for the port',
  },
];

export const DESTINATION_RULE_VARIABLES: CelVariable[] = [
  // isMeshHost() in istio-hosts.ts: lower case, one trailing dot removed.
  { name: 'host', expression: "object.spec.?host.orValue('').lowerAscii()" },
  { name: 'h', expression: "variables.host.endsWith('.') ? variables.host.substring(0, size(variables.host) - 1) : variables.host" },
  {
    name: 'meshHost',
    expression:
      "variables.h == '' || variables.h == '*' || !variables.h.contains('.') || variables.h.contains('.svc.') || variables.h.endsWith('.svc') || " +
      "(variables.h.startsWith('*.') && variables.h.substring(2) in ['svc.cluster.local', 'cluster.local', 'local'])",
  },
  // tlsSites() in destination-rule.ts: the top-level policy and each subset's, with their portLevelSettings.
  { name: 'policies', expression: '[object.spec.?trafficPolicy.orValue({})] + object.spec.?subsets.orValue([]).map(s, s.?trafficPolicy.orValue({}))' },
  { name: 'subject', expression: "'DestinationRule ' + object.metadata.?name.orValue('')" },
];

const DESTINATION_RULE_RULES: CelRule[] = [
  {
    id: 'TG-DESTRULE-TLS-MODE',
    family: 'destination-rule',
    expression:
      "!variables.meshHost || variables.policies.all(p, (!has(p.tls) || p.tls.?mode.orValue('') == 'ISTIO_MUTUAL') && " +
      "p.?portLevelSettings.orValue([]).all(s, !has(s.tls) || s.tls.?mode.orValue('') == 'ISTIO_MUTUAL'))",
    problem: 'tls mode DISABLE, SIMPLE or MUTUAL (or a tls block without mode) toward an in-mesh host replaces the mesh identity the tenant policies rely on',
    fix: 'use mode ISTIO_MUTUAL or drop the tls block',
  },
];

export const CEL_RULES: CelRule[] = [...WORKLOAD_RULES, ...PEER_AUTHENTICATION_RULES, ...DESTINATION_RULE_RULES];

/**
 * Stateless rules that are not compiled, and why: they stay with the webhook.
 * Every other rule needs cluster state beyond the object and its namespace.
 */
export const UNCOMPILED: Record<string, string> = {
  'TG-WORKLOAD-SETUID': 'with rootContainers: drop (the default) the webhook patches the container instead of refusing it; a policy cannot do the same',
  'TG-WORKLOAD-FOREIGN-REVISION': "needs every tenant's revision",
  'TG-POD-INJECTION-STATUS': 'needs the status annotation parsed as JSON',
};

export interface FamilySpec {
  family: Family;
  /** What the family covers, for the docs. */
  kinds: string;
  resourceRules: { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations: string[] }[];
  variables: CelVariable[];
  /** Platform controllers skip the policy (the engine warns them). */
  exemptControllers: boolean;
}

const WRITE = ['CREATE', 'UPDATE'];

export const FAMILIES: FamilySpec[] = [
  {
    family: 'workloads',
    kinds: WORKLOAD_KINDS_NOTE,
    resourceRules: [
      { apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'], operations: WRITE },
      { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], operations: WRITE },
      { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'], operations: WRITE },
      { apiGroups: ['serving.knative.dev'], apiVersions: ['*'], resources: ['services', 'configurations', 'revisions', 'routes', 'domainmappings'], operations: WRITE },
    ],
    variables: WORKLOAD_VARIABLES,
    exemptControllers: true,
  },
  {
    family: 'peer-authentication',
    kinds: 'security.istio.io PeerAuthentication',
    resourceRules: [{ apiGroups: ['security.istio.io'], apiVersions: ['*'], resources: ['peerauthentications'], operations: WRITE }],
    variables: PEER_AUTHENTICATION_VARIABLES,
    // Applies to every identity, as in the engine.
    exemptControllers: false,
  },
  {
    family: 'destination-rule',
    kinds: 'networking.istio.io DestinationRule',
    resourceRules: [{ apiGroups: ['networking.istio.io'], apiVersions: ['*'], resources: ['destinationrules'], operations: WRITE }],
    variables: DESTINATION_RULE_VARIABLES,
    exemptControllers: true,
  },
];

/** The message: rule id first (as the webhook's), the subject, the problem and the fix. */
export function messageExpression(rule: CelRule): string {
  return `${celString(rule.id + ': ')} + variables.subject + ${celString(`: ${rule.problem}. Fix: ${rule.fix}. (tenant-guard ValidatingAdmissionPolicy)`)}`;
}
