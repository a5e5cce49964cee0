import type { KubeObject } from '../kube/objects.js';

/**
 * A group/kind key, version-insensitive: `security.istio.io/AuthorizationPolicy`,
 * `/Namespace` for the core group. v1 and v1beta1 of one kind are the same
 * stored object in the API server, so the state keeps one copy.
 */
export type GroupKind = string;

export function groupKind(group: string, kind: string): GroupKind {
  return `${group}/${kind}`;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function groupKindOf(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): GroupKind {
  return groupKind(groupOf(obj.apiVersion), obj.kind);
}

export const GK = {
  Namespace: groupKind('', 'Namespace'),
  Pod: groupKind('', 'Pod'),
  AuthorizationPolicy: groupKind('security.istio.io', 'AuthorizationPolicy'),
  PeerAuthentication: groupKind('security.istio.io', 'PeerAuthentication'),
  RequestAuthentication: groupKind('security.istio.io', 'RequestAuthentication'),
  DestinationRule: groupKind('networking.istio.io', 'DestinationRule'),
  Gateway: groupKind('networking.istio.io', 'Gateway'),
  VirtualService: groupKind('networking.istio.io', 'VirtualService'),
  ServiceEntry: groupKind('networking.istio.io', 'ServiceEntry'),
  Sidecar: groupKind('networking.istio.io', 'Sidecar'),
  EnvoyFilter: groupKind('networking.istio.io', 'EnvoyFilter'),
  WasmPlugin: groupKind('extensions.istio.io', 'WasmPlugin'),
  KnativeService: groupKind('serving.knative.dev', 'Service'),
  KnativeConfiguration: groupKind('serving.knative.dev', 'Configuration'),
  KnativeRevision: groupKind('serving.knative.dev', 'Revision'),
  KnativeRoute: groupKind('serving.knative.dev', 'Route'),
  KnativeDomainMapping: groupKind('serving.knative.dev', 'DomainMapping'),
} as const;

/**
 * Read-only view of the cluster that decisions depend on. Filled by informers
 * in a live cluster (src/cluster/informers.ts) and from manifest files by
 * `check --state`; the engine cannot tell the two apart.
 */
export interface ClusterState {
  get(gk: GroupKind, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Objects of a kind, in one namespace or (namespace undefined) everywhere. */
  list(gk: GroupKind, namespace?: string): KubeObject[];
  /** Names of namespaces whose `label` has `value` (indexed, for tenant lookups). */
  namespacesWithLabel(label: string, value: string): string[];
  /** Namespaces holding at least one object of the kind. */
  namespacesOf(gk: GroupKind): string[];
  /**
   * Data computed from the objects of one kind in one namespace, kept until
   * those objects change: the mesh model compiles a namespace's policies once
   * per change, not once per review. `compute` must read only that kind in
   * that namespace.
   */
  derived<T>(key: string, gk: GroupKind, namespace: string, compute: () => T): T;
  /**
   * Data computed from every object of one kind, kept until any of them
   * changes: a cluster-wide index (which namespaces' policies name a given
   * namespace) read by every Namespace review. `compute` must read only that
   * kind (through `derived` per namespace, so a rebuild recomputes only the
   * namespaces that changed).
   */
  derivedAcross<T>(key: string, gk: GroupKind, compute: () => T): T;
}
