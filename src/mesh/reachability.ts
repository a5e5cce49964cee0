import {
  freeHostCandidates,
  freshToken,
  ipCandidates,
  portCandidates,
  routedHostCandidates,
  serviceAccountCandidates,
  stringCandidates,
  withAbsent,
} from './candidates.js';
import { compileRule, hopKeys, SHARED, type HopKeys } from './compile.js';
import { and, evaluate, leaves, not, or, solve, TRUE, type Assignment, type Formula, type SearchVar, type Value } from './formula.js';
import { principalOf } from './istio-match.js';
import { mtlsModeFor } from './peer-authentication.js';
import { ACTIVATOR, NAMESPACE_HEADER, QUEUE_PROXY_PORTS, REVISION_POD_PORTS } from './platform.js';
import type { ParsedPolicy, Workload } from './policy.js';
import { enforcedPolicies, podLabelCandidates, policyRef, type MeshView } from './view.js';

export type DataPath = 'direct' | 'activator' | 'gateway-activator' | 'gateway';

/** Who sends the request into a hop. */
export type Caller =
  /** The attacker: any service account in `namespaces`, or no identity at all when the hop accepts plaintext. */
  | { kind: 'attacker'; namespaces: string[]; noIdentityOnly: boolean }
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
  /** The Host must route to the target namespace (activator and VirtualService routing). */
  hostRoutedTo?: string;
  note: string;
  /** Mesh trust domain (config.trustDomain): principals are read against it. */
  trustDomain: string;
}

export interface RouteResult {
  route: Route;
  witness: Assignment;
}

function hopFormula(h: Hop, k: HopKeys): Formula {
  const deny = or(h.deny.flatMap((p) => p.rules.map((r) => compileRule(r, k))));
  // Istio: DENY first; then, if any ALLOW policy applies, some ALLOW rule must
  // match (an ALLOW policy without rules matches nothing: `spec: {}` denies
  // all); a workload without ALLOW policies allows the request.
  const allow = h.allow.length === 0 ? TRUE : or(h.allow.flatMap((p) => p.rules.map((r) => compileRule(r, k))));
  return and([not(deny), allow]);
}

export function keysOf(route: Route, i: number): HopKeys {
  return hopKeys(i, new Set(route.hops[i]!.headerOverrides.keys()), route.trustDomain);
}

function routeFormula(route: Route): Formula {
  return and(route.hops.map((h, i) => hopFormula(h, keysOf(route, i))));
}

/** The search space of attacker choices for one route, from the patterns its policies test. */
function searchSpace(view: MeshView, route: Route, f: Formula): { vars: SearchVar[]; fixed: Assignment } {
  const byKey = new Map<string, { kind: string; patterns: string[] }[]>();
  for (const l of leaves(f)) {
    const list = byKey.get(l.key) ?? [];
    list.push({ kind: l.kind, patterns: l.patterns });
    byKey.set(l.key, list);
  }
  const patternsOf = (key: string, kind?: string) => (byKey.get(key) ?? []).filter((x) => !kind || x.kind === kind).flatMap((x) => x.patterns);
  const fresh = freshToken([...byKey.values()].flatMap((xs) => xs.flatMap((x) => x.patterns)));
  const fixed: Assignment = new Map();
  const vars: SearchVar[] = [];
  const drain = view.config.drainPorts;

  route.hops.forEach((h, i) => {
    const k = keysOf(route, i);
    const ports = h.freePort ? portCandidates(h.ports, patternsOf(k.port), drain) : h.ports;
    vars.push({ key: k.port, values: () => ports });
    for (const [name, value] of h.headerOverrides) fixed.set(k.header(name), value);
    const modeAt = (a: Assignment) => (h.sidecar ? mtlsModeFor(view.state, view.root, h.workload, String(a.get(k.port))) : 'STRICT');
    if (h.caller.kind === 'forwarder') {
      const principal = h.caller.principal;
      // Platform proxies call with mTLS; a DISABLE hop drops the identity.
      vars.push({ key: k.principal, dependsOn: [k.port], values: (a) => [modeAt(a) === 'DISABLE' ? undefined : principal] });
    } else {
      const caller = h.caller;
      const sas = serviceAccountCandidates(
        route.hops.flatMap((_, j) => patternsOf(keysOf(route, j).principal, 'principal')),
        route.hops.flatMap((_, j) => patternsOf(keysOf(route, j).principal, 'serviceAccount')),
        fresh,
      );
      const ids = caller.namespaces.flatMap((ns) => sas.map((sa) => principalOf(view.config.trustDomain, ns, sa)));
      vars.push({
        key: k.principal,
        dependsOn: [k.port],
        values: (a): Value[] => {
          if (caller.noIdentityOnly) return [undefined];
          const mode = modeAt(a);
          if (mode === 'DISABLE') return ids.length > 0 ? [undefined] : [];
          return mode === 'PERMISSIVE' && ids.length > 0 ? [...ids, undefined] : ids;
        },
      });
    }
  });

  const hostPatterns = patternsOf(SHARED.host);
  const hosts = route.hostRoutedTo
    ? routedHostCandidates(route.hostRoutedTo, hostPatterns, fresh)
    : freeHostCandidates(route.hops.at(-1)!.workload.namespace, hostPatterns, fresh);
  vars.push({ key: SHARED.host, values: () => hosts });

  const target = route.hops.at(-1)!.workload.namespace;
  const attacker = route.hops[0]!.caller;
  const sourceNamespaces = attacker.kind === 'attacker' ? attacker.namespaces : [];
  const rest = [...byKey.keys()].filter((key) => !vars.some((v) => v.key === key) && !fixed.has(key)).sort((a, b) => {
    // The routing header first: it is what per-tenant activator rules pin.
    const pa = a === `header:${NAMESPACE_HEADER}` ? 0 : 1;
    const pb = b === `header:${NAMESPACE_HEADER}` ? 0 : 1;
    return pa - pb || a.localeCompare(b);
  });
  for (const key of rest) {
    const pats = patternsOf(key);
    const kinds = new Set((byKey.get(key) ?? []).map((x) => x.kind));
    let values: Value[];
    if (kinds.has('ip')) values = ipCandidates(pats);
    else if (key === SHARED.method) values = stringCandidates(pats, ['GET', 'POST'], fresh.toUpperCase());
    else if (key === SHARED.path) values = stringCandidates(pats, ['/', `/${fresh}`], fresh);
    else if (key.startsWith('header:')) values = withAbsent(stringCandidates(pats, [target, ...sourceNamespaces], fresh));
    else values = withAbsent(stringCandidates(pats, [], fresh));
    vars.push({ key, values: () => values });
  }
  return { vars, fixed };
}

/** A request the attacker can send along the route that every hop lets through, if any. */
export function solveRoute(view: MeshView, route: Route): Assignment | undefined {
  const f = routeFormula(route);
  const { vars, fixed } = searchSpace(view, route, f);
  return solve(f, vars, fixed);
}

// --- routes of the four data paths ---------------------------------------

function activatorPrincipal(view: MeshView): string {
  return principalOf(view.config.trustDomain, ACTIVATOR.namespace, ACTIVATOR.serviceAccount);
}

function gatewayPrincipal(view: MeshView): string {
  const gw = view.gateway.workload;
  return principalOf(view.config.trustDomain, gw.namespace, 'istio-ingressgateway-service-account');
}

function hop(view: MeshView, label: string, workload: Workload, caller: Caller, ports: string[], freePort: boolean, overrides: Map<string, string>, sidecar = true): Hop {
  const { allow, deny } = enforcedPolicies(view, workload);
  return { label, workload, sidecar, caller, ports, freePort, headerOverrides: overrides, allow, deny };
}

/**
 * The ways a caller in `sourceNamespaces` can reach a revision pod (labels
 * `labels`) in `ns` along `path`:
 * - direct: straight to the pod (pod IP or `<rev>-private`), any port but the drain port, any Host;
 * - activator: to the activator with a Host of `ns` (the model routes by Host, see
 *   docs/authorization-policy.md), which forwards with its own identity;
 * - gateway-activator / gateway: a caller with a sidecar never reaches
 *   knative-local-gateway with a Knative Host: net-istio's VirtualService is
 *   also bound to the `mesh` gateway, so the caller's own sidecar routes it
 *   (to the activator, or to the pod) with the caller's identity, setting
 *   `knative-serving-namespace` (the reference setup's RBAC logs show the
 *   caller's SPIFFE id at the activator and at the pod on these paths). A
 *   caller without identity (plaintext, passthrough) does reach the gateway,
 *   if the gateway accepts it; the gateway then forwards with its own identity.
 */
export function routesFor(view: MeshView, path: DataPath, sourceNamespaces: string[], ns: string, labels: Record<string, string>): Route[] {
  const attacker: Caller = { kind: 'attacker', namespaces: sourceNamespaces, noIdentityOnly: false };
  const plaintext: Caller = { kind: 'attacker', namespaces: sourceNamespaces, noIdentityOnly: true };
  const activator: Caller = { kind: 'forwarder', principal: activatorPrincipal(view), name: 'activator' };
  const gateway: Caller = { kind: 'forwarder', principal: gatewayPrincipal(view), name: 'knative-local-gateway' };
  const pod: Workload = { namespace: ns, labels };
  const podLabel = `pod in ${ns}${Object.keys(labels).length ? ` ${JSON.stringify(labels)}` : ''}`;
  const none = new Map<string, string>();
  const vsHeader = new Map([[NAMESPACE_HEADER, ns]]);
  const gw = view.gateway;
  const td = view.config.trustDomain;
  // The activator and the gateway are one pod each, with labels the model
  // knows only in part: every route is tried with each label set they may
  // carry (view.activatorLabels / gatewayLabels), one set per hop deciding
  // its ALLOW and DENY policies together.
  const activatorHops = (caller: Caller, overrides: Map<string, string>) =>
    view.activatorLabels.map((l) => hop(view, platformLabel('activator', ACTIVATOR.labels, l), { namespace: ACTIVATOR.namespace, labels: l }, caller, ACTIVATOR.ports, false, overrides));
  const gatewayHops = () =>
    view.gatewayLabels.map((l) => hop(view, platformLabel('knative-local-gateway', gw.workload.labels, l), { namespace: gw.workload.namespace, labels: l }, plaintext, gw.ports, false, none, false));
  const podHop = (caller: Caller, ports: string[], overrides: Map<string, string>) => hop(view, podLabel, pod, caller, ports, false, overrides);
  switch (path) {
    case 'direct':
      return [{ hops: [hop(view, podLabel, pod, attacker, REVISION_POD_PORTS, true, none)], note: 'caller -> pod', trustDomain: td }];
    case 'activator':
      return activatorHops(attacker, none).map((a) => ({
        hops: [a, podHop(activator, QUEUE_PROXY_PORTS, none)],
        hostRoutedTo: ns,
        note: 'caller -> activator -> pod',
        trustDomain: td,
      }));
    case 'gateway-activator': {
      const routes: Route[] = activatorHops(attacker, vsHeader).map((a) => ({
        hops: [a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)],
        hostRoutedTo: ns,
        note: "caller's sidecar routes the Host (mesh VirtualService) -> activator -> pod",
        trustDomain: td,
      }));
      if (gw.acceptsNoIdentity) {
        for (const g of gatewayHops()) {
          for (const a of activatorHops(gateway, vsHeader)) {
            routes.push({
              hops: [g, a, podHop(activator, QUEUE_PROXY_PORTS, vsHeader)],
              hostRoutedTo: ns,
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
          note: "caller's sidecar routes the Host (mesh VirtualService) -> pod",
          trustDomain: td,
        },
      ];
      if (gw.acceptsNoIdentity) {
        for (const g of gatewayHops()) {
          routes.push({ hops: [g, podHop(gateway, QUEUE_PROXY_PORTS, vsHeader)], hostRoutedTo: ns, note: 'plaintext caller -> knative-local-gateway -> pod', trustDomain: td });
        }
      }
      return routes;
    }
  }
}

/** A platform hop's name, with the labels the model assumed beyond its known ones. */
function platformLabel(name: string, known: Record<string, string>, labels: Record<string, string>): string {
  const extra = Object.fromEntries(Object.entries(labels).filter(([k]) => !(k in known)));
  return Object.keys(extra).length > 0 ? `${name} (if it also carries ${JSON.stringify(extra)})` : name;
}

export interface CellResult {
  allowed: boolean;
  reason: string;
  /** The allowing route and request, when allowed. */
  found?: RouteResult;
}

/** Whether some caller of `sourceNamespaces` reaches some revision pod of `targetNamespaces` along `path`. */
export function reach(view: MeshView, path: DataPath, sourceNamespaces: string[], targetNamespaces: string[], explainDenied = true): CellResult {
  if (sourceNamespaces.length === 0) return { allowed: false, reason: 'the source tenant has no namespace, so no workload to call from' };
  if (targetNamespaces.length === 0) return { allowed: false, reason: 'the target tenant has no namespace, so no service to reach' };
  let firstDenied: Route | undefined;
  for (const ns of targetNamespaces) {
    for (const labels of podLabelCandidates(view, ns)) {
      for (const route of routesFor(view, path, sourceNamespaces, ns, labels)) {
        const witness = solveRoute(view, route);
        if (witness) return { allowed: true, reason: describeAllowed(route, witness), found: { route, witness } };
        firstDenied ??= route;
      }
    }
  }
  return { allowed: false, reason: explainDenied && firstDenied ? describeDenied(view, firstDenied) : 'no request passes every hop' };
}

// --- explanations -------------------------------------------------------------

/** The first rule of the hop's ALLOW policies that the witness satisfies. */
export function matchingAllowRule(h: Hop, k: HopKeys, a: Assignment): { policy: ParsedPolicy; rule: number } | undefined {
  for (const p of h.allow) {
    for (const r of p.rules) if (evaluate(compileRule(r, k), a) === 1) return { policy: p, rule: r.index };
  }
  return undefined;
}

export function describeRequest(route: Route, a: Assignment): string {
  const k0 = keysOf(route, 0);
  const who = a.get(k0.principal);
  const caller = !a.has(k0.principal) ? 'any workload of the caller' : who === undefined ? 'a caller without mesh identity (plaintext)' : `spiffe://${who}`;
  const parts = [`from ${caller}`];
  if (a.has(SHARED.host)) parts.push(`Host ${a.get(SHARED.host)}`);
  if (a.has(k0.port)) parts.push(`port ${a.get(k0.port)}`);
  for (const [key, v] of a) {
    if (key.startsWith('header:') && v !== undefined) parts.push(`header ${key.slice(7)}: ${v}`);
    if ((key === SHARED.path || key === SHARED.method) && v !== undefined) parts.push(`${key} ${v}`);
  }
  return parts.join(', ');
}

function describeAllowed(route: Route, a: Assignment): string {
  const hops = route.hops.map((h, i) => {
    const m = matchingAllowRule(h, keysOf(route, i), a);
    const why = h.allow.length === 0 ? 'no ALLOW policy applies' : m ? `${policyRef(m.policy)} rules[${m.rule}]` : 'allowed';
    return `${h.label}: ${why}`;
  });
  return `${route.note}; ${describeRequest(route, a)}; ${hops.join('; ')}`;
}

function describeDenied(view: MeshView, route: Route): string {
  for (let n = 1; n <= route.hops.length; n++) {
    const prefix: Route = { ...route, hops: route.hops.slice(0, n) };
    if (solveRoute(view, prefix)) continue;
    const h = route.hops[n - 1]!;
    const who = h.caller.kind === 'forwarder' ? `${h.caller.name} (spiffe://${h.caller.principal})` : h.caller.noIdentityOnly ? 'a plaintext caller' : 'the caller';
    const allow = h.allow.length ? `ALLOW ${h.allow.map(policyRef).join(', ')}` : 'no ALLOW policy';
    const deny = h.deny.length ? `; DENY ${h.deny.map(policyRef).join(', ')}` : '';
    return `${route.note}: denied at ${h.label}: no request from ${who} passes (${allow}${deny})`;
  }
  return `${route.note}: denied`;
}
