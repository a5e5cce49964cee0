import type { KubeObject } from '../kube/objects.js';
import { parsePolicy, PolicyShapeError, type ParsedPolicy } from './policy.js';

// Parsing is the one per-object cost of the model; objects in the cluster
// state are replaced, never mutated, on every informer event or `--state`
// load, so a parse keyed by object identity is computed once per state
// change of that object and reused by every review after it.
const parsed = new WeakMap<KubeObject, ParsedPolicy | PolicyShapeError>();

/** parsePolicy, memoised per object; a shape error is returned, not thrown. */
export function parsedPolicy(obj: KubeObject): ParsedPolicy | PolicyShapeError {
  let p = parsed.get(obj);
  if (p === undefined) {
    try {
      p = parsePolicy(obj);
    } catch (e) {
      if (!(e instanceof PolicyShapeError)) throw e;
      p = e;
    }
    parsed.set(obj, p);
  }
  return p;
}
