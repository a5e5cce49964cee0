import type { ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { reach, type DataPath } from './reachability.js';
import { buildView, tenantsOf, type MeshView } from './view.js';

export type { DataPath } from './reachability.js';

/**
 * Knative's four data paths into a service (see test/fixtures/reference/README.md):
 * direct (pod IP or <rev>-private), through the activator, through
 * knative-local-gateway then the activator, through the gateway alone.
 */
export const DATA_PATHS: DataPath[] = ['direct', 'activator', 'gateway-activator', 'gateway'];

export interface MatrixCell {
  from: string;
  to: string;
  path: DataPath;
  allowed: boolean;
  /** Why: the hop that denies, or the route, request and policy rules that allow every hop. */
  reason: string;
  /** The platform declared this cross-tenant path wanted (config `peerings`). */
  peered: boolean;
}

export interface ReachabilityMatrix {
  tenants: string[];
  paths: DataPath[];
  cells: MatrixCell[];
  /** AuthorizationPolicies the model could not read (left out: fix them). */
  unreadablePolicies: string[];
  /** What the model assumed about knative-local-gateway. */
  gateway: string;
}

export function isPeered(config: TenancyConfig, from: string, to: string): boolean {
  return config.peerings.some((p) => p.from === from && p.to === to);
}

/** One cell: can a workload of tenant `from` reach a Knative Service of tenant `to` along `path`? */
export function computeCell(view: MeshView, from: string, to: string, path: DataPath, explainDenied = true): MatrixCell {
  const r = reach(view, path, view.tenantNamespaces.get(from) ?? [], view.tenantNamespaces.get(to) ?? [], explainDenied);
  return { from, to, path, allowed: r.allowed, reason: r.reason, peered: from !== to && isPeered(view.config, from, to) };
}

/** The tenant-by-tenant reachability matrix over the four data paths. */
export function computeMatrix(state: ClusterState, config: TenancyConfig): ReachabilityMatrix {
  const view = buildView(state, config);
  const tenants = tenantsOf(view);
  const cells: MatrixCell[] = [];
  for (const path of DATA_PATHS) for (const from of tenants) for (const to of tenants) cells.push(computeCell(view, from, to, path));
  return { tenants, paths: [...DATA_PATHS], cells, unreadablePolicies: view.unreadable, gateway: view.gateway.source };
}

function pad(s: string, n: number): string {
  return s + ' '.repeat(Math.max(0, n - s.length));
}

/**
 * Human-readable matrix: per data path a from x to table ("allow", "deny",
 * "ALLOW!" for a cross-tenant cell that is open without a peering), then the
 * reason of every open cross-tenant cell.
 */
export function formatMatrixText(m: ReachabilityMatrix): string {
  const lines: string[] = [];
  const cell = (path: DataPath, from: string, to: string) => m.cells.find((c) => c.path === path && c.from === from && c.to === to);
  const mark = (c: MatrixCell | undefined, from: string, to: string): string => {
    if (!c) return '?';
    if (!c.allowed) return 'deny';
    if (from === to) return 'allow';
    return c.peered ? 'allow (peered)' : 'ALLOW!';
  };
  // Columns as wide as their longest entry (a tenant name or "allow (peered)"),
  // at least 12, with two spaces between them; no trailing spaces.
  const longestMark = Math.max(...m.cells.map((c) => mark(c, c.from, c.to).length), 0);
  const width = Math.max(12, longestMark + 2, ...m.tenants.map((t) => t.length + 2));
  const row = (cells: string[]) => cells.map((c) => pad(c, width)).join('').trimEnd();
  for (const path of m.paths) {
    lines.push(`path: ${path}`);
    lines.push(row(['from \\ to', ...m.tenants]));
    for (const from of m.tenants) lines.push(row([from, ...m.tenants.map((to) => mark(cell(path, from, to), from, to))]));
    lines.push('');
  }
  const open = m.cells.filter((c) => c.allowed && c.from !== c.to && !c.peered);
  if (open.length > 0) {
    lines.push(`open cross-tenant paths (${open.length}):`);
    for (const c of open) lines.push(`  ${c.from} -> ${c.to} via ${c.path}: ${c.reason}`);
  } else {
    lines.push('no cross-tenant path is open (peerings aside).');
  }
  lines.push(`knative-local-gateway: ${m.gateway}`);
  for (const u of m.unreadablePolicies) lines.push(`unreadable AuthorizationPolicy (not modelled): ${u}`);
  return lines.join('\n') + '\n';
}
