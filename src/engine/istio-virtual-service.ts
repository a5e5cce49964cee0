// VirtualService: tenants route only their own mesh traffic to their own (or
// peered) services. Knative's net-istio controller creates VirtualServices in
// tenant namespaces bound to knative-serving/knative-ingress-gateway and
// knative-serving/knative-local-gateway; it is a platform controller and is
// never judged here.

import type { RuleContext, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkVirtualServiceTargets } from './istio-foreign-hosts.js';
import { withoutPort } from './network-targets.js';
import { hostNamespace } from './istio-hosts.js';
import { checkExportTo, checkRevisionLabel, describeObject, isRestricted, namespaceOf, who } from './istio-shared.js';
import type { Decision } from './types.js';

const KIND = 'networking.istio.io/VirtualService';
const VS_DOC = 'https://istio.io/latest/docs/reference/config/networking/virtual-service/';

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function field(v: unknown, key: string): unknown {
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
}

const ROUTE_SECTIONS = ['http', 'tls', 'tcp'] as const;
const HOST_HEADERS = new Set(['host', ':authority']);

/** Every gateway reference: spec.gateways (default ["mesh"]) and per-match gateways. */
function gatewayRefs(spec: unknown): { path: string; ref: unknown }[] {
  const refs = asArray(field(spec, 'gateways')).map((ref, i) => ({ path: `spec.gateways[${i}]`, ref }));
  for (const section of ROUTE_SECTIONS) {
    asArray(field(spec, section)).forEach((route, i) => {
      asArray(field(route, 'match')).forEach((m, j) => {
        asArray(field(m, 'gateways')).forEach((ref, k) => refs.push({ path: `spec.${section}[${i}].match[${j}].gateways[${k}]`, ref }));
      });
    });
  }
  return refs;
}

/** Every destination: routes, mirrors and delegation targets, as (path, namespace it points into). */
function destinations(spec: unknown, ownNs: string): { path: string; target: string; ns: string | undefined }[] {
  const out: { path: string; target: string; ns: string | undefined }[] = [];
  const host = (path: string, h: unknown): void => {
    if (typeof h === 'string' && h !== '') out.push({ path, target: h, ns: hostNamespace(withoutPort(h.trim()), ownNs) });
  };
  // A Host written by the route is where a gateway (or a Host-routing hop) sends the request:
  // judged like a destination (rewrite.authority, a host/:authority header set or added).
  const hostHeaders = (path: string, headers: unknown): void => {
    for (const op of ['set', 'add'] as const) {
      const m = field(field(headers, 'request'), op);
      if (!m || typeof m !== 'object') continue;
      for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
        if (HOST_HEADERS.has(k.toLowerCase())) host(`${path}.request.${op}[${JSON.stringify(k)}]`, v);
      }
    }
  };
  for (const section of ROUTE_SECTIONS) {
    asArray(field(spec, section)).forEach((route, i) => {
      const base = `spec.${section}[${i}]`;
      asArray(field(route, 'route')).forEach((r, j) => {
        host(`${base}.route[${j}].destination.host`, field(field(r, 'destination'), 'host'));
        if (section === 'http') hostHeaders(`${base}.route[${j}].headers`, field(r, 'headers'));
      });
      if (section !== 'http') return;
      host(`${base}.rewrite.authority`, field(field(route, 'rewrite'), 'authority'));
      hostHeaders(`${base}.headers`, field(route, 'headers'));
      host(`${base}.mirror.host`, field(field(route, 'mirror'), 'host'));
      asArray(field(route, 'mirrors')).forEach((m, k) => host(`${base}.mirrors[${k}].destination.host`, field(field(m, 'destination'), 'host')));
      const delegate = field(route, 'delegate');
      if (delegate && typeof delegate === 'object') {
        const dns = field(delegate, 'namespace');
        const ns = typeof dns === 'string' && dns !== '' ? dns : ownNs;
        out.push({ path: `${base}.delegate.namespace`, target: `VirtualService ${ns}/${String(field(delegate, 'name') ?? '')}`, ns });
      }
    });
  }
  return out;
}

/**
 * Restricted actors bind only to the sidecars of their namespace ("mesh") or
 * to a Gateway a platform admin placed in that same namespace. A shared
 * gateway (knative-serving/knative-ingress-gateway, knative-local-gateway,
 * anything in istio-system) forwards with its own istio-system identity,
 * which every tenant's AuthorizationPolicy admits: a tenant route on it
 * reaches whatever it names, and can claim another tenant's hostnames.
 */
function checkGateways(ctx: RuleContext, b: DecisionBuilder): void {
  const ns = namespaceOf(ctx);
  for (const { path, ref } of gatewayRefs(ctx.input.object?.spec)) {
    if (ref === 'mesh') continue;
    const s = typeof ref === 'string' ? ref : '';
    const slash = s.indexOf('/');
    const gwNs = slash < 0 ? ns : s.slice(0, slash);
    if (s !== '' && gwNs === ns) continue;
    b.violate(
      'TG-ISTIO-VS-GATEWAY',
      path,
      `${who(ctx)} may not bind ${describeObject(ctx)} to gateway ${JSON.stringify(ref)}: a gateway outside ${ns} is shared, forwards with the ` +
        `gateway's istio-system identity that every tenant admits, and serves hostnames of other tenants. Use "mesh" (this namespace's sidecars), ` +
        `or let Knative expose the service (a Knative Service gets its gateway routes from net-istio).`,
    );
  }
}

/**
 * No route from a tenant namespace into another tenant's namespace unless
 * the config peers them. Restricted actors are judged wherever they write;
 * platform admins only for VirtualServices in tenant namespaces (a platform
 * route in a system namespace is the platform's business).
 */
function checkDestinations(ctx: RuleContext, b: DecisionBuilder): void {
  const ns = namespaceOf(ctx);
  const srcTenant = ctx.tenancy.tenantOf(ns);
  if (!isRestricted(ctx) && !srcTenant) return;
  for (const d of destinations(ctx.input.object?.spec, ns)) {
    if (!d.ns || d.ns === ns) continue;
    const destTenant = ctx.tenancy.tenantOf(d.ns);
    if (!destTenant || destTenant === srcTenant) continue;
    if (srcTenant && ctx.tenancy.isPeered(srcTenant, destTenant)) continue;
    b.violate(
      'TG-ISTIO-VS-DESTINATION',
      d.path,
      `${who(ctx)}: ${describeObject(ctx)} routes to ${d.target} in namespace ${d.ns} of tenant ${destTenant}` +
        `${srcTenant ? `, but the route lives in ${ns} of tenant ${srcTenant} and the two are not peered` : `, from ${ns} which is not ${destTenant}'s`}; ` +
        `traffic matched by this route (through a gateway: with the gateway's identity, which ${destTenant} admits) would cross into another tenant. ` +
        `Route only to services of your own tenant, or ask a platform admin to add a peering.`,
    );
  }
}

export function handleVirtualService(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE' || ctx.actor.role === 'platform-controller') return b.build();
  if (isRestricted(ctx)) checkGateways(ctx, b);
  checkDestinations(ctx, b);
  checkVirtualServiceTargets(ctx, b, destinations(ctx.input.object?.spec, namespaceOf(ctx)));
  checkExportTo(ctx, b);
  checkRevisionLabel(ctx, b);
  return b.build();
}

export const virtualServiceRules: RuleDoc[] = [
  {
    id: 'TG-ISTIO-VS-GATEWAY',
    kinds: [KIND],
    stops: 'A tenant VirtualService bound (spec.gateways or match[].gateways) to a gateway other than "mesh" or one in its own namespace.',
    why:
      'Shared gateways (knative-ingress-gateway, knative-local-gateway, istio-system) forward with the istio-system identity that every tenant\'s ' +
      'AuthorizationPolicy admits, and serve every tenant\'s hostnames; a tenant route there could claim another tenant\'s host or carry traffic into it. ' +
      'Knative\'s net-istio (a platform controller) binds the tenant\'s routes to the Knative gateways and is not judged.',
    cite: `${VS_DOC}#VirtualService (gateways)`,
    example: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: public, namespace: tenant-1}
spec:
  hosts: [hello.example.com]
  gateways: [knative-serving/knative-ingress-gateway]
  exportTo: ["."]
  http:
  - route:
    - destination: {host: hello.tenant-1.svc.cluster.local}`,
  },
  {
    id: 'TG-ISTIO-VS-DESTINATION',
    kinds: [KIND],
    stops: 'A VirtualService in a tenant namespace (or written by a tenant) routing, mirroring or delegating into another tenant\'s namespace, or setting the Host to one of its services (rewrite.authority, a host/:authority header set or added), without a peering.',
    why:
      'Bound to a gateway, the forwarded request carries the gateway\'s istio-system identity, which the destination tenant admits: the route ' +
      'becomes a path into the other tenant. Mirrors copy live requests into the other tenant. Applies to tenants and, in tenant namespaces, ' +
      'to platform admins; TenancyConfig peerings allow chosen pairs.',
    cite: `${VS_DOC}#Destination; ${VS_DOC}#Delegate`,
    example: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: sneak, namespace: tenant-1}
spec:
  hosts: [hello]
  exportTo: ["."]
  http:
  - route:
    - destination: {host: hello.tenant-2.svc.cluster.local}`,
  },
];
