import { admissionFromManifest, placeManifest, type ManifestOperation } from '../cluster/manifest-admission.js';
import { describeSource, type Manifest } from '../cluster/manifests.js';
import type { MemoryStore } from '../cluster/memory-store.js';
import { groupKindOf, type ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { enforce } from '../engine/enforcement.js';
import { evaluate } from '../engine/index.js';
import type { AdmissionInput, Decision, KubeObject, UserInfo } from '../engine/types.js';
import { applyPatch } from './check-patch.js';

export interface CheckResult {
  manifest: Manifest;
  /** The object as submitted, namespace placed. */
  object: KubeObject;
  input: AdmissionInput;
  decision: Decision;
}

export interface RunOptions {
  userInfo: UserInfo;
  operation?: ManifestOperation;
  defaultNamespace: string;
  /** `config` (default): the config's enforcement and exceptions apply, as in the webhook; `deny`: every violation refuses. */
  enforcement?: 'config' | 'deny';
  /** The clock exceptions expire by (default: now). */
  now?: number;
  /** Raise TG-BASELINE-OPEN-WINDOW as the webhook would (--strict-open-window); by default the kept baseline is assumed. */
  strictOpenWindow?: boolean;
}

/**
 * Submit manifests one by one, as `kubectl apply` would, against `store`:
 * each admitted object (with the engine's patch applied) is written to the
 * store, so later objects are judged against what earlier ones created;
 * admitted deletes remove the object; denied requests change nothing (a
 * delete of an object absent from the state first adds it: it was named as
 * existing).
 */
export function checkManifests(manifests: Manifest[], store: MemoryStore, config: TenancyConfig, opts: RunOptions): CheckResult[] {
  const results: CheckResult[] = [];
  for (const manifest of manifests) {
    const object = placeManifest(manifest.object, opts.defaultNamespace);
    // Deleting names an object that exists: one missing from the state is taken to exist as given,
    // so rules comparing the state before and after the delete see it go.
    if (opts.operation === 'DELETE' && !store.get(groupKindOf(object), object.metadata.namespace, object.metadata.name ?? '')) store.upsert(object);
    const input = admissionFromManifest(object, store, {
      operation: opts.operation,
      userInfo: opts.userInfo,
      where: describeSource(manifest.source),
    });
    const evalOptions = { baselineAssumed: !opts.strictOpenWindow };
    const judge = (i: AdmissionInput, s: ClusterState, c: TenancyConfig) => evaluate(i, s, c, evalOptions);
    const decision = opts.enforcement === 'deny' ? judge(input, store, config) : enforce(judge, input, store, config, opts.now ?? Date.now()).decision;
    if (decision.allowed) {
      if (input.operation === 'DELETE') store.remove(object);
      else store.upsert(applyPatch(object, decision.patch));
    }
    results.push({ manifest, object, input, decision });
  }
  return results;
}

/** Load state manifests into a store, placed as they would be in the cluster. */
export function seedState(store: MemoryStore, manifests: Manifest[], defaultNamespace: string): void {
  for (const m of manifests) store.upsert(placeManifest(m.object, defaultNamespace));
}
