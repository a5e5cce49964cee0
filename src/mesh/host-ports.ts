import { freeHostCandidates, routedHostCandidates } from './candidates.js';
import type { Route } from './routes.js';

// A gateway routes `<host>:<anything>` to `<host>`'s destination: unless
// istiod runs with ISTIO_GATEWAY_STRIP_HOST_PORT, every VirtualService host
// on a gateway gets the Envoy domains `<host>` and `<host>:*`
// (pilot/pkg/networking/core/gateway.go buildGatewayVirtualHostDomains: "To
// support gateway behind a LB with unknown port"), Envoy does not check that
// what follows the colon is a number, and net-istio matches the authority by
// prefix. Istio's `hosts` are matched against the whole :authority, so such
// a Host ends with whatever a suffix pattern asks: `hello.tenant-1:x.tenant-2`
// is routed into tenant-1 and matches tenant-2's `*.tenant-2`.

/** Hosts routed like `bases` by a gateway that routes `<host>:*`, shaped to meet each pattern. */
export function anyPortHostCandidates(bases: string[], patterns: string[], fresh: string): string[] {
  const out = new Set<string>();
  for (const h of bases) {
    if (h.includes(':')) continue;
    out.add(`${h}:${fresh}`);
    for (const raw of patterns) {
      const p = raw.toLowerCase();
      if (p.length > 1 && p.startsWith('*')) out.add(`${h}:${fresh}${p.slice(1)}`);
      else if (p.length > 1 && p.endsWith('*')) {
        const prefix = p.slice(0, -1);
        if (prefix.startsWith(`${h}:`)) out.add(`${prefix}${fresh}`);
      } else if (p.startsWith(`${h}:`)) out.add(p);
    }
  }
  return [...out];
}

/** The Hosts a search tries on `route`: routed to its target (any port string where a gateway routes `<host>:*`), or any Host. */
export function hostCandidatesFor(route: Route, target: string, patterns: string[], fresh: string): string[] {
  if (!route.hostRoutedTo) return freeHostCandidates(target, patterns, fresh);
  const routed = routedHostCandidates(route.hostRoutedTo, patterns, fresh);
  return route.hostAnyPort ? [...routed, ...anyPortHostCandidates(routed, patterns, fresh)] : routed;
}
