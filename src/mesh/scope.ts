import { DATA_PATHS, isPeered } from './matrix.js';
import { ACTIVATOR } from './platform.js';
import { policyMayApply } from './label-sets.js';
import type { ParsedPolicy } from './policy.js';
import type { DataPath } from './reachability.js';
import { tenantsOf, type MeshView } from './view.js';

export function tenantOfNamespace(view: MeshView, ns: string): string | undefined {
  for (const [t, list] of view.tenantNamespaces) if (list.includes(ns)) return t;
  return undefined;
}

export function isTenantNamespace(view: MeshView, ns: string): boolean {
  return tenantOfNamespace(view, ns) !== undefined;
}

export interface CellRef {
  from: string;
  to: string;
  path: DataPath;
}

/**
 * The cross-tenant, non-peered cells a change to these policies can move:
 * a policy only acts on the workloads it can select, so one in tenant T's
 * namespace moves the cells into T, one that may select the activator the activator paths,
 * one that may select the gateway the gateway paths, and one in the mesh root namespace
 * every cell. Admission recomputes only these.
 */
export function affectedCells(view: MeshView, policies: ParsedPolicy[]): CellRef[] {
  const tenants = tenantsOf(view);
  const paths = new Map<string, Set<DataPath>>(); // target tenant -> paths
  const add = (t: string, ps: DataPath[]) => {
    const set = paths.get(t) ?? new Set<DataPath>();
    for (const p of ps) set.add(p);
    paths.set(t, set);
  };
  for (const p of policies) {
    if (p.namespace === view.root) for (const t of tenants) add(t, DATA_PATHS);
    const t = tenantOfNamespace(view, p.namespace);
    if (t) add(t, DATA_PATHS);
    // The activator and the gateway carry labels beyond the known ones: a
    // selector moves their paths unless a known label rules it out.
    if (policyMayApply(p, ACTIVATOR, view.root)) for (const x of tenants) add(x, ['activator', 'gateway-activator']);
    if (view.gateway.acceptsNoIdentity && policyMayApply(p, view.gateway.workload, view.root)) for (const x of tenants) add(x, ['gateway-activator', 'gateway']);
  }
  const out: CellRef[] = [];
  for (const [to, ps] of paths) {
    for (const from of tenants) {
      if (from === to || isPeered(view.config, from, to)) continue;
      for (const path of DATA_PATHS) if (ps.has(path)) out.push({ from, to, path });
    }
  }
  return out;
}
