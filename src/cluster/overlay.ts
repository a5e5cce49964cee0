import type { KubeObject } from '../kube/objects.js';
import { groupKindOf, GK, type ClusterState, type GroupKind } from './state.js';

function sameRef(a: KubeObject, gk: GroupKind, ns: string | undefined, name: string): boolean {
  return groupKindOf(a) === gk && (a.metadata.namespace ?? undefined) === (ns || undefined) && a.metadata.name === name;
}

/**
 * The state as it would be if one object were written or deleted: the engine
 * compares "before" (the base) with "after" (this view) without copying the
 * base or touching it.
 */
export class OverlayState implements ClusterState {
  constructor(
    private readonly base: ClusterState,
    private readonly written: KubeObject | undefined,
    private readonly deleted: KubeObject | undefined,
  ) {}

  private hides(o: KubeObject): boolean {
    const t = this.written ?? this.deleted;
    return t !== undefined && sameRef(o, groupKindOf(t), t.metadata.namespace, t.metadata.name ?? '');
  }

  get(gk: GroupKind, namespace: string | undefined, name: string): KubeObject | undefined {
    if (this.written && sameRef(this.written, gk, namespace, name)) return this.written;
    if (this.deleted && sameRef(this.deleted, gk, namespace, name)) return undefined;
    return this.base.get(gk, namespace, name);
  }

  list(gk: GroupKind, namespace?: string): KubeObject[] {
    const out = this.base.list(gk, namespace).filter((o) => !this.hides(o));
    const w = this.written;
    if (w && groupKindOf(w) === gk && (namespace === undefined || (w.metadata.namespace ?? '') === namespace)) out.push(w);
    return out;
  }

  /** Whether the written or deleted object is of this kind in this namespace. */
  private touches(gk: GroupKind, namespace: string): boolean {
    const t = this.written ?? this.deleted;
    return t !== undefined && groupKindOf(t) === gk && (t.metadata.namespace ?? '') === namespace;
  }

  derived<T>(key: string, gk: GroupKind, namespace: string, compute: () => T): T {
    // Untouched namespaces share the base's derived data; the changed one is computed afresh.
    return this.touches(gk, namespace) ? compute() : this.base.derived(key, gk, namespace, compute);
  }

  derivedAcross<T>(key: string, gk: GroupKind, compute: () => T): T {
    const t = this.written ?? this.deleted;
    return t !== undefined && groupKindOf(t) === gk ? compute() : this.base.derivedAcross(key, gk, compute);
  }

  namespacesOf(gk: GroupKind): string[] {
    const out = new Set(this.base.namespacesOf(gk));
    const w = this.written;
    if (w && groupKindOf(w) === gk) out.add(w.metadata.namespace ?? '');
    return [...out];
  }

  namespacesWithLabel(label: string, value: string): string[] {
    const names = new Set(this.base.namespacesWithLabel(label, value));
    const t = this.written ?? this.deleted;
    if (t && groupKindOf(t) === GK.Namespace && t.metadata.name) {
      names.delete(t.metadata.name);
      if (this.written?.metadata.labels?.[label] === value) names.add(t.metadata.name);
    }
    return [...names];
  }
}
