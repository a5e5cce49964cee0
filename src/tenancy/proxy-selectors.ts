import type { TenancyConfig } from '../config/types.js';

/** Label sets only the platform's shared proxies may wear, with how messages name their owner. */
export interface ProxySelector {
  owner: string;
  /** What taking its policies would give a tenant pod, for messages. */
  consequence: string;
  selector: Readonly<Record<string, string>>;
}

const cache = new WeakMap<TenancyConfig, ProxySelector[]>();

/**
 * The selectors of the shared gateway (baseline.gatewayPolicy.selector) and
 * of every configured shared hop (sharedHops labels). Their policies live in
 * the mesh root namespace or are judged as the proxy's: a tenant pod wearing
 * every label of one would take that proxy's policies (a root-namespace
 * selector selects matching pods of every namespace), so tenant pods may not
 * wear them (TG-WORKLOAD-GATEWAY-LABEL) and the model never assumes they do.
 */
export function proxySelectors(config: TenancyConfig): ProxySelector[] {
  let out = cache.get(config);
  if (out) return out;
  out = [];
  const gw = config.baseline?.gatewayPolicy?.selector;
  if (gw && Object.keys(gw).length > 0) out.push({
      owner: 'the shared gateway (config baseline.gatewayPolicy.selector)',
      consequence: "the gateway's AuthorizationPolicies in the mesh root namespace would apply to this pod too, and they admit every tenant for its own Hosts and the public ingress's callers",
      selector: gw,
    });
  for (const h of config.sharedHops ?? []) if (Object.keys(h.labels).length > 0) out.push({
        owner: `the shared hop ${h.name} (config sharedHops)`,
        consequence: "that proxy's AuthorizationPolicies (in the mesh root namespace, a selector selects pods of every namespace) would apply to this pod too, and they admit the callers it serves",
        selector: h.labels,
      });
  cache.set(config, out);
  return out;
}

/** Whether labels include every label of some proxy's selector. */
export function wornProxySelector(config: TenancyConfig, labels: Readonly<Record<string, string>>): ProxySelector | undefined {
  return proxySelectors(config).find((p) => Object.entries(p.selector).every(([k, v]) => labels[k] === v));
}
