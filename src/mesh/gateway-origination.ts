import type { KubeObject } from '../kube/objects.js';

// A tenant's sidecar can originate ISTIO_MUTUAL to a mesh gateway with its own
// identity: a ServiceEntry, DestinationRule or VirtualService in its own
// namespace naming the gateway's service (or rewriting a Host towards it). The
// gateway accepts any mesh certificate, routes by Host and forwards with its
// own identity, which every tenant admits (issue 9 §2). tenant-guard refuses
// such objects (TG-ISTIO-FOREIGN-HOST); ones already in a cluster make the
// gateway a hop that tenant identities reach, with its own policies deciding.

function hostsOf(obj: KubeObject): string[] {
  const spec = obj.spec ?? {};
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
  };
  if (Array.isArray(spec.hosts)) spec.hosts.forEach(add);
  add(spec.host);
  for (const key of ['http', 'tcp', 'tls']) {
    const routes: unknown = spec[key];
    if (!Array.isArray(routes)) continue;
    for (const r of routes as Array<{ route?: Array<{ destination?: { host?: unknown } }> }>) for (const d of r?.route ?? []) add(d?.destination?.host);
  }
  if (Array.isArray(spec.endpoints)) for (const e of spec.endpoints as Array<{ address?: unknown }>) add(e?.address);
  return out;
}

/** The namespace an in-cluster service name points into (`svc.ns`, `svc.ns.svc[.domain]`), '*' for a wildcard one, or undefined. */
function clusterNamespace(host: string): string | undefined {
  const labels = host.toLowerCase().replace(/:\d+$/, '').split('.');
  const svc = labels.indexOf('svc');
  if (svc >= 1) return labels[svc - 1];
  if (labels.length === 2) return labels[1];
  return undefined;
}

/** Whether the object makes its namespace's sidecars send traffic to a service in the gateway's namespace. */
export function originatesToGateway(obj: KubeObject, gatewayNamespace: string): boolean {
  return hostsOf(obj).some((h) => {
    const ns = clusterNamespace(h);
    return ns === gatewayNamespace || ns === '*';
  });
}
