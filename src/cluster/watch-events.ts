import type { WatchEvent } from './kube-client.js';
import type { ResourceInfo } from './kube-discovery.js';
import { normalizeObject } from './kube-list.js';
import type { MemoryStore } from './memory-store.js';

/**
 * The API server no longer has the history the watch asked for (410 Gone,
 * "too old resource version"): the only way back is a fresh list
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses).
 */
export class ResourceVersionExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceVersionExpiredError';
  }
}

/**
 * Applies one watch event to the store; returns the resourceVersion to resume
 * from. ERROR events carry a Status: code 410 means "relist", anything else
 * ends the watch (the caller re-establishes it).
 */
export function applyWatchEvent(store: MemoryStore, event: WatchEvent, r: ResourceInfo, lastResourceVersion: string): string {
  const obj = event.object;
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
      store.upsert(normalizeObject(obj, r));
      break;
    case 'DELETED':
      store.remove(normalizeObject(obj, r));
      break;
    case 'BOOKMARK':
      // Only the resourceVersion: lets a restarted watch skip events it already has.
      break;
    case 'ERROR': {
      const code = typeof obj?.code === 'number' ? obj.code : undefined;
      const message = typeof obj?.message === 'string' ? obj.message : 'unknown error';
      if (code === 410) throw new ResourceVersionExpiredError(`watch of ${r.gk}: ${message}`);
      throw new Error(`watch of ${r.gk} ended with an error event${code ? ` (${code})` : ''}: ${message}`);
    }
    default:
      throw new Error(`watch of ${r.gk}: unknown event type ${JSON.stringify((event as { type?: unknown }).type)}`);
  }
  const rv = obj?.metadata?.resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : lastResourceVersion;
}
