import type { ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';

/**
 * Knative's four data paths into a service (see test/fixtures/reference/README.md):
 * direct (pod IP or <rev>-private), through the activator, through
 * knative-local-gateway then the activator, through the gateway alone.
 */
export type DataPath = 'direct' | 'activator' | 'gateway-activator' | 'gateway';
export const DATA_PATHS: DataPath[] = ['direct', 'activator', 'gateway-activator', 'gateway'];

export interface MatrixCell {
  from: string;
  to: string;
  path: DataPath;
  allowed: boolean;
  /** Why: the hop that denies, or the policy rules that allow every hop. */
  reason: string;
}

export interface ReachabilityMatrix {
  tenants: string[];
  paths: DataPath[];
  cells: MatrixCell[];
}

// Placeholder until the reachability model lands.
export function computeMatrix(_state: ClusterState, _config: TenancyConfig): ReachabilityMatrix {
  throw new Error('reachability model not implemented yet');
}

export function formatMatrixText(_m: ReachabilityMatrix): string {
  throw new Error('reachability model not implemented yet');
}
