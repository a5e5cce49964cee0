import type { Value } from './formula.js';
import { principalOf } from './istio-match.js';
import type { MeshState } from './mesh-state.js';
import { ACTIVATOR, NAMESPACE_HEADER, QUEUE_PROXY_PORTS, REVISION_POD_PORTS } from './platform.js';
import type { ParsedPolicy, Workload } from './policy.js';
export { rulesRoutableTo } from './routing-pins.js';

// Knative's four data paths into a revision pod, as the hops a request
// crosses and the policies that decide at each (see
// test/fixtures/reference/README.md and docs/authorization-policy.md).

export type DataPath = 'direct' | 'activator' | 'gateway-activator' | 'gateway';

export const DATA_PATHS: DataPath[] = ['direct', 'activator', 'gateway-activator', 'gateway'];

/**
 * The callers a check is about. `foreign` is the symbolic caller: any
 * workload, under any service account, in any namespace that `tenant` does
 * not own and does not peer with, whether it exists today or is created
 * tomorrow (ownership.ts). `namespaces` is a concrete set (one tenant's
 * namespaces, for a row of the matrix).
 */
export type CallerSet =
  | { kind: 'foreign'; tenant: string; onlyUnlisted?: boolean }
  | { kind: 'namespaces'; namespaces: string[] };

/** Who sends the request into a hop. */
export type Caller =
  /** The attacker: any identity of `callers`, or none at all where the hop accepts plaintext. */
  | { kind: 'attacker'; callers: CallerSet; noIdentityOnly: boolean }
  /** A platform proxy forwarding with its own mTLS identity. */
  | { kind: 'forwarder'; principal: string; name: string };

export interface Hop {
  label: string;
  workload: Workload;
  /** PeerAuthentication applies (sidecars); gateways terminate TLS per their Gateway servers. */
  sidecar: boolean;
  caller: Caller;
  ports: string[];
  /** The caller may pick any port (a pod reached directly); drain ports excluded. */
  freePort: boolean;
  /** Headers set on the way to this hop, whatever the caller sent. */
  headerOverrides: Map<string, string>;
  allow: ParsedPolicy[];
  deny: ParsedPolicy[];
}

/** One way a request can travel along a data path. */
export interface Route {
  hops: Hop[];
  /** The Host must route to this namespace (Host-based routing); otherwise any Host. */
  hostRoutedTo?: string;
  /** Request headers the route needs the caller to send as given (undefined: absent). */
  callerHeaders: Map<string, Value>;
  note: string;
  trustDomain: string;
}

/** A namespace whose revision pods are the target of a check. */
export interface Target {
  namespace: string;
  tenant: string;
}

function activatorPrincipal(m: MeshState): string {
  return principalOf(m.config.trustDomain, ACTIVATOR.namespace, ACTIVATOR.serviceAccount);
}

function gatewayPrincipal(m: MeshState): string {
  return principalOf(m.config.trustDomain, m.gateway.workload.namespace, 'istio-ingressgateway-service-account');
}

function hop(m: MeshState, label: string, workload: Workload, caller: Caller, ports: string[], freePort: boolean, overrides: Map<string, string>, sidecar = true, routedTo?: string, hostRouted = false): Hop {
  const { allow, deny } = routedTo === undefined ? m.enforced(workload) : m.activatorEnforced(workload, routedTo, hostRouted);
  return { label, workload, sidecar, caller, ports, freePort, headerOverrides: overrides, allow, deny };
}

/** A platform hop's name, with the labels the model assumed beyond its known ones. */
function platformLabel(name: string, known: Record<string, string>, labels: Record<string, string>): string {
  const extra = Object.fromEntries(Object.entries(labels).filter(([k]) => !(k in known)));
  return Object.keys(extra).length > 0 ? `${name} (if it also carries ${JSON.stringify(extra)})` : name;
}

/**
 * The ways a caller of `callers` can reach a revision pod (labels `labels`)
 * of the target namespace along `path`:
 * - direct: straight to the pod (pod IP or `<rev>-private`), any port but the
 *   drain ports, any Host;
 * - activator: the activator takes the revision from the
 *   `Knative-Serving-Namespace`/`-Revision` headers and falls back to the
 *   Host only when they are missing (knative/serving
 *   pkg/activator/handler/context_handler.go), then calls the revision with
 *   its own identity. So a caller names the target by header with ANY Host,
 *   or by a Host of the target without the header;
 * - gateway-activator / gateway: a caller with a sidecar never reaches
 *   knative-local-gateway with a Knative Host: net-istio binds the
 *   cluster-local VirtualService to the `mesh` gateway too, so the caller's
 *   own sidecar routes it (to the activator, or to the pod) with the caller's
 *   identity, setting `knative-serving-namespace`. A caller without identity
 *   (plaintext) reaches the gateway if the gateway accepts it; the gateway
 *   then forwards with its own identity.
 */
export function routesFor(m: MeshState, path: DataPath, callers: CallerSet, ns: string, labels: Record<string, string>): Route[] {
  const attacker: Caller = { kind: 'attacker', callers, noIdentityOnly: false };
  const plaintext: Caller = { kind: 'attacker', callers, noIdentityOnly: true };
  const activator: Caller = { kind: 'forwarder', principal: activatorPrincipal(m), name: 'activator' };
  const gateway: Caller = { kind: 'forwarder', principal: gatewayPrincipal(m), name: 'knative-local-gateway' };
  const pod: Workload = { namespace: ns, labels };
  const podLabel = `pod in ${ns}${Object.keys(labels).length ? ` ${JSON.stringify(labels)}` : ''}`;
  const none = new Map<string, string>();
  const vsHeader = new Map([[NAMESPACE_HEADER, ns]]);
  const gw = m.gateway;
  const td = m.config.trustDomain;
  const noHeaders = new Map<string, Value>();
  // The activator and the gateway are one pod each, with labels the model
  // knows only in part: every route is tried with each label set they may
  // carry, one set per hop deciding its ALLOW and DENY policies together.
  // `hostRouted`: the route's Host routes to `ns`, so rules pinned by Host elsewhere are left out.
  const activatorHops = (caller: Caller, overrides: Map<string, string>, hostRouted: boolean) =>
    m.activatorLabels.map((l) => hop(m, platformLabel('activator', ACTIVATOR.labels, l), { namespace: ACTIVATOR.namespace, labels: l }, caller, ACTIVATOR.ports, false, overrides, true, ns, hostRouted));
  const gatewayHops = () =>
    m.gatewayLabels.map((l) => hop(m, platformLabel('knative-local-gateway', gw.workload.labels, l), { namespace: gw.workload.namespace, labels: l }, plaintext, gw.ports, false, none, false));
  const podHop = (caller: Caller, ports: string[], overrides: Map<string, string>) => hop(m, podLabel, pod, caller, ports, false, overrides);
  // Callers whose own sidecar can originate mTLS to the gateway (objects already in the cluster; new ones are refused).
  const originators = m.gatewayOriginators().filter((o) => (callers.kind === 'namespaces' ? callers.namespaces.includes(o) : m.ownership.isForeignTo(o, callers.tenant)));
  const viaOwnIdentity: Caller = { kind: 'attacker', callers: { kind: 'namespaces', namespaces: originators }, noIdentityOnly: false };
  const originatedGatewayHops = () =>
    originators.length === 0
      ? []
      : m.gatewayLabels.map((l) => hop(m, platformLabel('knative-local-gateway', gw.workload.labels, l), { namespace: gw.workload.namespace, labels: l }, viaOwnIdentity, gw.ports, false, none, false));
  const originatedNote = `caller's own mTLS origination to the gateway (ServiceEntry/DestinationRule/VirtualService in ${originators.join(', ')})`;
  switch (path) {
    case 'direct':
      return [{ hops: [hop(m, podLabel, pod, attacker, REVISION_POD_PORTS, true, none)], callerHeaders: noHeaders, note: 'caller -> pod', trustDomain: td }];
    case 'activator':
      return m.activatorLabels.flatMap((_, i): Route[] => [
        {
          hops: [activatorHops(attacker, none, false)[i]!, podHop(activator, QUEUE_PROXY_PORTS, none)],
          callerHeaders: new Map([[NAMESPACE_HEADER, ns]]),
          note: `caller -> activator (routed by header ${NAMESPACE_HEADER}: ${ns}, any Host) -> pod`,
          trustDomain: td,
        },
        {
          hops: [activatorHops(attacker, none, true)[i]!, podHop(activator, QUEUE_PROXY_PORTS, none)],
          hostRoutedTo: ns,
          callerHeaders: new Map([[NAMESPACE_HEADER, undefined]]),
          note: 'caller -> activator (routed by Host: no routing header, or an empty routing value) -> pod',
          trustDomain: td,
        },
      ]);
    case 'gateway-activator': {
      const routes: Route[] = activatorHops(attacker, vsHeader, true).map((a) => ({
        hops: [a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)],
        hostRoutedTo: ns,
        callerHeaders: noHeaders,
        note: "caller's sidecar routes the Host (mesh VirtualService) -> activator -> pod",
        trustDomain: td,
      }));
      for (const g of originatedGatewayHops()) {
        for (const a of activatorHops(gateway, vsHeader, true)) {
          routes.push({ hops: [g, a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, callerHeaders: noHeaders, note: `${originatedNote} -> activator -> pod`, trustDomain: td });
        }
      }
      if (gw.acceptsNoIdentity) {
        for (const g of gatewayHops()) {
          for (const a of activatorHops(gateway, vsHeader, true)) {
            routes.push({
              hops: [g, a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)],
              hostRoutedTo: ns,
              callerHeaders: noHeaders,
              note: 'plaintext caller -> knative-local-gateway -> activator -> pod',
              trustDomain: td,
            });
          }
        }
      }
      return routes;
    }
    case 'gateway': {
      const routes: Route[] = [
        {
          hops: [podHop(attacker, QUEUE_PROXY_PORTS, vsHeader)],
          hostRoutedTo: ns,
          callerHeaders: noHeaders,
          note: "caller's sidecar routes the Host (mesh VirtualService) -> pod",
          trustDomain: td,
        },
      ];
      for (const g of originatedGatewayHops()) {
        routes.push({ hops: [g, podHop(gateway, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, callerHeaders: noHeaders, note: `${originatedNote} -> pod`, trustDomain: td });
      }
      if (gw.acceptsNoIdentity) {
        for (const g of gatewayHops()) {
          routes.push({ hops: [g, podHop(gateway, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, callerHeaders: noHeaders, note: 'plaintext caller -> knative-local-gateway -> pod', trustDomain: td });
        }
      }
      return routes;
    }
  }
}
