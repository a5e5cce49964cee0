import type { ClusterState, GroupKind } from '../cluster/state.js';
import { groupKind } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { authorizationPolicyModule } from './authorization-policy.js';
import { baselineManagedRules, checkManagedBaselineWrite } from './baseline-managed.js';
import { baselineWindowRules, checkOpenWindow } from './baseline-window.js';
import { checkForeignNamespaceWrite, checkSystemNamespaceWrite, commonRules } from './common.js';
import type { KindHandler, RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder, notIntercepted, withoutPatchWarnings } from './decision.js';
import { destinationRuleModule } from './destination-rule.js';
import { istioNetworkingModule } from './istio-networking.js';
import { knativeModule } from './knative.js';
import { namespaceModule } from './namespace.js';
import { peerAuthenticationModule } from './peer-authentication.js';
import { podConnectHandlers, podModule } from './pod.js';
import { serviceAliasModule } from './service-aliases.js';
import { Tenancy } from '../tenancy/tenancy.js';
import { admittedHandler, gatewayApiRules, listenerSetHandler, routeHandler } from './gateway-api.js';
import { ingressHandler, ingressRules } from './k8s-ingress.js';
import { proxyConfigHandler, proxyConfigRules, telemetryHandler, workloadGroupHandler } from './istio-proxy-config.js';
import { isMeshGroup, KIND_TABLE } from './mesh-kinds.js';
import { statusWriteHandler, unjudgedKindHandler, unjudgedKindRules } from './unjudged-kinds.js';
import type { AdmissionInput, Decision, Violation } from './types.js';
import { FieldShapeError } from './field-shape-error.js';
import { msg, withheld, type MessageText } from '../kube/message-text.js';
import { ENGINE_ERROR_WITHHELD } from './audience.js';

export type { AdmissionInput, Decision } from './types.js';

const GW = (kind: string) => groupKind('gateway.networking.k8s.io', kind);

/** The kinds of the mesh-affecting groups judged here rather than in a module of their own (src/engine/mesh-kinds.ts lists them all). */
const meshKindsModule: RuleModule = {
  handlers: {
    [groupKind('networking.istio.io', 'ProxyConfig')]: proxyConfigHandler,
    [groupKind('networking.istio.io', 'WorkloadGroup')]: workloadGroupHandler,
    [groupKind('telemetry.istio.io', 'Telemetry')]: telemetryHandler,
    [groupKind('networking.k8s.io', 'Ingress')]: ingressHandler,
    [groupKind('networking.k8s.io', 'NetworkPolicy')]: admittedHandler,
    [GW('HTTPRoute')]: routeHandler,
    [GW('GRPCRoute')]: routeHandler,
    [GW('TCPRoute')]: routeHandler,
    [GW('TLSRoute')]: routeHandler,
    [GW('UDPRoute')]: routeHandler,
    [GW('ListenerSet')]: listenerSetHandler,
    [GW('ReferenceGrant')]: admittedHandler,
  },
  rules: [...proxyConfigRules, ...ingressRules, ...gatewayApiRules],
};

const modules: RuleModule[] = [
  namespaceModule,
  knativeModule,
  podModule,
  peerAuthenticationModule,
  destinationRuleModule,
  istioNetworkingModule,
  authorizationPolicyModule,
  serviceAliasModule,
  meshKindsModule,
];

const JUDGED_SUBRESOURCES = new Set(['Pod/ephemeralcontainers', 'PodExecOptions/exec', 'PodAttachOptions/attach']);

// CONNECT requests carry the subresource's options as their kind and object
// (request.kind v1/PodExecOptions for pods/exec); they are no stored kind, so
// they are kept out of interceptedKinds() (audit lists those).
const connectHandlers = new Map<GroupKind, KindHandler>(Object.entries(podConnectHandlers));

const handlers = new Map<GroupKind, KindHandler>();
for (const m of modules) for (const [gk, h] of Object.entries(m.handlers)) handlers.set(gk, h);

/** Every rule the engine enforces, in documentation order. */
export const ruleCatalog: RuleDoc[] = [...commonRules, ...modules.flatMap((m) => m.rules), ...baselineManagedRules, ...baselineWindowRules, ...unjudgedKindRules];

/** The group/kinds some rule looks at (the webhook configurations route exactly these). */
export function interceptedKinds(): GroupKind[] {
  return [...handlers.keys()];
}

export function isIntercepted(group: string, kind: string): boolean {
  return handlers.has(groupKind(group, kind)) || isMeshGroup(group);
}

const tabledKinds = new Set<GroupKind>(KIND_TABLE.map((r) => groupKind(r.group, r.kind)));

/**
 * Whether a kind is one of a fixed set: judged by a rule or listed in the kind
 * table. isIntercepted also holds for any kind name of a mesh group (refused as
 * unjudged), which a client may make up per request: metric labels use this.
 */
export function isNamedKind(group: string, kind: string): boolean {
  const gk = groupKind(group, kind);
  return handlers.has(gk) || tabledKinds.has(gk);
}

/** The handler of a request: its kind's, the closed-world refusal for the other kinds and the status of the mesh groups, or none. */
function handlerFor(input: AdmissionInput, gk: GroupKind): KindHandler | undefined {
  if (input.operation === 'CONNECT') return connectHandlers.get(gk);
  // Subresources (status, scale) are written by controllers; rules judge the
  // main resource. `kubectl debug` adds containers through pods/ephemeralcontainers,
  // which is judged like the Pod itself (a debug container running as UID 1337
  // would escape the sidecar's capture). A status write of a mesh group's kind
  // changes routing (Knative and Istio controllers act on status): refused to tenants.
  if (input.subResource) {
    if (JUDGED_SUBRESOURCES.has(`${input.kind.kind}/${input.subResource}`)) return handlers.get(gk);
    return input.subResource === 'status' && isMeshGroup(input.kind.group) ? statusWriteHandler : undefined;
  }
  return handlers.get(gk) ?? (isMeshGroup(input.kind.group) ? unjudgedKindHandler : undefined);
}

function engineError(message: string | MessageText): Decision {
  const violation: Violation = typeof message === 'string' ? { rule: 'TG-ENGINE-ERROR', path: '', message } : { rule: 'TG-ENGINE-ERROR', path: '', message: message.toString(), text: message };
  return {
    allowed: false,
    intercepted: true,
    violations: [violation],
    warnings: [],
    patch: [],
  };
}

export interface EvaluateOptions {
  /**
   * Offline (`tenant-guard check`): the baseline tenant-guard's controllers
   * keep in every tenant namespace is taken as present, as the reachability
   * model takes it (src/mesh/mesh-state.ts), so TG-BASELINE-OPEN-WINDOW is
   * not raised for a namespace only the manifests create. The webhook never
   * sets it: in a cluster the window is real.
   */
  baselineAssumed?: boolean;
}

/**
 * The engine: `(request, state, config) -> decision`. Never throws: a request
 * it cannot judge is denied with the reason (fail closed).
 */
export function evaluate(input: AdmissionInput, state: ClusterState, config: TenancyConfig, options: EvaluateOptions = {}): Decision {
  const gk = groupKind(input.kind.group, input.kind.kind);
  // pods/exec and pods/attach (CONNECT) are judged for the container they enter.
  const handler = handlerFor(input, gk);
  if (!handler) return notIntercepted();
  const subject = input.operation === 'DELETE' ? input.oldObject ?? input.object : input.object;
  // CONNECT carries the subresource's options (PodExecOptions), not an object with metadata.
  if (input.operation !== 'DELETE' && input.operation !== 'CONNECT' && (!subject || typeof subject !== 'object' || typeof subject.metadata !== 'object' || subject.metadata === null)) {
    return engineError(`the ${input.kind.kind} in the request has no metadata; cannot judge it, so it is denied`);
  }
  try {
    const tenancy = new Tenancy(config, state);
    const ctx: RuleContext = { input, state, config, tenancy, actor: tenancy.actor(input.userInfo) };
    const pre = new DecisionBuilder();
    checkSystemNamespaceWrite(ctx, pre);
    checkForeignNamespaceWrite(ctx, pre);
    checkManagedBaselineWrite(ctx, pre);
    if (!options.baselineAssumed) checkOpenWindow(ctx, pre);
    const d = handler(ctx);
    if (!pre.hasViolations()) return d;
    const common = pre.build();
    const held = d.allowed ? d.patch : d.heldPatch;
    const out: Decision = { ...d, allowed: false, violations: [...common.violations, ...d.violations], warnings: withoutPatchWarnings(d.warnings), patch: [] };
    if (held && held.length > 0) out.heldPatch = held;
    else delete out.heldPatch;
    return out;
  } catch (e) {
    // An exception's words can name whatever the engine was reading, another tenant's policy included: only a
    // field-shape error of the judged object (a path, no value) is shown to every caller; the full message goes
    // to platform readers and the server's debug log.
    const why = e instanceof FieldShapeError ? describeError(e) : withheld(describeError(e), ENGINE_ERROR_WITHHELD);
    return engineError(msg`could not judge ${input.kind.kind} ${input.namespace ? input.namespace + '/' : ''}${input.name ?? ''}: ${why}; denied (fail closed)`);
  }
}
