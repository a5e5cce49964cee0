import type { MeshState } from './mesh-state.js';
import { solveRoute, type Witness } from './request-space.js';
import { routesFor, type CallerSet, type DataPath, type Route } from './routes.js';
import { describeAllowed, describeDenied } from './explain.js';

// The per-target check: can some caller of a set reach some revision pod of
// one namespace along one data path? Its cost depends on the policies on the
// way into that namespace (its own, the mesh root's, the activator's and the
// gateway's that can route to it), not on how many tenants exist.

export interface Found {
  route: Route;
  witness: Witness;
}

export interface ReachResult {
  allowed: boolean;
  reason: string;
  found?: Found;
}

export function reachNamespace(m: MeshState, path: DataPath, callers: CallerSet, ns: string, explainDenied = true): ReachResult {
  let firstDenied: Route | undefined;
  for (const labels of m.podLabels(ns)) {
    for (const route of routesFor(m, path, callers, ns, labels)) {
      const witness = solveRoute(m, route);
      if (witness) return { allowed: true, reason: describeAllowed(m, route, witness), found: { route, witness } };
      firstDenied ??= route;
    }
  }
  return { allowed: false, reason: explainDenied && firstDenied ? describeDenied(m, firstDenied) : 'no request passes every hop' };
}

/** Whether some caller of the set reaches some namespace of `namespaces` along `path`. */
export function reachAny(m: MeshState, path: DataPath, callers: CallerSet, namespaces: string[], explainDenied = true): ReachResult {
  if (callers.kind === 'namespaces' && callers.namespaces.length === 0) return { allowed: false, reason: 'the source tenant has no namespace, so no workload to call from' };
  if (namespaces.length === 0) return { allowed: false, reason: 'the target tenant has no namespace, so no service to reach' };
  let first: ReachResult | undefined;
  for (const ns of namespaces) {
    const r = reachNamespace(m, path, callers, ns, explainDenied && first === undefined);
    if (r.allowed) return r;
    first ??= r;
  }
  return first!;
}
