// Aliases outside Istio's own kinds: core Services of type ExternalName or
// with externalIPs, and hand-written Endpoints and EndpointSlices.
//
// - ExternalName: since Istio 1.21 a sidecar treats an ExternalName Service
//   as an alias of its target host (the alias gets the target's endpoints
//   and the tenant's own DestinationRules/VirtualServices apply to it), so
//   `spec.externalName: knative-local-gateway.istio-system.svc.cluster.local`
//   in tenant-1 is a tenant-controlled door into the shared gateway, and
//   `hello.tenant-2.svc.cluster.local` one into tenant-2.
//   https://istio.io/latest/news/releases/1.21.x/announcing-1.21/upgrade-notes/#externalname-support-changes
// - externalIPs: kube-proxy captures traffic to those IPs on every node, for
//   every pod: a tenant Service listing another workload's IP intercepts its
//   callers (CVE-2020-8554, https://github.com/kubernetes/kubernetes/issues/97076).
// - Endpoints/EndpointSlices of a selector-less Service are trusted by kube-proxy
//   and by Istio's service registry as the Service's backends: a hand-written
//   pod IP of another tenant (or the gateway's) makes the tenant's Service an
//   alias of it.
//
// Knative's controllers create Services (the route's ExternalName to
// knative-local-gateway, the revision's public selector-less Service whose
// Endpoints it writes) in tenant namespaces; they are platform controllers and
// never judged. A tenant editing those objects afterwards is judged on what it
// changes: an UPDATE that leaves type, externalName and externalIPs (or the
// endpoint addresses) as they were is admitted, anything new is judged like a
// CREATE (Knative does not reset `type`, so a tenant's change would stay).

import { groupKind } from '../cluster/state.js';
import type { RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { describeObject, isRestricted, namespaceOf, who } from './istio-shared.js';
import { addressProblem, hostProblem, judgesTargets, namespaceProblem, platformFix } from './network-targets.js';
import type { Decision, KubeObject } from './types.js';

const SERVICE = groupKind('', 'Service');
const ENDPOINTS = groupKind('', 'Endpoints');
const ENDPOINT_SLICE = groupKind('discovery.k8s.io', 'EndpointSlice');

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function field(v: unknown, key: string): unknown {
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
}

function judged(ctx: RuleContext): boolean {
  const op = ctx.input.operation;
  return (op === 'CREATE' || op === 'UPDATE') && ctx.actor.role !== 'platform-controller' && judgesTargets(ctx, namespaceOf(ctx));
}

/** The ExternalName target of a Service, if it is one. */
export function externalNameOf(svc: KubeObject | undefined): string | undefined {
  if (field(svc?.spec, 'type') !== 'ExternalName') return undefined;
  const n = field(svc?.spec, 'externalName');
  return typeof n === 'string' ? n : '';
}

function handleService(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (!judged(ctx)) return b.build();
  const svc = ctx.input.object!;
  const old = ctx.input.operation === 'UPDATE' ? ctx.input.oldObject : undefined;
  const ns = namespaceOf(ctx);
  const target = externalNameOf(svc);
  if (target !== undefined && !(old && externalNameOf(old) === target)) {
    const why = hostProblem(ctx, target, ns);
    if (why) {
      b.violate(
        'TG-SERVICE-EXTERNALNAME',
        'spec.externalName',
        `${who(ctx)}: ${describeObject(ctx)} is an ExternalName alias of ${JSON.stringify(target)}: ${why}. Istio (1.21+) treats the Service as an alias of that host, ` +
          `so calls to it would reach a workload outside your tenant on your terms (through a shared gateway: with the gateway's identity, which every tenant admits). ` +
          `Point ExternalName Services only at your own services or at hosts outside the cluster.`,
      );
    }
  }
  const oldIps = new Set(asArray(field(old?.spec, 'externalIPs')).map(String));
  if (isRestricted(ctx)) {
    asArray(field(svc.spec, 'externalIPs')).forEach((ip, i) => {
      if (oldIps.has(String(ip))) return;
      b.violate(
        'TG-SERVICE-EXTERNAL-IPS',
        `spec.externalIPs[${i}]`,
        `${who(ctx)} may not set externalIPs on ${describeObject(ctx)}: kube-proxy on every node would send traffic for ${String(ip)}, from every pod of every tenant, ` +
          `to this Service (CVE-2020-8554), intercepting the callers of whatever owns that address. Use a LoadBalancer or ask a platform admin.`,
      );
    });
  }
  return b.build();
}

interface Address {
  path: string;
  value: string;
  fqdn: boolean;
}

function endpointsAddresses(obj: KubeObject | undefined): { addresses: Address[]; targetRefs: { path: string; ns: unknown }[] } {
  const addresses: Address[] = [];
  const targetRefs: { path: string; ns: unknown }[] = [];
  asArray(field(obj, 'subsets')).forEach((subset, i) => {
    for (const list of ['addresses', 'notReadyAddresses']) {
      asArray(field(subset, list)).forEach((a, j) => {
        const path = `subsets[${i}].${list}[${j}]`;
        addresses.push({ path: `${path}.ip`, value: String(field(a, 'ip') ?? ''), fqdn: false });
        const ref = field(a, 'targetRef');
        if (ref !== undefined && field(ref, 'namespace') !== undefined) targetRefs.push({ path: `${path}.targetRef.namespace`, ns: field(ref, 'namespace') });
      });
    }
  });
  return { addresses, targetRefs };
}

function sliceAddresses(obj: KubeObject | undefined): { addresses: Address[]; targetRefs: { path: string; ns: unknown }[] } {
  const addresses: Address[] = [];
  const targetRefs: { path: string; ns: unknown }[] = [];
  const fqdn = field(obj, 'addressType') === 'FQDN';
  asArray(field(obj, 'endpoints')).forEach((e, i) => {
    asArray(field(e, 'addresses')).forEach((a, j) => addresses.push({ path: `endpoints[${i}].addresses[${j}]`, value: String(a), fqdn }));
    const ref = field(e, 'targetRef');
    if (ref !== undefined && field(ref, 'namespace') !== undefined) targetRefs.push({ path: `endpoints[${i}].targetRef.namespace`, ns: field(ref, 'namespace') });
  });
  return { addresses, targetRefs };
}

function endpointsHandler(read: typeof endpointsAddresses) {
  return (ctx: RuleContext): Decision => {
    const b = new DecisionBuilder();
    if (!judged(ctx) || !isRestricted(ctx)) return b.build();
    const ns = namespaceOf(ctx);
    const now = read(ctx.input.object);
    const before = new Set(read(ctx.input.operation === 'UPDATE' ? ctx.input.oldObject : undefined).addresses.map((a) => a.value));
    for (const a of now.addresses) {
      if (before.has(a.value)) continue; // written by whoever wrote the old version (Knative's controller for its own Services)
      const why = a.fqdn ? hostProblem(ctx, a.value, ns) : addressProblem(ctx, a.value);
      if (!why) continue;
      b.violate(
        'TG-ENDPOINTS-ADDRESS',
        a.path,
        `${who(ctx)}: ${describeObject(ctx)} lists ${JSON.stringify(a.value)} as a backend: ${why}. Hand-written endpoints make the Service an alias of whatever ` +
          `owns that address (another tenant's pod, a shared gateway), for kube-proxy and for Istio's registry alike. ` +
          (platformFix(why) ?? `Give the Service a selector for your own pods, or list only addresses outside the cluster.`),
      );
    }
    for (const r of now.targetRefs) {
      const why = typeof r.ns === 'string' ? namespaceProblem(ctx, r.ns, ns) : 'targetRef.namespace is not a string';
      if (why) b.violate('TG-ENDPOINTS-ADDRESS', r.path, `${who(ctx)}: ${describeObject(ctx)} names a backend in another namespace: ${why}. Endpoints may only refer to objects of your own tenant.`);
    }
    return b.build();
  };
}

const ISTIO_121 = 'https://istio.io/latest/news/releases/1.21.x/announcing-1.21/upgrade-notes/#externalname-support-changes';

const rules: RuleDoc[] = [
  {
    id: 'TG-SERVICE-EXTERNALNAME',
    kinds: ['Service'],
    stops:
      'A core Service of type ExternalName (created, or changed to it by an UPDATE) whose externalName names a platform service, a service of another tenant or of a namespace no tenant owns, ' +
      'every namespace (wildcards), or an in-cluster address (clusterNetwork; any private address when unset).',
    why:
      'Istio 1.21+ treats an ExternalName Service as an alias of its target: the tenant\'s sidecar sends calls for the alias to the target with the tenant\'s own DestinationRules and ' +
      'VirtualServices, and through knative-local-gateway or another shared gateway they are forwarded with the gateway\'s identity, which every tenant admits. ' +
      'Knative\'s own ExternalName Services (written by its controller) are not judged, and a tenant UPDATE that keeps type and externalName is admitted.',
    cite: `${ISTIO_121}; https://kubernetes.io/docs/concepts/services-networking/service/#externalname`,
    example: `apiVersion: v1
kind: Service
metadata: {name: alias, namespace: tenant-1}
spec:
  type: ExternalName
  externalName: hello.tenant-2.svc.cluster.local`,
  },
  {
    id: 'TG-SERVICE-EXTERNAL-IPS',
    kinds: ['Service'],
    stops: 'A tenant setting spec.externalIPs on a Service (new addresses only).',
    why: 'kube-proxy routes traffic for an externalIP from every pod and node to the Service that lists it, so a tenant can intercept the callers of any address (CVE-2020-8554).',
    cite: 'https://github.com/kubernetes/kubernetes/issues/97076',
    example: `apiVersion: v1
kind: Service
metadata: {name: grab, namespace: tenant-1}
spec:
  ports: [{port: 80}]
  externalIPs: [203.0.113.7]`,
  },
  {
    id: 'TG-ENDPOINTS-ADDRESS',
    kinds: ['Endpoints', 'discovery.k8s.io/EndpointSlice'],
    stops:
      'Endpoints or EndpointSlices written by a tenant with an address in the cluster\'s pod, Service or node ranges (clusterNetwork; any private, loopback or link-local address when unset), ' +
      'an FQDN naming a platform or foreign service, or a targetRef into another tenant\'s namespace. Addresses already in the old version are not judged again.',
    why:
      'kube-proxy and Istio\'s service registry take hand-written endpoints of a selector-less Service as its backends: listing another tenant\'s pod IP, or a gateway\'s, turns the ' +
      'tenant\'s Service into an alias of that workload. Addresses outside the cluster (an external database) remain allowed; own pods are selected with a selector instead. ' +
      'Endpoints written by Kubernetes\' and Knative\'s controllers are not judged.',
    cite: 'https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors',
    example: `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: alias-1, namespace: tenant-1, labels: {kubernetes.io/service-name: alias}}
addressType: IPv4
ports: [{port: 8012}]
endpoints:
- addresses: [10.244.1.17]`,
  },
];

export const serviceAliasModule: RuleModule = {
  handlers: {
    [SERVICE]: handleService,
    [ENDPOINTS]: endpointsHandler(endpointsAddresses),
    [ENDPOINT_SLICE]: endpointsHandler(sliceAddresses),
  },
  rules,
};
