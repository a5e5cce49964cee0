import type { KubeObject } from '../kube/objects.js';
import type { KubeClient } from './kube-client.js';
import { resourcePath, type ResourceInfo } from './kube-discovery.js';

/** Page size of list calls: bounds the API server's and our memory per request. */
const PAGE_SIZE = 500;

/**
 * The object as the state keeps it. List items of built-in kinds come without
 * apiVersion/kind (they are on the List), and managedFields are bookkeeping no
 * rule reads but that often make up half of an object's size.
 */
export function normalizeObject(obj: any, r: ResourceInfo): KubeObject {
  const apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`;
  const metadata = { ...(obj?.metadata ?? {}) };
  delete metadata.managedFields;
  return { ...obj, apiVersion: obj?.apiVersion ?? apiVersion, kind: obj?.kind ?? r.kind, metadata };
}

export interface ListResult {
  items: KubeObject[];
  /** The list's resourceVersion: a watch started from it misses nothing. */
  resourceVersion: string;
}

/**
 * Every object of a resource (in one namespace or everywhere), following
 * `continue` tokens. All pages come from one consistent snapshot, so the
 * resourceVersion of the last page is valid for the whole list
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks).
 */
export async function listAll(client: KubeClient, r: ResourceInfo, opts: { namespace?: string; signal?: AbortSignal } = {}): Promise<ListResult> {
  const items: KubeObject[] = [];
  let cont: string | undefined;
  let resourceVersion = '';
  do {
    const page = await client.get<{ items?: unknown[]; metadata?: { continue?: string; resourceVersion?: string } }>(
      resourcePath(r, opts.namespace),
      { limit: PAGE_SIZE, continue: cont },
      opts.signal,
    );
    for (const o of page.items ?? []) items.push(normalizeObject(o, r));
    cont = page.metadata?.continue || undefined;
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
  } while (cont);
  return { items, resourceVersion };
}
