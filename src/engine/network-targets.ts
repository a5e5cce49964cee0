// Where a hostname or address written by a tenant leads: its own services,
// or somewhere the tenant must not alias, route or originate traffic to on
// its own terms (platform services, another tenant's services, in-cluster
// address ranges). Shared by the Service/Endpoints/EndpointSlice rules, the
// DomainMapping ref and the ServiceEntry/DestinationRule/VirtualService rules.
//
// Why in-cluster destinations matter even with every pod behind a sidecar:
// the platform's gateways (knative-local-gateway, the ingress gateway, any
// gateway namespace) accept any mesh certificate, route by Host and forward
// with their own istio-system identity, which every tenant's policies admit;
// and an alias (ServiceEntry, ExternalName, hand-written endpoints) makes the
// tenant's sidecar treat a foreign workload as a host of the tenant's
// choosing, with the tenant's DestinationRules and VirtualServices on it.
//
// Kubernetes DNS names: <svc>.<ns>.svc.<domain>, <pod>.<svc>.<ns>.svc.<domain>,
// <a-b-c-d>.<ns>.pod.<domain> (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/).

import { GK } from '../cluster/state.js';
import { parseCidr, PRIVATE_RANGES, rangesOverlap, type IpRange } from '../net/ip-ranges.js';
import type { RuleContext } from './context.js';

function labelsOf(host: string): string[] {
  return host.toLowerCase().replace(/\.$/, '').split('.');
}

/** Wildcard suffixes that match Kubernetes service names of every namespace. */
function coversEveryNamespace(suffix: string): boolean {
  if (suffix === '' || suffix === 'svc.cluster.local' || 'svc.cluster.local'.endsWith(`.${suffix}`)) return true;
  // Other cluster domains: *.svc.<domain>, *.pod.<domain>.
  return /^(svc|pod)(\.|$)/.test(suffix);
}

/** Ranges that always lead into the node or the cluster, configured or not. */
const ALWAYS_INTERNAL = ['127.0.0.0/8', '169.254.0.0/16', '0.0.0.0/8', '::1/128', '::/128', 'fe80::/10'];

/** The in-cluster ranges of the config; unconfigured: every private range (see README, clusterNetwork). */
export function inClusterRanges(ctx: Pick<RuleContext, 'config'>): { ranges: IpRange[]; configured: boolean } {
  // Configs built in code may predate the key: read a missing one as unconfigured.
  const n = ctx.config.clusterNetwork ?? { serviceCIDRs: [], podCIDRs: [], nodeCIDRs: [] };
  const configured = n.serviceCIDRs.length + n.podCIDRs.length > 0;
  const texts = configured ? [...n.serviceCIDRs, ...n.podCIDRs, ...n.nodeCIDRs, ...ALWAYS_INTERNAL] : [...PRIVATE_RANGES, ...n.nodeCIDRs];
  return { ranges: texts.map(parseCidr).filter((r): r is IpRange => r !== undefined), configured };
}

/**
 * Why `address` (an IP or CIDR) must not be a tenant's alias target, or
 * undefined when it lies outside the cluster.
 */
export function addressProblem(ctx: Pick<RuleContext, 'config'>, address: string): string | undefined {
  const r = parseCidr(address.trim());
  if (!r) return `"${address}" is not an IP address or CIDR, so tenant-guard cannot tell where it leads`;
  const { ranges, configured } = inClusterRanges(ctx);
  if (!ranges.some((c) => rangesOverlap(r, c))) return undefined;
  return configured
    ? `${address} is inside the cluster's Service, pod or node ranges (clusterNetwork)`
    : `${address} is a private address, and ${RANGES_UNCONFIGURED}, so it may be a pod or Service of the cluster`;
}

const RANGES_UNCONFIGURED = 'clusterNetwork.serviceCIDRs/podCIDRs are not configured';

/**
 * The fix that really applies to a target problem, when it is not the
 * tenant's to make: a private address outside the cluster is refused only
 * because the platform has not said which ranges are the cluster's.
 */
export function platformFix(why: string): string | undefined {
  if (!why.includes(RANGES_UNCONFIGURED)) return undefined;
  return (
    'If the address is outside the cluster (a database or service on your private network), ask a platform admin to set clusterNetwork.serviceCIDRs ' +
    'and clusterNetwork.podCIDRs (and nodeCIDRs) in the tenancy config to the cluster\'s own ranges: private addresses outside them are then allowed. ' +
    'For a workload inside the cluster, name it by its Service instead.'
  );
}

/**
 * Why a namespace is out of bounds for a target written in `ownNs`, or
 * undefined when it is the tenant's own (or a namespace it is peered into).
 */
export function namespaceProblem(ctx: RuleContext, ns: string, ownNs: string): string | undefined {
  if (ns === ownNs) return undefined;
  const own = ctx.tenancy.tenantOf(ownNs);
  const owner = ctx.tenancy.ownerOf(ns);
  if (owner.type === 'tenant') {
    if (own !== undefined && (owner.tenant === own || ctx.tenancy.isPeered(own, owner.tenant))) return undefined;
    return `namespace ${ns} belongs to tenant ${owner.tenant}${own ? `, and ${own} is not peered with it` : ''}`;
  }
  if (owner.type === 'system') return `namespace ${ns} is a platform namespace (its gateways and the activator forward with an identity every tenant admits)`;
  return `namespace ${ns} belongs to no tenant (it may hold gateways or cluster services)`;
}

/** The namespace a name points into when it is an in-cluster DNS name, '*' for every namespace, undefined when external. */
export function clusterNamespaceOf(ctx: RuleContext, host: string, ownNs: string): string | undefined {
  const labels = labelsOf(host);
  if (labels[0] === '*') {
    const suffix = labels.slice(1).join('.');
    if (coversEveryNamespace(suffix)) return '*';
  }
  for (let i = 2; i < labels.length; i++) {
    if (labels[i] === 'svc' || labels[i] === 'pod') return labels[i - 1] === '*' ? '*' : labels[i - 1];
  }
  if (labels.length === 1) return labels[0] === '*' ? '*' : ownNs;
  // `name.ns`: the callers' DNS search path expands it to name.ns.svc.<domain>
  // when `ns` is a namespace; otherwise it is an external two-label name.
  if (labels.length === 2) {
    const ns = labels[1]!;
    if (ns === '*') return '*';
    if (ctx.tenancy.ownerOf(ns).type !== 'none' || ctx.state.get(GK.Namespace, undefined, ns)) return ns;
  }
  return undefined;
}

/** `a-b-c-d` (IPv4) or `2001-db8--1` (IPv6), the address spelled in a pod DNS name's first label. */
function dashedAddress(label: string): string | undefined {
  if (/^[0-9]{1,3}(-[0-9]{1,3}){3}$/.test(label)) return label.replace(/-/g, '.');
  if (/^[0-9a-f-]+$/.test(label) && label.includes('-')) {
    const v6 = label.replace(/-/g, ':');
    if (parseCidr(v6)?.v6) return v6;
  }
  return undefined;
}

/**
 * A pod DNS name, `<a-b-c-d>.<ns>.pod[.<domain>]`: CoreDNS answers it with
 * the address a.b.c.d for any existing namespace without checking that a pod
 * of that namespace holds it (`pods insecure`, the kubeadm and kind default;
 * https://github.com/coredns/coredns/tree/master/plugin/kubernetes "pods"),
 * so the namespace it names proves nothing: it is the address it spells, and
 * any name under `.pod.` is in-cluster whatever it spells.
 */
function podDnsName(h: string): string | undefined {
  const labels = labelsOf(h);
  const at = labels.indexOf('pod');
  if (at < 2) return undefined;
  const ip = dashedAddress(labels[0]!);
  return ip
    ? `${h} is a pod DNS name: it resolves to ${ip} whatever namespace it names (CoreDNS does not check that the pod is there), an in-cluster pod address`
    : `${h} is a pod DNS name (under .pod.): it resolves to an in-cluster pod address whatever namespace it names`;
}

/**
 * Why a hostname (or IP) written by a tenant in `ownNs` as an alias, route or
 * origination target leads somewhere it must not, or undefined.
 */
/**
 * A Host value may carry a port (`hello.tenant-2:80`, `[::1]:8080`); gateways
 * match it without (Istio sets strip_any_host_port on gateway listeners), so
 * the port is dropped before a host is judged.
 */
export function withoutPort(host: string): string {
  const bracketed = /^\[([^\]]+)\](:\d*)?$/.exec(host);
  if (bracketed) return bracketed[1]!;
  const m = /^([^:]+):\d*$/.exec(host);
  return m ? m[1]! : host;
}

export function hostProblem(ctx: RuleContext, host: string, ownNs: string): string | undefined {
  const h = withoutPort(host.trim());
  if (h === '') return 'an empty host matches nothing Istio can tell apart; it is read as any host';
  if (parseCidr(h)) return addressProblem(ctx, h);
  const pod = podDnsName(h);
  if (pod) return pod;
  const ns = clusterNamespaceOf(ctx, h, ownNs);
  if (ns === undefined) return undefined;
  if (ns === '*') return `${h} matches services of every namespace, platform and other tenants included`;
  const why = namespaceProblem(ctx, ns, ownNs);
  return why ? `${h} is a service name in ${why}` : undefined;
}

/** Actors these rules judge: tenants and unknown users anywhere; platform admins inside tenant namespaces. */
export function judgesTargets(ctx: RuleContext, ns: string): boolean {
  const role = ctx.actor.role;
  if (role === 'tenant' || role === 'other') return true;
  return role === 'platform-admin' && ctx.tenancy.ownerOf(ns).type === 'tenant';
}
