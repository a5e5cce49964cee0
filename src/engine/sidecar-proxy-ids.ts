// The UIDs and GIDs Istio's proxy may run as in a namespace: the ones whose
// traffic istio-iptables exempts from capture (`-u <uid> -g <gid>`), so any
// other process running as one of them connects out past the sidecar.
//
// 1337 everywhere. On OpenShift, Istio's injector instead gives the proxy the
// LAST UID of the namespace's preallocated range (annotation
// `openshift.io/sa.scc.uid-range`, "<start>/<size>" or "<start>-<end>") and
// the last GID of the first block of `openshift.io/sa.scc.supplemental-groups`
// (falling back to the UID range), so that the proxy runs under the
// namespace's SCC: istio/istio pkg/kube/inject/inject.go GetProxyIDs and
// pkg/kube/inject/openshift.go getPreallocatedUIDRange / ParseBlock. A tenant
// container may ask for any UID of that range (SCC MustRunAsRange), the last
// one included, so that UID is as much "the proxy's" as 1337 is.

import { GK, type ClusterState } from '../cluster/state.js';

/** Istio's default proxy UID and GID (tools/istio-iptables constants.DefaultProxyUID). */
export const DEFAULT_PROXY_ID = 1337;

const UID_RANGE = 'openshift.io/sa.scc.uid-range';
const SUPPLEMENTAL_GROUPS = 'openshift.io/sa.scc.supplemental-groups';

export interface ProxyIds {
  uids: ReadonlySet<number>;
  gids: ReadonlySet<number>;
}

/** Last id of an OpenShift id block ("start/size" or "start-end"), as ParseBlock reads it. */
export function blockEnd(block: string): number | undefined {
  const slash = /^\s*(\d+)\/(\d+)/.exec(block);
  if (slash) {
    const size = Number(slash[2]);
    return size > 0 ? Number(slash[1]) + size - 1 : undefined;
  }
  const dash = /^\s*(\d+)-(\d+)/.exec(block);
  return dash ? Number(dash[2]) : undefined;
}

/** Istio's defaults, for every namespace without an OpenShift range (shared: never modified). */
export const DEFAULT_PROXY_IDS: ProxyIds = { uids: new Set([DEFAULT_PROXY_ID]), gids: new Set([DEFAULT_PROXY_ID]) };

/** The proxy ids of `namespace`, read from its Namespace object in the state. */
export function proxyIdsOf(state: ClusterState, namespace: string | undefined): ProxyIds {
  const annotations = namespace ? state.get(GK.Namespace, undefined, namespace)?.metadata.annotations : undefined;
  const uidRange = annotations?.[UID_RANGE];
  const groups = annotations?.[SUPPLEMENTAL_GROUPS] ?? uidRange;
  const uid = typeof uidRange === 'string' && uidRange !== '' ? blockEnd(uidRange) : undefined;
  const gid = typeof groups === 'string' && groups !== '' ? blockEnd(groups.split(',')[0] ?? '') : undefined;
  // Outside OpenShift no range is set: no sets to build per review.
  if (uid === undefined && gid === undefined) return DEFAULT_PROXY_IDS;
  const uids = new Set([DEFAULT_PROXY_ID]);
  const gids = new Set([DEFAULT_PROXY_ID]);
  if (uid !== undefined) uids.add(uid);
  if (gid !== undefined) gids.add(gid);
  return { uids, gids };
}
