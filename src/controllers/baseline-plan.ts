import { isDeepStrictEqual } from 'node:util';
import { GK, groupKindOf, type ClusterState } from '../cluster/state.js';
import type { KubeObject } from '../engine/types.js';
import { baselineRoleOf, isManaged } from '../tenancy/baseline-objects.js';

// What the baseline reconciler must do to bring the cluster to the desired
// objects: pure, so every case is tested without an API server.

export type BaselineAction =
  | { type: 'create'; object: KubeObject }
  /** `object` is the current object with the desired fields written over it (resourceVersion kept: optimistic). */
  | { type: 'update'; object: KubeObject; drift: string[] }
  | { type: 'delete'; object: KubeObject }
  /** A user's object has the name of a baseline object: left alone, reported. */
  | { type: 'conflict'; object: KubeObject };

// Istio skips enforcement of a policy with this annotation
// (https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/):
// on a managed policy it is drift.
const DRY_RUN = 'istio.io/dry-run';

/** Managed by tenant-guard and a baseline object: the only objects the reconciler updates or deletes. */
export function isBaselineObject(o: KubeObject): boolean {
  return isManaged(o) && baselineRoleOf(o) !== undefined;
}

const key = (o: KubeObject) => `${groupKindOf(o)} ${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

function isTerminating(state: ClusterState, ns: string | undefined): boolean {
  const obj = ns ? state.get(GK.Namespace, undefined, ns) : undefined;
  return !obj || !!obj.metadata.deletionTimestamp;
}

/** The fields of `current` that differ from `desired`, and the repaired object. */
export function repair(current: KubeObject, desired: KubeObject): { object: KubeObject; drift: string[] } {
  const drift: string[] = [];
  if (!isDeepStrictEqual(current.spec, desired.spec)) drift.push('spec');
  const labels = { ...(current.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) };
  if (!isDeepStrictEqual(labels, current.metadata.labels ?? {})) drift.push('metadata.labels');
  const annotations = { ...(current.metadata.annotations ?? {}) };
  if (DRY_RUN in annotations) {
    delete annotations[DRY_RUN];
    drift.push(`metadata.annotations["${DRY_RUN}"]`);
  }
  const owners = desired.metadata.ownerReferences;
  if (owners !== undefined && !isDeepStrictEqual(owners, current.metadata.ownerReferences)) drift.push('metadata.ownerReferences');
  const metadata: KubeObject['metadata'] = { ...current.metadata, labels, annotations };
  if (owners !== undefined) metadata.ownerReferences = owners;
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  // The stored object also carries status and the API server's bookkeeping; the spec is replaced whole.
  return { object: { ...current, apiVersion: desired.apiVersion, kind: desired.kind, metadata, spec: desired.spec }, drift };
}

/**
 * Creates, updates and conflicts first, deletes last (the reconciler relies
 * on that order). Create what is missing, repair what drifted, delete managed objects that
 * are no longer desired (their namespace or tenant is gone). Only objects
 * carrying the managed-by label are ever updated or deleted; an object in
 * a namespace being deleted is left to the namespace's deletion.
 */
export function planBaseline(desired: KubeObject[], state: ClusterState): BaselineAction[] {
  const actions: BaselineAction[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    wanted.add(key(d));
    const current = state.get(groupKindOf(d), d.metadata.namespace, d.metadata.name!);
    if (!current) {
      actions.push({ type: 'create', object: d });
    } else if (!isBaselineObject(current)) {
      actions.push({ type: 'conflict', object: current });
    } else {
      const r = repair(current, d);
      if (r.drift.length > 0) actions.push({ type: 'update', object: r.object, drift: r.drift });
    }
  }
  for (const gk of [GK.PeerAuthentication, GK.AuthorizationPolicy]) {
    for (const o of state.list(gk)) {
      if (!isBaselineObject(o) || wanted.has(key(o)) || o.metadata.deletionTimestamp) continue;
      // A namespace on its way out takes its objects with it; a delete there races the namespace controller.
      if (isTerminating(state, o.metadata.namespace)) continue;
      actions.push({ type: 'delete', object: o });
    }
  }
  return actions;
}
