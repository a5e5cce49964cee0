// Which namespaces are STRICT mTLS by their namespace-wide and mesh-wide
// PeerAuthentications, read from a cluster state (before or after a write).
//
// Istio composes the mode for a workload from the mesh-wide policy (root
// namespace, no selector), then the namespace-wide policy (no selector or an
// empty matchLabels), then the workload policy; UNSET inherits from the
// level above and the top falls back to PERMISSIVE (istio/istio
// pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication).
// Within one level Istio uses the oldest policy. This module does not rely on
// creation order; it answers two questions instead:
// - certainly STRICT: every policy at the deciding level resolves to STRICT,
//   whichever of them Istio picks;
// - possibly STRICT: at least one of them does, so Istio may enforce STRICT.
// A change weakens a namespace when it loses either property; whichever
// policy Istio picks, a real weakening is caught.

import { GK, type ClusterState } from '../cluster/state.js';
import type { KubeObject } from './types.js';

export type MtlsMode = 'UNSET' | 'STRICT' | 'PERMISSIVE' | 'DISABLE' | string;

/** `spec.mtls.mode`; a policy without `mtls` (or without `mode`) is UNSET. */
export function mtlsMode(pa: KubeObject | undefined): MtlsMode {
  const m: unknown = pa?.spec?.mtls?.mode;
  return typeof m === 'string' && m !== '' ? m : 'UNSET';
}

/** No selector, or a selector without matchLabels: the policy covers the whole namespace. */
export function isNamespaceWide(pa: KubeObject | undefined): boolean {
  const labels: unknown = pa?.spec?.selector?.matchLabels;
  return !labels || typeof labels !== 'object' || Object.keys(labels).length === 0;
}

type Certainty = 'certainly' | 'possibly';

function levelStrict(policies: KubeObject[], resolves: (p: KubeObject) => boolean, how: Certainty): boolean {
  return how === 'certainly' ? policies.every(resolves) : policies.some(resolves);
}

/** The mesh-wide level is STRICT: a mesh-wide policy exists and resolves to STRICT (UNSET there means PERMISSIVE). */
export function meshIsStrict(state: ClusterState, rootNamespace: string, how: Certainty = 'certainly'): boolean {
  const mesh = state.list(GK.PeerAuthentication, rootNamespace).filter(isNamespaceWide);
  return mesh.length > 0 && levelStrict(mesh, (p) => mtlsMode(p) === 'STRICT', how);
}

/**
 * The namespace-wide mode of `ns` is STRICT (workload policies aside): its
 * namespace-wide policies resolve to STRICT (UNSET inheriting the mesh), or
 * it has none and the mesh-wide level is STRICT.
 */
export function namespaceIsStrict(state: ClusterState, ns: string, rootNamespace: string, how: Certainty = 'certainly'): boolean {
  const mesh = meshIsStrict(state, rootNamespace, how);
  if (ns === rootNamespace) return mesh;
  const own = state.list(GK.PeerAuthentication, ns).filter(isNamespaceWide);
  if (own.length === 0) return mesh;
  return levelStrict(
    own,
    (p) => {
      const m = mtlsMode(p);
      return m === 'STRICT' || (m === 'UNSET' && mesh);
    },
    how,
  );
}
