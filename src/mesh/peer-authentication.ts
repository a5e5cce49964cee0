import { GK, type ClusterState } from '../cluster/state.js';
import type { KubeObject } from '../kube/objects.js';
import type { Workload } from './policy.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

function modeOf(v: unknown): MtlsMode | undefined {
  return v === 'STRICT' || v === 'PERMISSIVE' || v === 'DISABLE' ? v : undefined; // UNSET/absent inherits
}

function selectorOf(pa: KubeObject): Record<string, string> | undefined {
  const ml = pa.spec?.selector?.matchLabels;
  return ml && typeof ml === 'object' && Object.keys(ml).length > 0 ? (ml as Record<string, string>) : undefined;
}

// Istio picks the oldest of several equally specific policies.
function oldest(xs: KubeObject[]): KubeObject | undefined {
  return [...xs].sort((a, b) => {
    const ta = String(a.metadata.creationTimestamp ?? '');
    const tb = String(b.metadata.creationTimestamp ?? '');
    return ta === tb ? (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '') : ta.localeCompare(tb);
  })[0];
}

/**
 * The mTLS mode a sidecar applies to inbound traffic on `port`
 * (https://istio.io/latest/docs/concepts/security/#peer-authentication):
 * workload-selected policy (its portLevelMtls first) over namespace-wide over
 * mesh-wide (root namespace, no selector); UNSET inherits; default PERMISSIVE.
 */
export function mtlsModeFor(state: ClusterState, rootNamespace: string, w: Workload, port: string): MtlsMode {
  let mode: MtlsMode = 'PERMISSIVE';
  const mesh = oldest(state.list(GK.PeerAuthentication, rootNamespace).filter((p) => !selectorOf(p)));
  mode = modeOf(mesh?.spec?.mtls?.mode) ?? mode;
  const inNs = state.list(GK.PeerAuthentication, w.namespace);
  const nsWide = w.namespace === rootNamespace ? undefined : oldest(inNs.filter((p) => !selectorOf(p)));
  mode = modeOf(nsWide?.spec?.mtls?.mode) ?? mode;
  const workload = oldest(inNs.filter((p) => {
    const sel = selectorOf(p);
    return sel !== undefined && Object.entries(sel).every(([k, v]) => w.labels[k] === v);
  }));
  if (workload) {
    const portLevel = workload.spec?.portLevelMtls?.[port]?.mode;
    mode = modeOf(portLevel) ?? modeOf(workload.spec?.mtls?.mode) ?? mode;
  }
  return mode;
}
