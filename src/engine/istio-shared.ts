// Checks shared by every Istio configuration kind tenant-guard intercepts:
// who counts as "restricted", exportTo scoping and the istio.io/rev label.

import type { RuleContext, RuleDoc } from './context.js';
import type { DecisionBuilder } from './decision.js';
import type { KubeObject } from './types.js';

/**
 * Tenants and every identity the config does not know ("other") get the
 * tenant rules: an unknown user in a tenant namespace is treated as a tenant
 * of it, and one elsewhere cannot be granted more than a tenant. Only
 * platform admins and platform controllers manage the shared mesh.
 */
export function isRestricted(ctx: RuleContext): boolean {
  return ctx.actor.role === 'tenant' || ctx.actor.role === 'other';
}

/** The object being judged: the new one on CREATE/UPDATE, the old one on DELETE. */
export function subjectOf(ctx: RuleContext): KubeObject | undefined {
  return ctx.input.operation === 'DELETE' ? ctx.input.oldObject ?? ctx.input.object : ctx.input.object;
}

export function namespaceOf(ctx: RuleContext): string {
  return ctx.input.namespace ?? subjectOf(ctx)?.metadata.namespace ?? '';
}

export function who(ctx: RuleContext): string {
  const a = ctx.actor;
  return a.role === 'tenant' ? `${a.username} (tenant ${a.tenants.join(', ')})` : `${a.username} (${a.role})`;
}

export function describeObject(ctx: RuleContext): string {
  const name = subjectOf(ctx)?.metadata.name ?? ctx.input.name ?? '';
  return `${ctx.input.kind.kind} ${namespaceOf(ctx)}/${name}`;
}

// ---------------------------------------------------------------------------
// exportTo

export const EXPORT_KINDS = ['networking.istio.io/VirtualService', 'networking.istio.io/DestinationRule', 'networking.istio.io/ServiceEntry'];

/**
 * Restricted actors keep VirtualServices, DestinationRules and ServiceEntries
 * inside their namespace. An object exported to other namespaces is applied
 * by their sidecars too: a VirtualService in tenant-1 for host
 * `reviews.tenant-2.svc.cluster.local` would reroute tenant-2's own calls to
 * tenant-1, and a ServiceEntry can shadow another tenant's host. Without
 * exportTo Istio exports to every namespace (meshConfig
 * defaultVirtualServiceExportTo & co. default to "*"), so a missing or empty
 * exportTo is set to ["."] by a patch.
 */
export function checkExportTo(ctx: RuleContext, b: DecisionBuilder): void {
  if (ctx.input.operation === 'DELETE' || !isRestricted(ctx)) return;
  const obj = ctx.input.object;
  if (!obj) return;
  const ns = namespaceOf(ctx);
  const spec: unknown = obj.spec;
  const exportTo: unknown = spec && typeof spec === 'object' ? (spec as Record<string, unknown>).exportTo : undefined;
  if (exportTo === undefined || exportTo === null || (Array.isArray(exportTo) && exportTo.length === 0)) {
    if (spec && typeof spec === 'object') b.add({ op: exportTo === undefined ? 'add' : 'replace', path: '/spec/exportTo', value: ['.'] });
    else b.add({ op: 'add', path: '/spec', value: { exportTo: ['.'] } });
    b.warn(
      `${describeObject(ctx)}: spec.exportTo was not set, which Istio reads as "every namespace"; tenant-guard set it to ["."] so the object applies only in ${ns}.`,
    );
    return;
  }
  if (!Array.isArray(exportTo)) {
    b.violate('TG-ISTIO-EXPORT-TO', 'spec.exportTo', `${describeObject(ctx)}: spec.exportTo must be a list; set it to ["."].`);
    return;
  }
  const ownTenant = ctx.tenancy.tenantOf(ns);
  exportTo.forEach((entry: unknown, i) => {
    // "." and the own namespace keep the object here; "~" exports it to no
    // namespace at all (Istio accepts it on ServiceEntries and on
    // DestinationRules with a workloadSelector: istio/istio
    // pkg/config/validation validateExportTo, visibility.None). Another
    // namespace of the same tenant only reroutes that tenant's own calls.
    if (entry === '.' || entry === '~' || entry === ns) return;
    if (typeof entry === 'string' && ownTenant !== undefined && ctx.tenancy.tenantOf(entry) === ownTenant) return;
    b.violate(
      'TG-ISTIO-EXPORT-TO',
      `spec.exportTo[${i}]`,
      `${who(ctx)} may not export ${describeObject(ctx)} to ${JSON.stringify(entry)}: the sidecars of ` +
        `${entry === '*' ? 'every namespace' : `namespace ${String(entry)}`} would apply it to their own traffic, so this ${ctx.input.kind.kind} could reroute or reconfigure ` +
        `calls made by other tenants. Use exportTo: ["."] (this namespace only) or name namespaces of your own tenant.`,
    );
  });
}

// ---------------------------------------------------------------------------
// istio.io/rev

export const REVISION_LABEL = 'istio.io/rev';

export const ISTIO_CONFIG_KINDS = [
  'security.istio.io/PeerAuthentication',
  'security.istio.io/RequestAuthentication',
  'networking.istio.io/DestinationRule',
  'networking.istio.io/Sidecar',
  'networking.istio.io/EnvoyFilter',
  'networking.istio.io/Gateway',
  'networking.istio.io/VirtualService',
  'networking.istio.io/ServiceEntry',
  'extensions.istio.io/WasmPlugin',
];

/**
 * With one control plane per tenant, an istiod reads config labelled with
 * its own revision plus unlabelled ("global") config, and skips config
 * labelled with another revision (istio/istio pkg/config/model.go
 * ObjectInRevision). An object in tenant-1's
 * namespace labelled with tenant-2's revision is pushed by tenant-2's
 * control plane to tenant-2's proxies. System namespaces hold platform config
 * for every control plane (tenants cannot write there, see
 * TG-SYSTEM-NAMESPACE-WRITE). Platform controllers are not judged: they copy
 * what admitted objects asked for, and the label is stopped where it enters.
 */
export function checkRevisionLabel(ctx: RuleContext, b: DecisionBuilder): void {
  if (ctx.input.operation === 'DELETE' || ctx.actor.role === 'platform-controller') return;
  const obj = ctx.input.object;
  const rev = obj?.metadata.labels?.[REVISION_LABEL];
  if (!rev) return;
  const ns = namespaceOf(ctx);
  if (ctx.tenancy.isSystemNamespace(ns)) return;
  const revTenant = ctx.tenancy.tenantOfRevision(rev);
  const nsTenant = ctx.tenancy.tenantOf(ns);
  if (!revTenant || revTenant === nsTenant) return;
  b.violate(
    'TG-ISTIO-REVISION',
    `metadata.labels["${REVISION_LABEL}"]`,
    `${describeObject(ctx)} carries ${REVISION_LABEL}=${rev}, the control plane of tenant ${revTenant}, but namespace ${ns} ` +
      `${nsTenant ? `belongs to tenant ${nsTenant}` : 'belongs to no tenant'}: ${revTenant}'s istiod would push this config to ${revTenant}'s proxies. ` +
      `Remove the label${nsTenant && ctx.tenancy.revisionOf(nsTenant) ? ` or use ${ctx.tenancy.revisionOf(nsTenant)}` : ''}.`,
  );
}

export const sharedIstioRules: RuleDoc[] = [
  {
    id: 'TG-ISTIO-EXPORT-TO',
    kinds: EXPORT_KINDS,
    stops: 'A tenant exporting a VirtualService, DestinationRule or ServiceEntry beyond its own tenant (exportTo "*" or a namespace of another tenant or of none).',
    why:
      'Sidecars apply every VirtualService, DestinationRule and ServiceEntry exported to their namespace. Exported to "*", a tenant-1 VirtualService ' +
      'for reviews.tenant-2.svc.cluster.local reroutes tenant-2\'s own calls into tenant-1, and a ServiceEntry can shadow another tenant\'s host. ' +
      'Only ".", "~" (no namespace), the own namespace and other namespaces of the same tenant are accepted; a missing or empty exportTo (which Istio reads as "*") is patched to ["."].',
    cite: 'https://istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService (exportTo); https://istio.io/latest/docs/ops/best-practices/traffic-management/#cross-namespace-configuration',
    example: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hijack, namespace: tenant-1}
spec:
  hosts: [reviews.tenant-2.svc.cluster.local]
  exportTo: ["*"]
  http:
  - route:
    - destination: {host: evil.tenant-1.svc.cluster.local}`,
  },
  {
    id: 'TG-ISTIO-REVISION',
    kinds: ISTIO_CONFIG_KINDS,
    stops: 'Istio config in a namespace labelled istio.io/rev with the control-plane revision of another tenant (per-tenant control planes).',
    why:
      'Each istiod revision reads only config carrying its istio.io/rev label; an object in tenant-1 labelled with tenant-2\'s revision is applied by ' +
      'tenant-2\'s control plane to tenant-2\'s proxies, so tenant-1 would configure another tenant\'s data plane. Applies to every identity except platform controllers.',
    cite: 'istio/istio pkg/config/model.go ObjectInRevision; https://istio.io/latest/docs/setup/upgrade/canary/ (istio.io/rev)',
  },
];
