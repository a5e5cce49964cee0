import type { KubeObject, PatchOp } from '../engine/types.js';
import { TenantGuardError } from '../errors.js';

function unescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function describe(op: PatchOp): string {
  return `${op.op} ${op.path}`;
}

/**
 * Apply the engine's JSON Patch (RFC 6902 add/replace/remove, the only ops it
 * emits) to a copy of `obj`, as the API server does with a webhook's patch
 * before storing the object. An op that does not fit the object is an engine
 * bug, reported as TG_ERR_ENGINE.
 */
export function applyPatch(obj: KubeObject, patch: PatchOp[]): KubeObject {
  const root: unknown = structuredClone(obj);
  for (const op of patch) {
    if (!op.path.startsWith('/')) throw new TenantGuardError('TG_ERR_ENGINE', `patch op "${describe(op)}": path must start with "/"`);
    const segments = op.path.slice(1).split('/').map(unescape);
    const last = segments.pop()!;
    let parent: unknown = root;
    for (const s of segments) {
      parent = Array.isArray(parent) ? parent[Number(s)] : parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[s] : undefined;
      if (parent === undefined || parent === null || typeof parent !== 'object') {
        throw new TenantGuardError('TG_ERR_ENGINE', `patch op "${describe(op)}": parent "${s}" does not exist in the object`);
      }
    }
    const container = parent as Record<string, unknown> | unknown[];
    if (Array.isArray(container)) {
      const index = last === '-' ? container.length : Number(last);
      const limit = op.op === 'add' ? container.length : container.length - 1;
      if (!Number.isInteger(index) || index < 0 || index > limit) {
        throw new TenantGuardError('TG_ERR_ENGINE', `patch op "${describe(op)}": index out of range`);
      }
      if (op.op === 'add') container.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'replace') container[index] = structuredClone(op.value);
      else container.splice(index, 1);
      continue;
    }
    if (op.op !== 'add' && !(last in container)) {
      throw new TenantGuardError('TG_ERR_ENGINE', `patch op "${describe(op)}": "${last}" does not exist in the object`);
    }
    if (op.op === 'remove') delete container[last];
    else container[last] = structuredClone(op.value);
  }
  return root as KubeObject;
}
