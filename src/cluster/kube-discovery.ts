import type { GroupKind } from './state.js';
import { isHttpStatus, type KubeClient } from './kube-client.js';

/** Where a kind lives in the API: enough to list and watch it. */
export interface ResourceInfo {
  gk: GroupKind;
  group: string;
  version: string;
  kind: string;
  /** Plural resource name, e.g. `authorizationpolicies`. */
  plural: string;
  namespaced: boolean;
}

/** `/api/v1/namespaces`, `/apis/security.istio.io/v1/namespaces/ns/authorizationpolicies`. */
export function resourcePath(r: ResourceInfo, namespace?: string): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return namespace && r.namespaced ? `${root}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${root}/${r.plural}`;
}

export function splitGroupKind(gk: GroupKind): { group: string; kind: string } {
  const slash = gk.lastIndexOf('/');
  return { group: gk.slice(0, slash), kind: gk.slice(slash + 1) };
}

interface APIGroup {
  versions?: { version: string }[];
  preferredVersion?: { version: string };
}
interface APIResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/**
 * Finds the served version and plural of a group/kind through API discovery,
 * preferring the group's preferred version (Istio serves v1, v1beta1 and
 * v1alpha3 of one stored object; any of them is the same object for us).
 * Answers `undefined` when the kind is not served, e.g. a CRD not installed.
 */
export async function discoverResource(client: KubeClient, gk: GroupKind): Promise<ResourceInfo | undefined> {
  const { group, kind } = splitGroupKind(gk);
  let versions: string[];
  if (group === '') {
    versions = ['v1'];
  } else {
    let g: APIGroup;
    try {
      g = await client.get<APIGroup>(`/apis/${group}`);
    } catch (e) {
      if (isHttpStatus(e, 404)) return undefined;
      throw e;
    }
    const all = (g.versions ?? []).map((v) => v.version);
    const preferred = g.preferredVersion?.version;
    versions = preferred ? [preferred, ...all.filter((v) => v !== preferred)] : all;
  }
  for (const version of versions) {
    let list: APIResourceList;
    try {
      list = await client.get<APIResourceList>(group === '' ? `/api/${version}` : `/apis/${group}/${version}`);
    } catch (e) {
      if (isHttpStatus(e, 404)) continue;
      throw e;
    }
    // Subresources ("services/status") repeat the kind; the main resource has no slash.
    const r = (list.resources ?? []).find((x) => x.kind === kind && !x.name.includes('/'));
    if (r) return { gk, group, version, kind, plural: r.name, namespaced: r.namespaced };
  }
  return undefined;
}
