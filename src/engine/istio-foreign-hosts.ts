// Tenant ServiceEntries, DestinationRules and VirtualServices that aim at
// platform services, another tenant's services or in-cluster address ranges.
//
// The attack these stop needs nothing outside the tenant's own namespace: a
// ServiceEntry whose host, address or endpoint is knative-local-gateway (or
// any pod or Service IP), a DestinationRule with ISTIO_MUTUAL toward it, and
// a VirtualService that rewrites the Host. The tenant's own sidecar then
// originates mTLS to the shared gateway, which accepts any mesh certificate,
// routes by Host and forwards with its own istio-system identity into any
// tenant. Each of the three objects is refused on its own: a tenant has no
// reason to alias, reconfigure or route to a service it does not own.
// exportTo (TG-ISTIO-EXPORT-TO) already keeps these objects in the tenant's
// namespace; this rule is about where they point.

import type { RuleContext, RuleDoc } from './context.js';
import type { DecisionBuilder } from './decision.js';
import { describeObject, namespaceOf, who } from './istio-shared.js';
import { addressProblem, hostProblem, judgesTargets, namespaceProblem, platformFix } from './network-targets.js';

export const FOREIGN_HOST_RULE = 'TG-ISTIO-FOREIGN-HOST';

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function field(v: unknown, key: string): unknown {
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
}

function judged(ctx: RuleContext): boolean {
  return ctx.input.operation !== 'DELETE' && ctx.actor.role !== 'platform-controller' && judgesTargets(ctx, namespaceOf(ctx));
}

function violate(ctx: RuleContext, b: DecisionBuilder, path: string, what: string, why: string): void {
  b.violate(
    FOREIGN_HOST_RULE,
    path,
    `${who(ctx)}: ${describeObject(ctx)} ${what}: ${why}. With a ServiceEntry, DestinationRule or VirtualService of its own a tenant can make its sidecar ` +
      `originate mTLS to a shared gateway (which forwards with the platform's identity into any tenant) or alias another tenant's workload. ` +
      (platformFix(why) ?? `Name only your own services and hosts outside the cluster, or ask a platform admin for a peering.`),
  );
}

/** ServiceEntry hosts, addresses and endpoint addresses. */
export function checkServiceEntryTargets(ctx: RuleContext, b: DecisionBuilder): void {
  if (!judged(ctx)) return;
  const spec: unknown = ctx.input.object?.spec;
  const ns = namespaceOf(ctx);
  asArray(field(spec, 'hosts')).forEach((h, i) => {
    const why = hostProblem(ctx, String(h), ns);
    if (why) violate(ctx, b, `spec.hosts[${i}]`, `declares host ${JSON.stringify(h)}`, why);
  });
  asArray(field(spec, 'addresses')).forEach((a, i) => {
    const why = addressProblem(ctx, String(a));
    if (why) violate(ctx, b, `spec.addresses[${i}]`, `claims address ${JSON.stringify(a)}`, why);
  });
  asArray(field(spec, 'endpoints')).forEach((e, i) => {
    const address = String(field(e, 'address') ?? '');
    if (address === '') return; // with a workloadSelector, endpoints come from the tenant's own pods
    const why = address.startsWith('unix://')
      ? 'a Unix domain socket is a file of the proxy\'s own pod (its SDS and XDS sockets hold its credentials), not a service'
      : hostProblem(ctx, address, ns);
    if (why) violate(ctx, b, `spec.endpoints[${i}].address`, `sends its traffic to ${JSON.stringify(address)}`, why);
  });
}

/**
 * WorkloadEntry spec.address: a ServiceEntry's workloadSelector picks
 * WorkloadEntries of its namespace as endpoints, so one holding another
 * tenant's pod IP (or a gateway's) is the same alias as a ServiceEntry
 * endpoint. WorkloadEntries stand for VMs outside the cluster.
 * https://istio.io/latest/docs/reference/config/networking/workload-entry/
 */
export function checkWorkloadEntryTarget(ctx: RuleContext, b: DecisionBuilder): void {
  if (!judged(ctx)) return;
  const address = String(field(ctx.input.object?.spec, 'address') ?? '');
  if (address === '') return; // auto-registered by a VM's own proxy, or no endpoint
  const why = address.startsWith('unix://') ? 'a Unix domain socket is a file of the proxy\'s own pod, not a workload' : hostProblem(ctx, address, namespaceOf(ctx));
  if (why) violate(ctx, b, 'spec.address', `stands for a workload at ${JSON.stringify(address)}`, why);
}

/** DestinationRule spec.host. */
export function checkDestinationRuleHost(ctx: RuleContext, b: DecisionBuilder): void {
  if (!judged(ctx)) return;
  const host: unknown = field(ctx.input.object?.spec, 'host');
  const why = hostProblem(ctx, typeof host === 'string' ? host : '', namespaceOf(ctx));
  if (why) violate(ctx, b, 'spec.host', `configures traffic to ${JSON.stringify(host ?? '')}`, why);
}

/**
 * VirtualService hosts, and destinations outside any tenant (platform,
 * unowned namespaces, wildcards, in-cluster addresses); destinations in
 * another tenant are TG-ISTIO-VS-DESTINATION's.
 */
export function checkVirtualServiceTargets(ctx: RuleContext, b: DecisionBuilder, destinations: { path: string; target: string; ns: string | undefined }[]): void {
  if (!judged(ctx)) return;
  const ns = namespaceOf(ctx);
  asArray(field(ctx.input.object?.spec, 'hosts')).forEach((h, i) => {
    const why = hostProblem(ctx, String(h), ns);
    if (why) violate(ctx, b, `spec.hosts[${i}]`, `routes calls for ${JSON.stringify(h)}`, why);
  });
  for (const d of destinations) {
    if (d.ns !== undefined && ctx.tenancy.ownerOf(d.ns).type === 'tenant') continue;
    const why = d.target.startsWith('VirtualService ') ? (d.ns ? namespaceProblem(ctx, d.ns, ns) : undefined) : hostProblem(ctx, d.target, ns);
    if (why) violate(ctx, b, d.path, `routes to ${d.target}`, why);
  }
}

export const foreignHostRules: RuleDoc[] = [
  {
    id: FOREIGN_HOST_RULE,
    kinds: ['networking.istio.io/ServiceEntry', 'networking.istio.io/WorkloadEntry', 'networking.istio.io/WorkloadGroup', 'networking.istio.io/DestinationRule', 'networking.istio.io/VirtualService', 'networking.istio.io/Sidecar'],
    stops:
      'A ServiceEntry whose hosts, addresses or endpoints, a WorkloadEntry (or WorkloadGroup template) whose address, a DestinationRule whose host, a Sidecar whose egressProxy, or a VirtualService whose hosts or destinations name a platform service ' +
      '(knative-serving, istio-system, any namespace no tenant owns), another tenant\'s service (not peered), every namespace (wildcards), or an in-cluster address ' +
      '(clusterNetwork Service/pod/node ranges; any private address when they are not configured), as an IP or a cluster DNS name: a pod DNS name (`a-b-c-d.<ns>.pod.<domain>`, any name under `.pod.`) is the pod address it resolves to, ' +
      'whatever namespace it names; a VirtualService\'s rewrite.authority and host/:authority header writes are judged like its destinations. Tenants anywhere; platform admins in tenant namespaces.',
    why:
      'A tenant-local ServiceEntry naming knative-local-gateway (by host, address or endpoint), a DestinationRule with ISTIO_MUTUAL to it and a VirtualService rewriting the Host ' +
      'make the tenant\'s sidecar originate mTLS to the shared gateway, which accepts any mesh certificate, routes by Host and forwards with its istio-system identity, ' +
      'which every tenant admits. The same objects toward another tenant\'s pods alias them under the tenant\'s own rules. CoreDNS (`pods insecure`, the kubeadm and kind default) answers ' +
      '`10-244-0-20.tenant-1.pod.cluster.local` with 10.244.0.20 without checking that a pod of tenant-1 holds it, so a pod name in the tenant\'s own namespace can reach the gateway pod.',
    cite:
      'https://istio.io/latest/docs/reference/config/networking/service-entry/; https://istio.io/latest/docs/reference/config/networking/destination-rule/; https://github.com/coredns/coredns/tree/master/plugin/kubernetes (pods insecure); ' +
      'https://istio.io/latest/docs/reference/config/networking/virtual-service/',
    example: `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: hop, namespace: tenant-1}
spec:
  hosts: [hop.example.com]
  exportTo: ["."]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  endpoints:
  - address: knative-local-gateway.istio-system.svc.cluster.local`,
  },
];
