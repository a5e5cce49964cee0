// Sidecar ingress listeners, EnvoyFilter and WasmPlugin: the ways to change
// how a proxy receives traffic or to run custom logic inside it. The
// guardrails cannot analyse what such a change does to mTLS and
// authorization, so tenants leave them to the platform.

import type { RuleContext, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { FOREIGN_HOST_RULE } from './istio-foreign-hosts.js';
import { checkRevisionLabel, describeObject, isRestricted, namespaceOf, who } from './istio-shared.js';
import { hostProblem, judgesTargets } from './network-targets.js';
import type { Decision } from './types.js';

const SIDECAR = 'networking.istio.io/Sidecar';
const ENVOY_FILTER = 'networking.istio.io/EnvoyFilter';
const WASM_PLUGIN = 'extensions.istio.io/WasmPlugin';

/**
 * Sidecar `ingress` replaces the inbound listeners Istio derives from the
 * workload's ports: its `tls` terminates TLS with the writer's certificates
 * for callers outside the mesh (https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-sidecar-tls-termination/),
 * and `defaultEndpoint`/`bind`/`captureMode` change where inbound traffic
 * goes. The egress section only narrows what the proxy sees and stays allowed.
 */
export function handleSidecar(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  const ingress: unknown = ctx.input.object?.spec?.ingress;
  if (isRestricted(ctx) && Array.isArray(ingress) && ingress.length > 0) {
    b.violate(
      'TG-ISTIO-SIDECAR-INGRESS',
      'spec.ingress',
      `${who(ctx)} may not set spec.ingress in ${describeObject(ctx)}: custom inbound listeners can terminate TLS with your own certificates ` +
        `or redirect inbound traffic, bypassing the STRICT mTLS that proves which tenant is calling. Remove spec.ingress (egress settings are fine).`,
    );
  }
  // outboundTrafficPolicy.egressProxy: traffic to unknown destinations is sent to this host, like a route's destination.
  const egressProxy: unknown = (ctx.input.object?.spec?.outboundTrafficPolicy as Record<string, unknown> | undefined)?.egressProxy;
  const proxyHost = egressProxy && typeof egressProxy === 'object' ? (egressProxy as Record<string, unknown>).host : undefined;
  if (ctx.actor.role !== 'platform-controller' && judgesTargets(ctx, namespaceOf(ctx)) && proxyHost !== undefined) {
    const why = hostProblem(ctx, String(proxyHost), namespaceOf(ctx));
    if (why)
      b.violate(
        FOREIGN_HOST_RULE,
        'spec.outboundTrafficPolicy.egressProxy.host',
        `${who(ctx)}: ${describeObject(ctx)} sends traffic for unknown destinations to ${JSON.stringify(proxyHost)}: ${why}. The sidecar would originate mTLS to it with the tenant's identity and the app's Host. Name only your own egress proxy.`,
      );
  }
  checkRevisionLabel(ctx, b);
  return b.build();
}

/** Mesh-wide (root namespace) or tenant-scoped extensions a platform admin writes are admitted, with a reminder. */
function warnPlatformExtension(ctx: RuleContext, b: DecisionBuilder, what: string): void {
  const ns = namespaceOf(ctx);
  const meshWide = ns === ctx.config.meshRootNamespace;
  const tenant = ctx.tenancy.tenantOf(ns);
  if (!meshWide && !tenant) return;
  b.warn(
    `TG-ISTIO-PLATFORM-EXTENSION: ${describeObject(ctx)} ${what} ${meshWide ? 'every proxy of the mesh' : `the proxies of tenant ${tenant}`}; ` +
      `tenant-guard cannot verify that it keeps STRICT mTLS and the AuthorizationPolicy filters intact. Review it against the tenant isolation model.`,
  );
}

function handleProxyExtension(ctx: RuleContext, rule: string, path: string, what: string, why: string): Decision {
  const b = new DecisionBuilder();
  if (isRestricted(ctx)) {
    b.violate(
      rule,
      ctx.input.operation === 'DELETE' ? 'metadata.name' : path,
      `${who(ctx)} may not ${ctx.input.operation.toLowerCase()} ${describeObject(ctx)}: ${why} Ask a platform admin.`,
    );
  } else if (ctx.actor.role === 'platform-admin' && ctx.input.operation !== 'DELETE') {
    warnPlatformExtension(ctx, b, what);
  }
  if (ctx.input.operation !== 'DELETE') checkRevisionLabel(ctx, b);
  return b.build();
}

export function handleEnvoyFilter(ctx: RuleContext): Decision {
  return handleProxyExtension(
    ctx,
    'TG-ISTIO-ENVOYFILTER',
    'spec.configPatches',
    'patches the Envoy configuration of',
    'an EnvoyFilter patches the generated Envoy configuration directly and can remove or replace the mTLS transport socket and the RBAC filter ' +
      'that enforce tenant isolation; deleting one can remove a protection the platform put there.',
  );
}

export function handleWasmPlugin(ctx: RuleContext): Decision {
  return handleProxyExtension(
    ctx,
    'TG-ISTIO-WASMPLUGIN',
    'spec.url',
    'runs custom code in',
    'a WasmPlugin runs unreviewed code inside the proxy that terminates mTLS and enforces AuthorizationPolicy, in phases (AUTHN, AUTHZ) ahead of ' +
      'Istio\'s own filters, where it can rewrite what they evaluate; deleting one can remove a protection the platform put there.',
  );
}

export const proxyExtensionRules: RuleDoc[] = [
  {
    id: 'TG-ISTIO-SIDECAR-INGRESS',
    kinds: [SIDECAR],
    stops: 'A tenant Sidecar with an ingress section (custom inbound listeners).',
    why:
      'Sidecar ingress listeners replace the inbound listeners Istio derives from the workload: `tls` terminates TLS with the tenant\'s own certificates ' +
      'for callers outside the mesh and `defaultEndpoint`/`captureMode` redirect inbound traffic, bypassing the STRICT mTLS identity check.',
    cite: 'https://istio.io/latest/docs/reference/config/networking/sidecar/#IstioIngressListener',
    example: `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: tenant-1}
spec:
  ingress:
  - port: {number: 9080, protocol: HTTPS, name: external}
    defaultEndpoint: 0.0.0.0:9080
    tls: {mode: SIMPLE, credentialName: my-cert}`,
  },
  {
    id: 'TG-ISTIO-ENVOYFILTER',
    kinds: [ENVOY_FILTER],
    stops: 'A tenant creating, changing or deleting an EnvoyFilter.',
    why:
      'EnvoyFilters patch the generated Envoy configuration and can remove the mTLS transport socket or the RBAC filter that enforces ' +
      'AuthorizationPolicy; tenant-guard cannot judge a patch, so EnvoyFilters are platform-only.',
    cite: 'https://istio.io/latest/docs/reference/config/networking/envoy-filter/',
    example: `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: no-rbac, namespace: tenant-1}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.rbac}}}}}
    patch: {operation: REMOVE}`,
  },
  {
    id: 'TG-ISTIO-WASMPLUGIN',
    kinds: [WASM_PLUGIN],
    stops: 'A tenant creating, changing or deleting a WasmPlugin.',
    why:
      'A WasmPlugin runs custom code in the proxy that terminates mTLS and enforces AuthorizationPolicy, in the AUTHN or AUTHZ phase ahead of ' +
      'Istio\'s own filters; the platform cannot review it at admission time, so WasmPlugins are platform-only.',
    cite: 'https://istio.io/latest/docs/reference/config/proxy_extensions/wasm-plugin/ (phase, url)',
    example: `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: authz-bypass, namespace: tenant-1}
spec:
  phase: AUTHN
  url: oci://registry.example.com/plugin:1`,
  },
  {
    id: 'TG-ISTIO-PLATFORM-EXTENSION',
    kinds: [ENVOY_FILTER, WASM_PLUGIN],
    stops: 'Nothing: warns a platform admin writing an EnvoyFilter or WasmPlugin in the mesh root namespace (every proxy) or a tenant namespace.',
    why:
      'Platform admins may extend the proxies, but a mesh-wide or tenant-scoped extension can disable mTLS or authorization for every tenant; ' +
      'tenant-guard cannot analyse it, so the admission response carries a warning asking for a review.',
    cite: 'https://istio.io/latest/docs/reference/config/networking/envoy-filter/ (root namespace applies to all proxies)',
    warningOnly: true,
  },
];
