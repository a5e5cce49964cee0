import type { KubeObject } from '../kube/objects.js';
import type { KubeClient } from './kube-client.js';
import { discoverResource, type ResourceInfo } from './kube-discovery.js';
import { listAll } from './kube-list.js';
import type { GroupKind } from './state.js';

export interface KindSnapshot {
  gk: GroupKind;
  /** Where the kind was found; undefined when the API server does not serve it (CRD not installed). */
  resource: ResourceInfo | undefined;
  items: KubeObject[];
}

/**
 * One-shot read of a kind: everywhere, or only in `namespaces` (for kinds
 * that are numerous cluster-wide but matter only in some namespaces, like
 * Pods). A kind the API server does not serve reads as empty, with
 * `resource` undefined so the caller can say so.
 */
export async function readKind(client: KubeClient, gk: GroupKind, namespaces?: string[]): Promise<KindSnapshot> {
  const resource = await discoverResource(client, gk);
  if (!resource) return { gk, resource, items: [] };
  if (!resource.namespaced || namespaces === undefined) {
    return { gk, resource, items: (await listAll(client, resource)).items };
  }
  const items: KubeObject[] = [];
  for (const ns of namespaces) items.push(...(await listAll(client, resource, { namespace: ns })).items);
  return { gk, resource, items };
}
