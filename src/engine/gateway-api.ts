// Kubernetes Gateway API routes (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute,
// UDPRoute) and ListenerSets, as Istio implements them.
//
// A route attaches to its parents: a Gateway (north-south) or, in the mesh
// (GAMMA), a Service. Attached to a Gateway of another namespace (a shared
// gateway whose listeners allow routes from every namespace), a tenant route
// claims hostnames there and has the gateway forward with its own identity,
// which every tenant admits: refused like a VirtualService bound to a shared
// gateway (TG-ISTIO-VS-GATEWAY). Backends are judged like VirtualService
// destinations, and so are Host rewrites (URLRewrite.hostname, a `host`
// header set by RequestHeaderModifier): a gateway routes by Host.
// https://gateway-api.sigs.k8s.io/reference/spec/#parentreference,
// https://gateway-api.sigs.k8s.io/mesh/ (Service parents),
// https://istio.io/latest/docs/tasks/traffic-management/ingress/gateway-api/

import type { KindHandler, RuleContext, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { describeObject, isRestricted, namespaceOf, who } from './istio-shared.js';
import { hostProblem, judgesTargets, namespaceProblem } from './network-targets.js';
import type { Decision } from './types.js';

export const PARENT_RULE = 'TG-GATEWAYAPI-PARENT';
export const BACKEND_RULE = 'TG-GATEWAYAPI-BACKEND';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function field(v: unknown, key: string): unknown {
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Same namespace, or another namespace of the same tenant. */
function sameTenant(ctx: RuleContext, ns: string, ownNs: string): boolean {
  if (ns === ownNs) return true;
  const own = ctx.tenancy.tenantOf(ownNs);
  return own !== undefined && ctx.tenancy.tenantOf(ns) === own;
}

function checkParent(ctx: RuleContext, b: DecisionBuilder, ref: unknown, path: string): void {
  const ownNs = namespaceOf(ctx);
  const ns = str(field(ref, 'namespace')) ?? ownNs;
  if (sameTenant(ctx, ns, ownNs)) return;
  const kind = str(field(ref, 'kind')) ?? 'Gateway';
  const group = field(ref, 'group') === undefined ? GATEWAY_GROUP : String(field(ref, 'group'));
  const name = String(field(ref, 'name') ?? '');
  const owner = ctx.tenancy.ownerOf(ns);
  const whose = owner.type === 'tenant' ? `tenant ${owner.tenant}'s namespace` : owner.type === 'system' ? 'a platform namespace' : 'a namespace of no tenant';
  b.violate(
    PARENT_RULE,
    path,
    `${who(ctx)} may not attach ${describeObject(ctx)} to ${group || 'core'}/${kind} ${ns}/${name} in ${whose}: ` +
      (kind === 'Service'
        ? `a route on another namespace's Service reroutes the calls made to it.`
        : `a Gateway outside your tenant is shared: the route would claim hostnames there, and the gateway forwards with its own identity, which every tenant admits.`) +
      ` Attach routes to Gateways and Services of your own namespaces, or let Knative expose the service.`,
  );
}

function backendViolation(ctx: RuleContext, b: DecisionBuilder, path: string, what: string, why: string): void {
  b.violate(
    BACKEND_RULE,
    path,
    `${who(ctx)}: ${describeObject(ctx)} ${what}: ${why}. A route forwards with its gateway's or the tenant's own proxy, so a backend or Host outside the tenant is a path into it ` +
      `(through a shared gateway: with the platform's identity). Name only your own services and hosts outside the cluster, or ask a platform admin for a peering.`,
  );
}

function checkBackend(ctx: RuleContext, b: DecisionBuilder, ref: unknown, path: string): void {
  const ownNs = namespaceOf(ctx);
  const group = field(ref, 'group') === undefined ? '' : String(field(ref, 'group'));
  const kind = str(field(ref, 'kind')) ?? 'Service';
  const name = String(field(ref, 'name') ?? '');
  // Istio's Hostname backend (group networking.istio.io) routes to any host of the registry, like a VirtualService destination.
  if (group === 'networking.istio.io' && kind === 'Hostname') {
    const why = hostProblem(ctx, name, ownNs);
    if (why) backendViolation(ctx, b, `${path}.name`, `routes to host ${JSON.stringify(name)}`, why);
    return;
  }
  if (!((group === '' && kind === 'Service') || (group === 'multicluster.x-k8s.io' && kind === 'ServiceImport'))) {
    backendViolation(ctx, b, `${path}.kind`, `routes to a ${group || 'core'}/${kind} backend`, 'tenant-guard cannot tell where that kind leads');
    return;
  }
  const ns = str(field(ref, 'namespace')) ?? ownNs;
  const why = namespaceProblem(ctx, ns, ownNs);
  if (why) backendViolation(ctx, b, `${path}.namespace`, `routes to ${kind} ${ns}/${name}`, why);
}

const HOST_HEADERS = new Set(['host', ':authority']);

/** Filters that rewrite the Host (judged like a backend) or mirror to a backend. */
function checkFilters(ctx: RuleContext, b: DecisionBuilder, filters: unknown, path: string): void {
  const ownNs = namespaceOf(ctx);
  asArray(filters).forEach((f, i) => {
    const p = `${path}[${i}]`;
    const mirror = field(field(f, 'requestMirror'), 'backendRef');
    if (mirror !== undefined) checkBackend(ctx, b, mirror, `${p}.requestMirror.backendRef`);
    const hostname = str(field(field(f, 'urlRewrite'), 'hostname'));
    if (hostname) {
      const why = hostProblem(ctx, hostname, ownNs);
      if (why) backendViolation(ctx, b, `${p}.urlRewrite.hostname`, `rewrites the Host to ${JSON.stringify(hostname)}`, why);
    }
    for (const op of ['set', 'add'] as const) {
      asArray(field(field(f, 'requestHeaderModifier'), op)).forEach((h, j) => {
        const name = String(field(h, 'name') ?? '').toLowerCase();
        if (!HOST_HEADERS.has(name)) return;
        const value = String(field(h, 'value') ?? '');
        const why = hostProblem(ctx, value, ownNs);
        if (why) backendViolation(ctx, b, `${p}.requestHeaderModifier.${op}[${j}].value`, `sets the ${name} header to ${JSON.stringify(value)}`, why);
      });
    }
  });
}

/** HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute. */
export const routeHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE' || ctx.actor.role === 'platform-controller') return b.build();
  const spec = ctx.input.object?.spec;
  if (isRestricted(ctx)) asArray(field(spec, 'parentRefs')).forEach((ref, i) => checkParent(ctx, b, ref, `spec.parentRefs[${i}]`));
  if (judgesTargets(ctx, namespaceOf(ctx))) {
    asArray(field(spec, 'rules')).forEach((rule, i) => {
      const base = `spec.rules[${i}]`;
      asArray(field(rule, 'backendRefs')).forEach((ref, j) => {
        checkBackend(ctx, b, ref, `${base}.backendRefs[${j}]`);
        checkFilters(ctx, b, field(ref, 'filters'), `${base}.backendRefs[${j}].filters`);
      });
      checkFilters(ctx, b, field(rule, 'filters'), `${base}.filters`);
    });
  }
  return b.build();
};

/** ListenerSet: listeners added to its parent Gateway. */
export const listenerSetHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE' || !isRestricted(ctx)) return b.build();
  checkParent(ctx, b, field(ctx.input.object?.spec, 'parentRef') ?? {}, 'spec.parentRef');
  return b.build();
};

/** Kinds admitted after the common checks (their table row says why). */
export const admittedHandler: KindHandler = (): Decision => new DecisionBuilder().build();

export const gatewayApiRules: RuleDoc[] = [
  {
    id: PARENT_RULE,
    kinds: ['gateway.networking.k8s.io/HTTPRoute', 'gateway.networking.k8s.io/GRPCRoute', 'gateway.networking.k8s.io/TCPRoute', 'gateway.networking.k8s.io/TLSRoute', 'gateway.networking.k8s.io/UDPRoute', 'gateway.networking.k8s.io/ListenerSet'],
    stops: 'A tenant route or ListenerSet attached to a Gateway, ListenerSet or Service outside the tenant\'s namespaces (a shared gateway in istio-system, another tenant\'s service).',
    why:
      'A shared Gateway whose listeners allow routes from all namespaces takes a tenant route as its own: the route claims hostnames other tenants and Knative use, and the gateway forwards with its ' +
      'istio-system identity, which every tenant admits (the equivalent VirtualService is refused by TG-ISTIO-VS-GATEWAY). A route on another namespace\'s Service reroutes the calls made to it.',
    cite: 'https://gateway-api.sigs.k8s.io/reference/spec/#parentreference; https://gateway-api.sigs.k8s.io/mesh/',
    example: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: claim, namespace: tenant-1}
spec:
  parentRefs: [{name: shared-gateway, namespace: istio-system}]
  hostnames: [hello.tenant-2.example.com]
  rules:
  - backendRefs: [{name: mine, port: 80}]`,
  },
  {
    id: BACKEND_RULE,
    kinds: ['gateway.networking.k8s.io/HTTPRoute', 'gateway.networking.k8s.io/GRPCRoute', 'gateway.networking.k8s.io/TCPRoute', 'gateway.networking.k8s.io/TLSRoute', 'gateway.networking.k8s.io/UDPRoute'],
    stops:
      'A route whose backendRefs, requestMirror, URLRewrite hostname or Host/:authority header (RequestHeaderModifier set/add) name a platform service, another tenant\'s (not peered), ' +
      'an in-cluster address or a backend kind tenant-guard cannot follow. Tenants anywhere; platform admins in tenant namespaces.',
    why:
      'Like a VirtualService destination: routed through a gateway the request carries the gateway\'s identity, and a gateway routes by Host, so a Host rewrite toward another tenant\'s service ' +
      'sends the request there. Istio\'s Hostname backend reaches any host of the registry.',
    cite: 'https://gateway-api.sigs.k8s.io/reference/spec/#httpbackendref; https://istio.io/latest/docs/reference/config/networking/virtual-service/ (Destination)',
    example: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hop, namespace: tenant-1}
spec:
  parentRefs: [{group: "", kind: Service, name: mine, port: 80}]
  rules:
  - filters: [{type: URLRewrite, urlRewrite: {hostname: hello.tenant-2.svc.cluster.local}}]
    backendRefs: [{name: mine, port: 80}]`,
  },
];
