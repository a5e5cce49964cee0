import type { ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { MeshState } from './mesh-state.js';
import { isPeered } from '../tenancy/tenancy.js';
import { reachAny } from './reach.js';
import { DATA_PATHS, type DataPath } from './routes.js';

export type { DataPath } from './routes.js';
export { DATA_PATHS } from './routes.js';
export { isPeered } from '../tenancy/tenancy.js';

/** The matrix row that stands for every caller that is no tenant's today (namespaces created later, or existing without a tenant). */
export const OTHER_CALLERS = '(other)';

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
  /** Caller rows: the tenants, then OTHER_CALLERS. */
  sources: string[];
  paths: DataPath[];
  cells: MatrixCell[];
  /** AuthorizationPolicies the model could not read (counted conservatively: fix them). */
  unreadablePolicies: string[];
  /** What the model assumed about knative-local-gateway. */
  gateway: string;
}

/**
 * The tenant-by-tenant reachability matrix over the four data paths, plus a
 * row for callers that are no tenant's today. Each target tenant is judged
 * first against the symbolic foreign caller (every namespace it does not own
 * or peer with, today's and tomorrow's); only when that finds a way in are
 * the rows computed one by one, to say who gets in. A closed cluster costs
 * one symbolic check per tenant and path.
 */
export function computeMatrix(state: ClusterState, config: TenancyConfig): ReachabilityMatrix {
  const m = new MeshState(state, config);
  const tenants = m.ownership.tenants();
  const sources = [...tenants, OTHER_CALLERS];
  const cells: MatrixCell[] = [];
  for (const path of DATA_PATHS) {
    for (const to of tenants) {
      const targets = m.ownership.namespacesOf(to);
      const foreign = reachAny(m, path, { kind: 'foreign', tenant: to }, targets);
      for (const from of sources) {
        const peered = from !== to && from !== OTHER_CALLERS && isPeered(config, from, to);
        const cross = from !== to && !peered;
        if (cross && !foreign.allowed) {
          cells.push({ from, to, path, allowed: false, reason: foreign.reason, peered });
          continue;
        }
        const r =
          from === OTHER_CALLERS
            ? reachAny(m, path, { kind: 'foreign', tenant: to, onlyUnlisted: true }, targets)
            : reachAny(m, path, { kind: 'namespaces', namespaces: m.ownership.namespacesOf(from) }, targets);
        cells.push({ from, to, path, allowed: r.allowed, reason: r.reason, peered });
      }
    }
  }
  // Every policy of the state, read or not, so the report lists them all.
  for (const ns of new Set(state.list('security.istio.io/AuthorizationPolicy').map((o) => o.metadata.namespace ?? ''))) m.policiesIn(ns);
  return { tenants, sources, paths: [...DATA_PATHS], cells, unreadablePolicies: m.unreadable(), gateway: m.gateway.source };
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
  const index = new Map(m.cells.map((c) => [`${c.path}|${c.from}|${c.to}`, c]));
  const mark = (c: MatrixCell | undefined): string => {
    if (!c) return '?';
    if (!c.allowed) return 'deny';
    if (c.from === c.to) return 'allow';
    return c.peered ? 'allow (peered)' : 'ALLOW!';
  };
  // Columns as wide as their longest entry (a tenant name or "allow (peered)"),
  // at least 12, with two spaces between them; no trailing spaces.
  const longestMark = Math.max(...m.cells.map((c) => mark(c).length), 0);
  const width = Math.max(12, longestMark + 2, ...m.sources.map((t) => t.length + 2));
  const row = (cells: string[]) => cells.map((c) => pad(c, width)).join('').trimEnd();
  for (const path of m.paths) {
    lines.push(`path: ${path}`);
    lines.push(row(['from \\ to', ...m.tenants]));
    for (const from of m.sources) lines.push(row([from, ...m.tenants.map((to) => mark(index.get(`${path}|${from}|${to}`)))]));
    lines.push('');
  }
  lines.push(`${OTHER_CALLERS}: any namespace that is no tenant's today (created later by anyone, or existing without a tenant label)`);
  const open = openCrossTenantCells(m);
  if (open.length > 0) {
    lines.push(`open cross-tenant paths (${open.length}):`);
    for (const c of open) lines.push(`  ${c.from} -> ${c.to} via ${c.path}: ${c.reason}`);
  } else {
    lines.push('no cross-tenant path is open (peerings aside).');
  }
  lines.push(`knative-local-gateway: ${m.gateway}`);
  for (const u of m.unreadablePolicies) lines.push(`unreadable AuthorizationPolicy: ${u}`);
  return lines.join('\n') + '\n';
}

/** Cross-tenant cells that are open without a peering. */
export function openCrossTenantCells(m: ReachabilityMatrix): MatrixCell[] {
  return m.cells.filter((c) => c.allowed && c.from !== c.to && !c.peered);
}
