// Gateway: gateways are shared platform infrastructure.
//
// A Gateway's selector picks gateway pods in any namespace (the shared
// istio-ingressgateway in istio-system by default), so a Gateway written in a
// tenant namespace programs the shared gateway: new listeners, certificates
// and hostnames for every tenant's traffic
// (https://istio.io/latest/docs/reference/config/networking/gateway/#Gateway, `selector`).

import type { RuleContext, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkRevisionLabel, describeObject, isRestricted, who } from './istio-shared.js';
import type { Decision } from './types.js';

const KIND = 'networking.istio.io/Gateway';
const GW_DOC = 'https://istio.io/latest/docs/reference/config/networking/gateway/';

/** Knative's cluster-local gateway (net-istio config-istio `local-gateway.*`, default name). */
export const KNATIVE_LOCAL_GATEWAY = 'knative-local-gateway';

function checkTenantGateway(ctx: RuleContext, b: DecisionBuilder): void {
  b.violate(
    'TG-ISTIO-GATEWAY',
    'spec.selector',
    `${who(ctx)} may not ${ctx.input.operation.toLowerCase()} ${describeObject(ctx)}: a Gateway's selector programs the shared gateway pods, ` +
      `which forward with the istio-system identity every tenant admits and serve every tenant's hostnames. ` +
      `Expose services through Knative (net-istio manages the gateway routes) or ask a platform admin.`,
  );
}

/**
 * knative-local-gateway is how cluster-local calls reach Knative services.
 * With ISTIO_MUTUAL every caller must present its mesh identity there; any
 * other server mode accepts callers without one, whose requests the gateway
 * then forwards with its own istio-system identity, admitted by every tenant
 * (the reference setup patches this Gateway to ISTIO_MUTUAL for that reason).
 * Knative's net-istio may manage the gateway's servers (cluster-local TLS),
 * so a platform controller gets a warning instead of a denial.
 */
function checkLocalGateway(ctx: RuleContext, b: DecisionBuilder): void {
  const obj = ctx.input.object;
  if (obj?.metadata.name !== KNATIVE_LOCAL_GATEWAY) return;
  const servers: unknown = obj.spec?.servers;
  (Array.isArray(servers) ? servers : []).forEach((server: unknown, i) => {
    const tls = server && typeof server === 'object' ? (server as { tls?: unknown }).tls : undefined;
    const rawMode = tls && typeof tls === 'object' ? (tls as { mode?: unknown }).mode : undefined;
    if (rawMode === 'ISTIO_MUTUAL') return;
    const mode = tls === undefined ? 'no tls (plaintext)' : typeof rawMode === 'string' ? rawMode : 'PASSTHROUGH (the default of a tls block without mode)';
    const message =
      `${describeObject(ctx)} server ${i} uses ${mode}: callers of the cluster-local gateway would not have to present a mesh identity, and the ` +
      `gateway forwards their requests into tenants with its own istio-system identity, which every tenant admits. Set spec.servers[${i}].tls.mode: ISTIO_MUTUAL.`;
    if (ctx.actor.role === 'platform-controller') b.warn(`TG-ISTIO-LOCAL-GATEWAY-MTLS: ${message}`);
    else b.violate('TG-ISTIO-LOCAL-GATEWAY-MTLS', `spec.servers[${i}].tls.mode`, message);
  });
}

export function handleGateway(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  if (isRestricted(ctx)) checkTenantGateway(ctx, b);
  checkLocalGateway(ctx, b);
  checkRevisionLabel(ctx, b);
  return b.build();
}

export const gatewayRules: RuleDoc[] = [
  {
    id: 'TG-ISTIO-GATEWAY',
    kinds: [KIND],
    stops: 'A tenant creating or changing a Gateway (in any namespace).',
    why:
      'A Gateway\'s selector matches gateway pods in every namespace, so a tenant Gateway programs the shared ingress gateway: it can serve ' +
      'another tenant\'s hostnames and forward with the istio-system identity that every tenant\'s AuthorizationPolicy admits. Gateways are ' +
      'platform infrastructure; Knative services are exposed through net-istio.',
    cite: `${GW_DOC}#Gateway (selector); https://istio.io/latest/docs/ops/best-practices/security/#gateways`,
    example: `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: mine, namespace: tenant-1}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]`,
  },
  {
    id: 'TG-ISTIO-LOCAL-GATEWAY-MTLS',
    kinds: [KIND],
    stops: 'A knative-local-gateway Gateway with a server whose tls.mode is not ISTIO_MUTUAL (platform admins included; a warning for platform controllers).',
    why:
      'knative-local-gateway carries cluster-local calls to Knative services and forwards them with the istio-system identity every tenant admits. ' +
      'ISTIO_MUTUAL makes every caller present its mesh identity at the gateway; a plaintext or SIMPLE server lets callers without identity in. ' +
      'The reference setup patches this Gateway to ISTIO_MUTUAL on port 8012.',
    cite: `${GW_DOC}#ServerTLSSettings-TLSmode; test/fixtures/reference/kind/config/knative-local-gateway.yaml`,
    example: `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: knative-local-gateway, namespace: knative-serving}
spec:
  selector: {istio: ingressgateway}
  servers:
  - hosts: ["*"]
    port: {name: http, number: 8081, protocol: HTTP}`,
    exampleAs: { username: 'platform-admin', groups: [] },
  },
];
