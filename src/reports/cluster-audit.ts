// The audit of a live cluster, shared by `tenant-guard audit` and the
// PolicyReport controller: read every kind the engine judges or reads, then
// judge each object as a CREATE by the identity that would write it.
import { WATCHED_KINDS } from '../cluster/informers.js';
import type { KubeClient } from '../cluster/kube-client.js';
import { splitGroupKind } from '../cluster/kube-discovery.js';
import { readKind } from '../cluster/kube-snapshot.js';
import { MemoryStore } from '../cluster/memory-store.js';
import { OverlayState } from '../cluster/overlay.js';
import { GK, groupKind, groupOf, type GroupKind } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { enforce } from '../engine/enforcement.js';
import { evaluate, interceptedKinds } from '../engine/index.js';
import { Tenancy } from '../tenancy/tenancy.js';
import type { KubeObject } from '../engine/types.js';
import { auditIdentity, controllerIdentity, writtenByController } from './audit-identity.js';
import type { AuditResult } from './audit-report.js';

export interface ClusterSnapshot {
  store: MemoryStore;
  judged: KubeObject[];
  notServed: string[];
  /** Every kind read, Namespaces included (what `audit --export-state` writes). */
  kinds: GroupKind[];
}

/**
 * Kinds read only from tenant namespaces: there are many of them cluster-wide
 * (every system pod), and the webhook routes them only from tenant
 * namespaces (charts/tenant-guard, selector.tenantNamespaces).
 */
function tenantScoped(gk: GroupKind): boolean {
  const { group } = splitGroupKind(gk);
  return gk !== GK.Namespace && (group === '' || group === 'apps' || group === 'batch' || group === 'discovery.k8s.io' || gk === GK.KnativeRevision);
}

/** Reads the cluster: every kind the engine judges or reads, into one store. */
export async function snapshotCluster(client: KubeClient, config: TenancyConfig): Promise<ClusterSnapshot> {
  const store = new MemoryStore();
  const namespaces = await readKind(client, GK.Namespace);
  store.replaceKind(GK.Namespace, namespaces.items);
  const tenantNamespaces = [...new Tenancy(config, store).allTenantNamespaces().keys()].sort();
  // A configured tenant namespace may not exist (yet): nothing to read there.
  const existing = tenantNamespaces.filter((ns) => store.get(GK.Namespace, undefined, ns));
  const kinds = [...new Set<GroupKind>([...interceptedKinds(), ...WATCHED_KINDS, GK.AuthorizationPolicy])].filter((k) => k !== GK.Namespace);
  const notServed: string[] = [];
  for (const gk of kinds) {
    const snap = await readKind(client, gk, tenantScoped(gk) ? existing : undefined);
    if (!snap.resource) notServed.push(gk);
    store.replaceKind(gk, snap.items);
  }
  const judgedKinds = new Set(interceptedKinds());
  const judged = [GK.Namespace, ...kinds].filter((k) => judgedKinds.has(k)).flatMap((k) => store.list(k));
  return { store, judged, notServed: notServed.filter((k) => judgedKinds.has(k)).sort(), kinds: [GK.Namespace, ...kinds] };
}

/**
 * Each object as a CREATE by the identity that would write it (see
 * audit-identity.ts), against the cluster without that object: rules that
 * compare before and after (an AuthorizationPolicy opening a path, a
 * PeerAuthentication weakening a namespace) then see what the object itself
 * changes, as the webhook would have when it was created.
 */
export function judgeSnapshot(snap: ClusterSnapshot, config: TenancyConfig, now: number = Date.now()): AuditResult[] {
  const { judged: objects, store } = snap;
  const tenancy = new Tenancy(config, store);
  return objects.map((object) => {
    const group = groupOf(object.apiVersion);
    const version = object.apiVersion.slice(object.apiVersion.indexOf('/') + 1);
    // Services, Endpoints and EndpointSlices that controllers keep are judged as written by a controller.
    const as =
      (writtenByController(object, (ns, name) => store.get(groupKind('', 'Service'), ns, name)) ? controllerIdentity(config) : undefined) ??
      auditIdentity(config, tenancy, object.metadata.namespace);
    // `decision` is the engine's (every rule enforced); `outcomes` say what the configured enforcement does with each violation.
    const r = enforce(
      evaluate,
      {
        operation: 'CREATE',
        kind: { group, version, kind: object.kind },
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        object,
        userInfo: as,
        dryRun: true,
      },
      new OverlayState(store, undefined, object),
      config,
      now,
    );
    return { object, as, decision: r.raw, outcomes: r.outcomes };
  });
}

