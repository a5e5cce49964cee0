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
  /** A gateway on the route routes `<host>:<anything>` to `<host>` (host-ports.ts). */
  hostAnyPort?: boolean;
  /** Request headers the route needs the caller to send as given (undefined: absent). */
  callerHeaders: Map<string, Value>;
  note: string;
  /** What would close this route where it is found open (the hop's own policies that would stop it). */
  closeWith?: string;
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
 * - gateway-activator / gateway: net-istio binds the cluster-local
 *   VirtualService to the `mesh` gateway too, so a caller's own sidecar routes
 *   a Knative Host (to the activator, or to the pod) with the caller's
 *   identity, setting `knative-serving-namespace`. Every caller also reaches
 *   knative-local-gateway itself, with its own identity and any Host (and
 *   without identity where a server accepts plaintext); the gateway's own
 *   policies decide, then it forwards with its own identity.
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
  // Every caller reaches the gateway pod with its own mTLS identity and any
  // Host: a workload obtains a certificate for its own identity from istiod
  // (a projected token with audience istio-ca) and speaks mTLS to the pod IP
  // through its sidecar's passthrough, or names the gateway (its pod DNS name
  // in any namespace, `pods insecure`) in a ServiceEntry with ISTIO_MUTUAL.
  // The gateway accepts any mesh certificate, routes by Host and forwards as
  // itself: only its own policies decide (issue 17: a closed world).
  const identityGatewayHops = () =>
    m.gatewayLabels.map((l) => hop(m, platformLabel('knative-local-gateway', gw.workload.labels, l), { namespace: gw.workload.namespace, labels: l }, attacker, gw.ports, false, none, false));
  const identityNote = "caller (its own mTLS identity, straight to the gateway's pod) -> knative-local-gateway";
  // Without ISTIO_GATEWAY_STRIP_HOST_PORT the gateway routes `<host>:<anything>` too (host-ports.ts).
  const hostAnyPort = m.config.istio?.gatewayStripHostPort !== true;
  const closeWith = hostAnyPort
    ? `an ALLOW on knative-local-gateway (${gw.workload.namespace}) admitting the system namespaces only, and requests to ports other than its local listeners ` +
      `(tenants' sidecars route cluster-local Hosts themselves); no per-tenant Host rule holds there while the gateway routes <host>:<anything> ` +
      `(istiod without ISTIO_GATEWAY_STRIP_HOST_PORT, config istio.gatewayStripHostPort: false). tenant-guard's baseline keeps it (baseline.platformGatewayPolicy; docs/baseline.md)`
    : `policies on knative-local-gateway (${gw.workload.namespace}) that admit each tenant's namespaces only for the Hosts of its own namespaces ` +
      `(*.<ns>, *.<ns>.svc, *.<ns>.svc.<clusterDomain>, each also with :80) and deny every other caller the Hosts of ${ns}; ` +
      `tenant-guard's baseline keeps them (baseline.gatewayPolicy, baseline.gatewayFence, baseline.platformGatewayPolicy; docs/baseline.md)`;
  // Proxies the config names as shared (sharedHops): every caller reaches
  // them with its own identity (and without one where a listener accepts
  // plaintext) and any Host; they forward as themselves, to the revision
  // directly or through the activator with any routing header the caller
  // sent. Only their own policies decide, as at knative-local-gateway.
  const sharedHopRoutes = (viaActivator: boolean): Route[] => {
    const out: Route[] = [];
    for (const sh of m.config.sharedHops ?? []) {
      const as: Caller = { kind: 'forwarder', principal: principalOf(td, sh.namespace, sh.serviceAccount), name: sh.name };
      const hostRouted = sh.routesBy === 'host';
      const close =
        `policies on ${sh.name} (${sh.namespace}) that admit only the callers it must serve` +
        (hostRouted ? `, or each tenant's namespaces only for the Hosts of its own namespaces` : ` (it forwards any Host anywhere: sharedHops routesBy: any)`);
      const callers: Caller[] = sh.acceptsPlaintext ? [attacker, plaintext] : [attacker];
      for (const caller of callers) {
        for (const l of m.sharedHopLabels(sh)) {
          const first = hop(m, platformLabel(sh.name, sh.labels, l), { namespace: sh.namespace, labels: l }, caller, sh.ports, false, none, sh.sidecar);
          const note = `${caller === plaintext ? 'plaintext caller' : 'caller (its own mTLS identity)'} -> ${sh.name}`;
          const base = { ...(hostRouted ? { hostRoutedTo: ns, hostAnyPort } : {}), closeWith: close, trustDomain: td };
          if (viaActivator) {
            // Routed by the header the caller sent (any Host), or, for a Host-routing proxy, by the Host.
            // A Host-routing proxy sets the routing header as net-istio's VirtualServices do.
            const set = hostRouted ? vsHeader : none;
            for (const a of activatorHops(as, set, hostRouted && !hostAnyPort)) {
              out.push({ ...base, hops: [first, a, podHop(activator, QUEUE_PROXY_PORTS, set)], callerHeaders: hostRouted ? noHeaders : new Map([[NAMESPACE_HEADER, ns]]), note: `${note} -> activator -> pod` });
            }
          } else {
            // A proxy that is not Knative's may forward to any port of the pod.
            out.push({ ...base, hops: [first, hop(m, podLabel, pod, as, REVISION_POD_PORTS, !hostRouted, none)], callerHeaders: noHeaders, note: `${note} -> pod` });
          }
        }
      }
    }
    return out;
  };
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
      for (const g of identityGatewayHops()) {
        for (const a of activatorHops(gateway, vsHeader, !hostAnyPort)) {
          routes.push({ hops: [g, a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, callerHeaders: noHeaders, note: `${identityNote} -> activator -> pod`, closeWith, hostAnyPort, trustDomain: td });
        }
      }
      routes.push(...sharedHopRoutes(true));
      if (gw.acceptsNoIdentity) {
        for (const g of gatewayHops()) {
          for (const a of activatorHops(gateway, vsHeader, !hostAnyPort)) {
            routes.push({
              hops: [g, a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)],
              hostRoutedTo: ns,
              callerHeaders: noHeaders,
              note: 'plaintext caller -> knative-local-gateway -> activator -> pod',
              closeWith,
              hostAnyPort,
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
      for (const g of identityGatewayHops()) {
        routes.push({ hops: [g, podHop(gateway, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, callerHeaders: noHeaders, note: `${identityNote} -> pod`, closeWith, hostAnyPort, trustDomain: td });
      }
      routes.push(...sharedHopRoutes(false));
      if (gw.acceptsNoIdentity) {
        for (const g of gatewayHops()) {
          routes.push({ hops: [g, podHop(gateway, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, callerHeaders: noHeaders, note: 'plaintext caller -> knative-local-gateway -> pod', closeWith, hostAnyPort, trustDomain: td });
        }
      }
      return routes;
    }
  }
}
