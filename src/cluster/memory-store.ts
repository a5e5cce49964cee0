import type { KubeObject } from '../kube/objects.js';
import { groupKindOf, GK, type ClusterState, type GroupKind } from './state.js';

const CLUSTER = ''; // namespace key for cluster-scoped objects

/**
 * In-memory, indexed object store: kind -> namespace -> name, plus an index of
 * namespace labels so "which namespaces belong to tenant X" is a lookup, not a
 * scan. Informers and `check --state` write into it; the engine reads it.
 */
export class MemoryStore implements ClusterState {
  private readonly byKind = new Map<GroupKind, Map<string, Map<string, KubeObject>>>();
  private readonly nsLabelIndex = new Map<string, Set<string>>(); // "key=value" -> namespace names
  // Per kind and namespace: data derived from its objects until they change
  // (see ClusterState.derived).
  // Keyed kind -> namespace, without building strings: a lookup over every
  // namespace of a large cluster stays a pair of map probes each.
  private readonly derivedCache = new Map<GroupKind, Map<string, Map<string, unknown>>>();
  private readonly acrossCache = new Map<GroupKind, Map<string, unknown>>();

  /** A change to a kind in a namespace drops what was derived from it, there and across the kind. */
  private bump(gk: GroupKind, ns: string): void {
    this.derivedCache.get(gk)?.delete(ns);
    this.acrossCache.delete(gk);
  }

  derivedAcross<T>(key: string, gk: GroupKind, compute: () => T): T {
    let values = this.acrossCache.get(gk);
    if (!values) this.acrossCache.set(gk, (values = new Map()));
    if (values.has(key)) return values.get(key) as T;
    const value = compute();
    values.set(key, value);
    return value;
  }

  derived<T>(key: string, gk: GroupKind, namespace: string, compute: () => T): T {
    let byNs = this.derivedCache.get(gk);
    if (!byNs) this.derivedCache.set(gk, (byNs = new Map()));
    let values = byNs.get(namespace);
    if (!values) byNs.set(namespace, (values = new Map()));
    if (values.has(key)) return values.get(key) as T;
    const value = compute();
    values.set(key, value);
    return value;
  }

  namespacesOf(gk: GroupKind): string[] {
    const out: string[] = [];
    for (const [ns, byName] of this.byKind.get(gk) ?? []) if (byName.size > 0) out.push(ns);
    return out;
  }

  private readonly listeners = new Set<(gk: GroupKind) => void>();

  /**
   * Be told after every change, with the kind that changed (controllers
   * re-run their level-based reconcile on it). Listeners must not throw.
   * Returns the unsubscribe function.
   */
  onChange(listener: (gk: GroupKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(gk: GroupKind): void {
    for (const l of this.listeners) l(gk);
  }

  upsert(obj: KubeObject): void {
    const gk = groupKindOf(obj);
    const name = obj.metadata?.name;
    if (!name) return;
    const ns = obj.metadata.namespace ?? CLUSTER;
    if (gk === GK.Namespace) this.unindexNamespace(name);
    let byNs = this.byKind.get(gk);
    if (!byNs) this.byKind.set(gk, (byNs = new Map()));
    let byName = byNs.get(ns);
    if (!byName) byNs.set(ns, (byName = new Map()));
    byName.set(name, obj);
    this.bump(gk, ns);
    if (gk === GK.Namespace) this.indexNamespace(obj);
    this.changed(gk);
  }

  remove(obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): boolean {
    const gk = groupKindOf(obj);
    const name = obj.metadata?.name;
    if (!name) return false;
    const ns = obj.metadata.namespace ?? CLUSTER;
    const byName = this.byKind.get(gk)?.get(ns);
    if (!byName?.has(name)) return false;
    if (gk === GK.Namespace) this.unindexNamespace(name);
    byName.delete(name);
    this.bump(gk, ns);
    this.changed(gk);
    return true;
  }

  /** Drop every object of a kind (a relist replaces the whole kind). */
  replaceKind(gk: GroupKind, objects: KubeObject[]): void {
    if (gk === GK.Namespace) this.nsLabelIndex.clear();
    for (const ns of this.byKind.get(gk)?.keys() ?? []) this.bump(gk, ns);
    this.byKind.delete(gk);
    for (const o of objects) this.upsert(o);
    this.changed(gk);
  }

  get(gk: GroupKind, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.byKind.get(gk)?.get(namespace ?? CLUSTER)?.get(name);
  }

  list(gk: GroupKind, namespace?: string): KubeObject[] {
    const byNs = this.byKind.get(gk);
    if (!byNs) return [];
    if (namespace !== undefined) return [...(byNs.get(namespace)?.values() ?? [])];
    const out: KubeObject[] = [];
    for (const byName of byNs.values()) out.push(...byName.values());
    return out;
  }

  namespacesWithLabel(label: string, value: string): string[] {
    return [...(this.nsLabelIndex.get(`${label}=${value}`) ?? [])];
  }

  /** Number of stored objects, for metrics and logs. */
  size(): number {
    let n = 0;
    for (const byNs of this.byKind.values()) for (const byName of byNs.values()) n += byName.size;
    return n;
  }

  private indexNamespace(obj: KubeObject): void {
    const name = obj.metadata.name!;
    for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
      const key = `${k}=${v}`;
      let set = this.nsLabelIndex.get(key);
      if (!set) this.nsLabelIndex.set(key, (set = new Set()));
      set.add(name);
    }
  }

  private unindexNamespace(name: string): void {
    const old = this.byKind.get(GK.Namespace)?.get(CLUSTER)?.get(name);
    for (const [k, v] of Object.entries(old?.metadata.labels ?? {})) this.nsLabelIndex.get(`${k}=${v}`)?.delete(name);
  }
}
