// Istio networking and extension kinds besides DestinationRule: Sidecar,
// EnvoyFilter, Gateway, VirtualService, ServiceEntry, WorkloadEntry (networking.istio.io)
// and WasmPlugin (extensions.istio.io). Every version of a kind is judged
// alike: the dispatcher routes by group/kind.
//
// RequestAuthentication (security.istio.io) is intercepted for two checks
// only: TG-SYSTEM-NAMESPACE-WRITE (src/engine/common.ts) and the istio.io/rev
// label. In the mesh root namespace it applies to every workload, so a tenant
// adding a jwtRule with its own JWKS there could mint tokens that other
// tenants' requestPrincipals rules accept; in the tenant's own namespace it
// only adds JWT checks to the tenant's own workloads.
//
// Telemetry (telemetry.istio.io), ProxyConfig and WorkloadGroup are judged in
// istio-proxy-config.ts; every other kind of these groups no rule judges is
// refused to tenants (unjudged-kinds.ts, mesh-kinds.ts).

import { GK, groupKind } from '../cluster/state.js';
import type { RuleContext, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkServiceEntryTargets, checkWorkloadEntryTarget, foreignHostRules } from './istio-foreign-hosts.js';
import { gatewayRules, handleGateway } from './istio-gateway.js';
import { handleEnvoyFilter, handleSidecar, handleWasmPlugin, proxyExtensionRules } from './istio-proxy-extensions.js';
import { checkExportTo, checkRevisionLabel, sharedIstioRules } from './istio-shared.js';
import { handleVirtualService, virtualServiceRules } from './istio-virtual-service.js';
import type { Decision } from './types.js';
import { checkGatewayNameLabel, readMetadata } from './sidecar-metadata-checks.js';
import { proxySelectors } from '../tenancy/proxy-selectors.js';
import { reportFindings, workloadScope, type Finding } from './workload-findings.js';

/**
 * ServiceEntry: a tenant may add hosts (external APIs, or its own
 * mesh-internal workloads) for its own namespace only; exported further, an
 * entry could shadow another tenant's hostname for that tenant's callers.
 */
function handleServiceEntry(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  checkServiceEntryTargets(ctx, b);
  checkExportTo(ctx, b);
  checkRevisionLabel(ctx, b);
  return b.build();
}

/** WorkloadEntry: an endpoint for ServiceEntries selecting it; judged for where it points. */
function handleWorkloadEntry(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  checkWorkloadEntryTarget(ctx, b);
  // A WorkloadEntry's labels are the workload's: root-namespace selectors select it like a pod.
  const findings: Finding[] = [];
  checkGatewayNameLabel(findings, readMetadata({ labels: ctx.input.object?.spec?.labels }, 'spec'), 'spec', proxySelectors(ctx.config));
  reportFindings(b, workloadScope(ctx), findings);
  checkRevisionLabel(ctx, b);
  return b.build();
}

/** RequestAuthentication: see the header; the content itself needs no tenant rule. */
function handleRequestAuthentication(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation !== 'DELETE') checkRevisionLabel(ctx, b);
  return b.build();
}

export const istioNetworkingModule: RuleModule = {
  handlers: {
    [GK.Sidecar]: handleSidecar,
    [GK.EnvoyFilter]: handleEnvoyFilter,
    [GK.WasmPlugin]: handleWasmPlugin,
    [GK.Gateway]: handleGateway,
    [GK.VirtualService]: handleVirtualService,
    [GK.ServiceEntry]: handleServiceEntry,
    [groupKind('networking.istio.io', 'WorkloadEntry')]: handleWorkloadEntry,
    [GK.RequestAuthentication]: handleRequestAuthentication,
  },
  rules: [...gatewayRules, ...virtualServiceRules, ...proxyExtensionRules, ...sharedIstioRules, ...foreignHostRules],
};
