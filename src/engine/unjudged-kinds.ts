// Closed world: a kind of a mesh-affecting group (src/engine/mesh-kinds.ts)
// that no rule judges is refused to tenants, and so is a tenant's write of
// the status of any kind of those groups. A new kind (a release of Istio,
// Knative or Gateway API adds them) stays refused until a rule judges it.

import type { KindHandler, RuleContext, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { describeObject, who } from './istio-shared.js';
import { kindRow } from './mesh-kinds.js';
import type { Decision } from './types.js';

export const UNJUDGED_RULE = 'TG-KIND-UNJUDGED';

function kindName(ctx: RuleContext): string {
  const { group, kind } = ctx.input.kind;
  return `${group}/${kind}`;
}

/** A kind of a mesh group without a handler. */
export const unjudgedKindHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  const role = ctx.actor.role;
  if (role === 'platform-controller') return b.build();
  const row = kindRow(ctx.input.kind.group, ctx.input.kind.kind);
  const what = row ? ` (${row.what})` : '';
  if (role === 'platform-admin') {
    if (ctx.input.operation !== 'DELETE')
      b.warn(`${UNJUDGED_RULE}: no tenant-guard rule judges ${kindName(ctx)}${what}; review ${describeObject(ctx)} against the tenant isolation model.`);
    return b.build();
  }
  b.violate(
    UNJUDGED_RULE,
    'kind',
    `${who(ctx)} may not ${ctx.input.operation.toLowerCase()} ${describeObject(ctx)}: ${kindName(ctx)} can change routing, capture or proxies${what}, ` +
      `and no tenant-guard rule judges it, so it is refused to tenants (docs/rules.md, "Kinds"). Ask a platform admin.`,
  );
  return b.build();
};

/**
 * A status write on any kind of a mesh group: controllers' business. Refused
 * to tenants (their admins and service accounts). An identity the config does
 * not know gets a warning only: status is written by controllers, and one the
 * platform runs but did not list (an ingress controller writing Ingress
 * status) must not be stopped; add it to platformControllers.
 */
export const statusWriteHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.actor.role !== 'tenant' && ctx.actor.role !== 'other') return b.build();
  const message =
    `${who(ctx)} may not write the status of ${describeObject(ctx)}: the status of ${kindName(ctx)} is written by its controller, and Knative, Istio and Gateway API ` +
    `controllers route by it (a Route follows its Configuration's latest ready Revision, a DomainMapping its ref's address, a KIngress's status its load balancer).`;
  if (ctx.actor.role === 'other') b.warn(`${UNJUDGED_RULE}: ${message} Admitted from an identity the config does not know (a controller?): add it to platformControllers.`);
  else b.violate(UNJUDGED_RULE, 'status', `${message} Ask a platform admin.`);
  return b.build();
};

export const unjudgedKindRules: RuleDoc[] = [
  {
    id: UNJUDGED_RULE,
    kinds: ['every kind of networking.istio.io, security.istio.io, telemetry.istio.io, extensions.istio.io, networking.k8s.io, gateway.networking.k8s.io, gateway.networking.x-k8s.io, serving.knative.dev, networking.internal.knative.dev, autoscaling.internal.knative.dev without a rule of its own'],
    stops:
      'A tenant (or unknown user) writing or deleting an object of a kind of the mesh-affecting groups that no rule judges (table "Kinds" below), or a tenant writing the status of any kind of those groups ' +
      '(an unknown identity writing status gets a warning: controllers the platform runs belong in platformControllers). Platform admins get a warning; platform controllers are not judged.',
    why:
      'Every kind of these groups can change routing, capture or what a proxy does: a KIngress becomes VirtualServices on the shared gateways with any host, a TrafficExtension runs code in the proxy, ' +
      'a BackendTLSPolicy replaces ISTIO_MUTUAL toward a service. Deciding safety by listing the kinds someone thought of misses the next one: a kind is admitted for tenants only once a rule judges what it does.',
    cite: 'https://knative.dev/docs/serving/architecture/ (KIngress, ServerlessService); https://gateway-api.sigs.k8s.io/reference/spec/',
    example: `apiVersion: networking.internal.knative.dev/v1alpha1
kind: Ingress
metadata: {name: steal, namespace: tenant-1}
spec:
  rules:
  - hosts: [hello.tenant-2.svc.cluster.local]
    visibility: ClusterLocal
    http:
      paths:
      - splits:
        - {serviceName: mine, serviceNamespace: tenant-1, servicePort: 80, percent: 100}`,
  },
];
