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
//
// A policy labelled istio.io/rev is read only by the istiod of that revision;
// every other control plane skips it (istio/istio pkg/config/model.go
// ObjectInRevision / LabelsInRevision: a labelled object is in a revision
// only if the label equals it). So a STRICT `default` policy relabelled
// `istio.io/rev: nope` is ignored by the istiod that configures the
// namespace's proxies, and the namespace falls back to the mesh default. A
// labelled policy counts for a namespace only when its label names a
// revision known to serve that namespace (`servingRevisions`).

import { GK, type ClusterState } from '../cluster/state.js';
import type { KubeObject } from './types.js';

const REVISION_LABEL = 'istio.io/rev';

/**
 * The control-plane revisions that configure the proxies of a namespace
 * (the tenant's own revision, the namespace's istio.io/rev label); empty when
 * only the default, unnamed one is known. Unlabelled policies count for every
 * revision.
 */
export type ServingRevisions = (ns: string) => ReadonlySet<string>;

const NO_REVISIONS: ServingRevisions = () => new Set();

/** True when the control plane serving `ns` reads `pa` (see the header). */
export function isHonored(pa: KubeObject, ns: string, serving: ServingRevisions): boolean {
  const rev = pa.metadata.labels?.[REVISION_LABEL];
  return rev === undefined || serving(ns).has(rev);
}

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

/**
 * The mesh-wide level is STRICT for the proxies of `forNs`: a mesh-wide
 * policy they honour exists and resolves to STRICT (UNSET there means PERMISSIVE).
 */
export function meshIsStrict(state: ClusterState, rootNamespace: string, how: Certainty = 'certainly', serving: ServingRevisions = NO_REVISIONS, forNs = rootNamespace): boolean {
  const mesh = state.list(GK.PeerAuthentication, rootNamespace).filter((p) => isNamespaceWide(p) && isHonored(p, forNs, serving));
  return mesh.length > 0 && levelStrict(mesh, (p) => mtlsMode(p) === 'STRICT', how);
}

/**
 * The namespace-wide mode of `ns` is STRICT (workload policies aside): its
 * namespace-wide policies resolve to STRICT (UNSET inheriting the mesh), or
 * it has none and the mesh-wide level is STRICT. Only policies the
 * namespace's control plane honours are counted.
 */
export function namespaceIsStrict(state: ClusterState, ns: string, rootNamespace: string, how: Certainty = 'certainly', serving: ServingRevisions = NO_REVISIONS): boolean {
  const mesh = meshIsStrict(state, rootNamespace, how, serving, ns);
  if (ns === rootNamespace) return mesh;
  const own = state.list(GK.PeerAuthentication, ns).filter((p) => isNamespaceWide(p) && isHonored(p, ns, serving));
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
