// How Istio hostnames in DestinationRule, VirtualService and ServiceEntry map
// onto Kubernetes services. Istio resolves a dotless short name against the
// namespace of the rule (`reviews` in ns foo is reviews.foo.svc.cluster.local)
// and matches `*.suffix` wildcards against every host ending in `.suffix`
// (https://istio.io/latest/docs/reference/config/networking/destination-rule/#DestinationRule,
// field `host`). Kubernetes service FQDNs are `<svc>.<ns>.svc.<cluster domain>`.

/** The default Kubernetes cluster domain; the `svc` label check below covers other domains. */
const MESH_SUFFIX = 'svc.cluster.local';

function labelsOf(host: string): string[] {
  return host.toLowerCase().replace(/\.$/, '').split('.');
}

/**
 * True when `host` can match a Kubernetes service of the mesh: `*`, a short
 * name, any `<x>.<ns>.svc.<domain>` name, or a wildcard whose suffix a
 * service FQDN can end with (`*.local`, `*.cluster.local`, `*.svc.cluster.local`,
 * `*.<ns>.svc.cluster.local`). Hosts like `api.example.com` (ServiceEntry
 * targets outside the cluster) are not.
 */
export function isMeshHost(host: string | undefined): boolean {
  // A missing host is invalid for Istio anyway; treat it as the widest match (fail closed).
  if (host === undefined || host === '' || host === '*') return true;
  const labels = labelsOf(host);
  if (labels.length === 1) return true;
  if (labels.slice(1).includes('svc')) return true;
  if (labels[0] === '*') {
    const suffix = labels.slice(1).join('.');
    return MESH_SUFFIX === suffix || MESH_SUFFIX.endsWith('.' + suffix);
  }
  return false;
}

/**
 * The namespace a destination host points into, or undefined when it names
 * no specific namespace (external hosts, wildcards). `name.ns` is treated as
 * namespace `ns` too: Istio does not expand it, but clients' DNS search paths
 * do, so the guardrail reads it the way a caller would.
 */
export function hostNamespace(host: string, ownNamespace: string): string | undefined {
  const labels = labelsOf(host);
  if (labels.includes('*')) return undefined;
  if (labels.length === 1) return ownNamespace;
  if (labels.length === 2) return labels[1];
  if (labels[2] === 'svc') return labels[1];
  return undefined;
}
