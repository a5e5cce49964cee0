// Namespaces: who may create, relabel and delete tenant namespaces, and the
// labels that put every pod of a tenant namespace into the mesh.
//
// Injection labels (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/):
// - `istio-injection=enabled` selects the default control plane; any other
//   value disables injection, and its mere presence also switches off the
//   revision webhooks (they match `istio-injection DoesNotExist`), so it takes
//   precedence over `istio.io/rev`.
// - `istio.io/rev=<revision>` selects a revision's control plane; used when
//   the tenant has its own (config `tenants[].revision`), and then
//   `istio-injection` must be absent.
// - `istio.io/dataplane-mode=ambient` enrolls the namespace in ambient mode,
//   whose policy is enforced by ztunnel/waypoints, not the sidecars the tenant
//   policies of this setup are written for.
//
// Platform admins manage tenancy: they may label, relabel and un-label
// namespaces (with warnings), but not switch injection off on a tenant
// namespace, which would open every pod in it to plaintext from all tenants.
// To take a namespace out of the mesh they first take it out of tenancy
// (remove the tenant label, or the config entry), then change injection.
// Platform controllers are never blocked; they only get warnings.

import { GK } from '../cluster/state.js';
import type { RuleContext, RuleDoc, RuleModule } from './context.js';
import { msg, type MessageText } from '../kube/message-text.js';
import { DecisionBuilder } from './decision.js';
import { checkReleasedName, checkTrustedName, namespaceTrustRules } from './namespace-trust.js';
import { RESERVED_NAME_RULE, reservedNameRules, reservedNamespaces } from './reserved-names.js';
import { setMapEntries } from './workload-labels.js';
import { checkMappedName } from './domain-mapping-claims.js';
import type { Decision } from './types.js';
import { FieldShapeError } from './field-shape-error.js';

const INJECTION = 'istio-injection';
const REV = 'istio.io/rev';
const DATAPLANE = 'istio.io/dataplane-mode';
// The chart's webhook configurations skip namespaces carrying this label
// (charts/tenant-guard/templates/_webhook-routing.tpl): setting it is opting
// out of tenant-guard, a platform admin's decision.
const IGNORE = 'tenant-guard.dev/ignore';

const RULE = {
  ownership: 'TG-NS-TENANT-OWNERSHIP',
  ambiguous: 'TG-NS-TENANT-AMBIGUOUS',
  systemLabel: 'TG-NS-SYSTEM-TENANT-LABEL',
  conflict: 'TG-NS-TENANT-LABEL-CONFLICT',
  protectedLabel: 'TG-NS-PROTECTED-LABEL',
  injectionDisabled: 'TG-NS-INJECTION-DISABLED',
  revision: 'TG-NS-REVISION-MISMATCH',
  ambient: 'TG-NS-AMBIENT',
} as const;

type Labels = Record<string, string>;

function labelPath(key: string): string {
  return `metadata.labels[${JSON.stringify(key)}]`;
}

function labelsOf(obj: { metadata?: { labels?: unknown } } | undefined): Labels {
  const l = obj?.metadata?.labels;
  if (l === undefined || l === null) return {};
  if (typeof l !== 'object' || Array.isArray(l)) throw new FieldShapeError('metadata.labels is not a map');
  return l as Labels;
}

/** Violations for most actors, warnings for platform controllers (never blocked). */
class Verdict {
  constructor(
    readonly b: DecisionBuilder,
    private readonly warnOnly: boolean,
    private readonly who: string,
  ) {}
  deny(rule: string, path: string, message: string | MessageText): void {
    if (this.warnOnly) this.b.warn(msg`${rule} at ${path} (not enforced on platform controller ${this.who}): ${message}`);
    else this.b.violate(rule, path, message);
  }
  warn(message: string | MessageText): void {
    this.b.warn(message);
  }
}

function explicitOwner(ctx: RuleContext, ns: string): string | undefined {
  return ctx.config.tenants.find((t) => t.namespaces.includes(ns))?.name;
}

function tenantsOf(ctx: RuleContext): string[] {
  return ctx.actor.role === 'tenant' ? ctx.actor.tenants : [];
}

function handler(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  const op = ctx.input.operation;
  const v = new Verdict(b, ctx.actor.role === 'platform-controller', ctx.actor.username);
  if (op === 'DELETE') {
    judgeDelete(ctx, v);
    const name = (ctx.input.oldObject ?? ctx.input.object)?.metadata.name ?? ctx.input.name;
    if (name && !ctx.tenancy.isSystemNamespace(name)) checkReleasedName(ctx, name, (r, p, m) => v.deny(r, p, m), (m) => v.warn(m));
  } else if (op === 'CREATE' || op === 'UPDATE') judgeWrite(ctx, v);
  return b.build();
}

function judgeDelete(ctx: RuleContext, v: Verdict): void {
  if (ctx.actor.role !== 'tenant') return;
  const obj = ctx.input.oldObject ?? ctx.input.object;
  const name = obj?.metadata.name ?? ctx.input.name ?? '';
  const owner = ctx.tenancy.isSystemNamespace(name) ? undefined : explicitOwner(ctx, name) ?? labelsOf(obj)[ctx.config.tenantLabel];
  if (owner && ctx.actor.tenants.includes(owner)) return;
  v.deny(
    RULE.ownership,
    'metadata.name',
    `${ctx.actor.username} acts for ${ctx.actor.tenants.join(', ')} and may delete only those tenants' namespaces; "${name}" ` +
      (owner ? `belongs to tenant ${owner}` : 'belongs to no tenant (shared or system namespace)') +
      ', and deleting it would take down workloads or policies others rely on. Ask a platform admin.',
  );
}

function judgeWrite(ctx: RuleContext, v: Verdict): void {
  const { input, actor, tenancy, config } = ctx;
  const T = config.tenantLabel;
  const obj = input.object!;
  const name = obj.metadata.name ?? input.name ?? '';
  const labels = labelsOf(obj);
  const oldLabels = input.operation === 'UPDATE' ? labelsOf(input.oldObject) : {};
  const explicit = explicitOwner(ctx, name);
  const claimed = labels[T] || undefined;

  checkReservedName(ctx, v, name, labels, oldLabels);
  if (tenancy.isSystemNamespace(name)) {
    if (claimed)
      v.deny(
        RULE.systemLabel,
        labelPath(T),
        `"${name}" is a system namespace shared by all tenants (activator, gateways or the mesh root); labelling it for tenant ${claimed} would make tenant-guard ` +
          `treat it as that tenant's and let the tenant's admins manage what every tenant trusts. Remove the label.`,
      );
    if (actor.role === 'tenant')
      v.deny(RULE.ownership, 'metadata.name', `"${name}" is a system namespace; tenants may not create or change it. Ask a platform admin.`);
    return;
  }
  if (explicit && claimed && claimed !== explicit) {
    v.deny(
      RULE.conflict,
      labelPath(T),
      `The tenancy config lists "${name}" as a namespace of tenant ${explicit}, but the label names tenant ${claimed}; the two owners would each be granted the namespace. ` +
        `Set the label to "${explicit}" or remove it.`,
    );
  }

  const privileged = actor.role === 'platform-admin' || actor.role === 'platform-controller';
  let tenant: string | undefined;
  const ensure: Labels = {};
  if (privileged) {
    tenant = explicit ?? claimed;
    const oldTenant = explicit ?? (oldLabels[T] || undefined);
    if (claimed && !tenancy.tenant(claimed)) v.warn(`Namespace "${name}" is labelled for tenant "${claimed}", which the tenancy config does not define; it is treated as a tenant of its own.`);
    if (input.operation === 'CREATE' || oldTenant !== tenant) {
      checkTrustedName(ctx, name, tenant, (r, p, m) => v.deny(r, p, m));
      checkMappedName(ctx, name, tenant, (r, p, m) => v.deny(r, p, m));
    }
    if (input.operation === 'UPDATE' && oldTenant !== tenant) {
      v.warn(
        tenant === undefined
          ? `Namespace "${name}" leaves tenant ${oldTenant}: tenant-guard no longer guards its workloads; review the AuthorizationPolicies that admit it.`
          : oldTenant === undefined
            ? `Namespace "${name}" joins tenant ${tenant}: pods already running keep the sidecar state they were created with; restart them.`
            : `Namespace "${name}" moves from tenant ${oldTenant} to ${tenant}: review both tenants' AuthorizationPolicies, which admit callers by namespace.`,
      );
    }
    // A namespace leaving tenancy in this very request is still judged as the
    // old tenant's for injection: un-labelling and disabling injection are two
    // deliberate steps.
    if (!tenant && oldTenant) {
      checkInjection(ctx, v, name, oldTenant, labels, oldLabels, {});
      return;
    }
  } else {
    tenant = judgeTenantClaim(ctx, v, name, explicit, claimed, oldLabels);
    // Labels are protected from non-platform actors, so only a CREATE picks a holder here.
    if (input.operation === 'CREATE' && !v.b.hasViolations()) {
      checkTrustedName(ctx, name, tenant, (r, p, m) => v.deny(r, p, m));
      checkMappedName(ctx, name, tenant, (r, p, m) => v.deny(r, p, m));
    }
    if (tenant === undefined) return;
    if (input.operation === 'UPDATE') protectLabels(ctx, v, labels, oldLabels, ensure);
    else if (labels[IGNORE] !== undefined)
      v.deny(
        RULE.protectedLabel,
        labelPath(IGNORE),
        `${actor.username} may not create the tenant namespace "${name}" with the label ${IGNORE}: the webhook skips such namespaces, so its workloads and policies ` +
          `would escape every rule. Remove the label, or ask a platform admin.`,
      );
  }
  if (!tenant) return;
  if (labels[T] !== tenant) ensure[T] = tenant;
  checkInjection(ctx, v, name, tenant, labels, oldLabels, ensure);
  if (actor.role !== 'platform-controller') v.b.add(...setMapEntries(obj, ['metadata', 'labels'], ensure));
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

/** A name the config trusts (src/engine/reserved-names.ts): created or labelled by platform admins only. */
function checkReservedName(ctx: RuleContext, v: Verdict, name: string, labels: Labels, oldLabels: Labels): void {
  const why = reservedNamespaces(ctx.config).get(name);
  if (why === undefined) return;
  const { actor, input } = ctx;
  if (actor.role === 'platform-admin') {
    const t = labels[ctx.config.tenantLabel];
    if (t && !ctx.tenancy.isSystemNamespace(name))
      v.warn(`Namespace "${name}" is ${why}; labelled for tenant ${t}, its workloads would sit inside that tenant while the config still trusts the name.`);
    return;
  }
  if (input.operation === 'UPDATE' && sameLabels(labels, oldLabels)) return;
  const what = input.operation === 'CREATE' ? 'create' : 'change the labels of';
  v.deny(
    RESERVED_NAME_RULE,
    input.operation === 'CREATE' ? 'metadata.name' : 'metadata.labels',
    `${actor.username} may not ${what} namespace "${name}": it is ${why}, and whoever holds the name holds that trust ` +
      `(its service accounts, its objects). Only platform admins may create, relabel or adopt it.`,
  );
}

/**
 * Tenant and other (non-platform) actors: which tenant the namespace is for,
 * or undefined when there is nothing more to check (not a tenant namespace,
 * or the request is already denied).
 */
function judgeTenantClaim(ctx: RuleContext, v: Verdict, name: string, explicit: string | undefined, claimed: string | undefined, oldLabels: Labels): string | undefined {
  const { input, actor, config } = ctx;
  const mine = tenantsOf(ctx);
  const who = actor.role === 'tenant' ? `${actor.username} (${actor.admin ? 'admin of' : 'acting for'} ${mine.join(', ')})` : actor.username;
  if (input.operation === 'UPDATE') {
    // Updates are judged on the protected labels only (protectLabels); RBAC
    // decides who may touch the rest of a namespace.
    const owner = explicit ?? (oldLabels[config.tenantLabel] || undefined);
    if (!owner && claimed)
      v.deny(
        RULE.protectedLabel,
        labelPath(config.tenantLabel),
        `${who} may not add the tenant label to the existing namespace "${name}": that would hand it and its workloads to tenant ${claimed}. Ask a platform admin.`,
      );
    return owner;
  }
  // CREATE
  const wanted = explicit ?? claimed;
  if (wanted) {
    if (!mine.includes(wanted)) {
      v.deny(
        RULE.ownership,
        claimed ? labelPath(config.tenantLabel) : 'metadata.name',
        `${who} may create namespaces only for ${mine.length ? 'tenant ' + mine.join(', ') : 'no tenant'}; "${name}" would belong to tenant ${wanted}` +
          `${explicit ? ' (tenancy config)' : ' (label)'}, putting its workloads inside that tenant's trust boundary. ` +
          (mine.length ? `Label it ${config.tenantLabel}=${mine[0]} or pick another name.` : 'Ask a platform admin.'),
      );
      return undefined;
    }
    return wanted;
  }
  if (actor.role !== 'tenant') return undefined; // an ordinary, untenanted namespace
  if (mine.length === 1) return mine[0];
  v.deny(
    RULE.ambiguous,
    labelPath(config.tenantLabel),
    `${who} administers several tenants; say which one "${name}" is for with the label ${config.tenantLabel}=<tenant> (one of ${mine.join(', ')}).`,
  );
  return undefined;
}

/**
 * Non-platform actors may not add, change or remove the tenant and mesh
 * labels. A removal is undone by re-adding the old value (a `kubectl replace`
 * of a manifest without them should not fail); a change is refused.
 */
function protectLabels(ctx: RuleContext, v: Verdict, labels: Labels, oldLabels: Labels, ensure: Labels): void {
  for (const key of [ctx.config.tenantLabel, INJECTION, REV, DATAPLANE, IGNORE]) {
    const before = oldLabels[key];
    const after = labels[key];
    if (before === after) continue;
    if (after === undefined) {
      ensure[key] = before!;
      v.warn(`The label ${key}=${before} was removed from the namespace and is restored: only platform admins may remove it.`);
      continue;
    }
    v.deny(
      RULE.protectedLabel,
      labelPath(key),
      `${ctx.actor.username} may not ${before === undefined ? 'add' : 'change'} the label ${key} (${before ?? 'absent'} -> ${after}): it decides the namespace's tenant or how its pods join the mesh, ` +
        `and changing it can take the tenant's pods out of sidecar enforcement or into another tenant's boundary. Ask a platform admin.`,
    );
  }
}

/** The injection labels a tenant namespace must carry; adds missing ones to `ensure`. */
function checkInjection(ctx: RuleContext, v: Verdict, name: string, tenant: string, labels: Labels, oldLabels: Labels, ensure: Labels): void {
  const { tenancy, actor } = ctx;
  const admin = actor.role === 'platform-admin' || actor.role === 'platform-controller';
  const final: Labels = { ...labels, ...ensure };
  const own = tenancy.revisionOf(tenant);
  const injection = final[INJECTION];
  const rev = final[REV];

  if (injection !== undefined && injection !== 'enabled') {
    v.deny(
      RULE.injectionDisabled,
      labelPath(INJECTION),
      `${INJECTION}=${injection} switches sidecar injection off in "${name}" (tenant ${tenant}): new pods start without a sidecar and accept plaintext from every tenant, ` +
        `bypassing PeerAuthentication STRICT and the tenant's AuthorizationPolicies. Nobody may disable injection on a tenant namespace; ` +
        `to take the namespace out of the mesh, first take it out of tenancy.`,
    );
  }
  const revOwner = rev !== undefined ? tenancy.tenantOfRevision(rev) : undefined;
  if (rev !== undefined && revOwner !== undefined && revOwner !== tenant) {
    v.deny(
      RULE.revision,
      labelPath(REV),
      `${REV}=${rev} is tenant ${revOwner}'s control plane; pods of tenant ${tenant} in "${name}" would take that tenant's configuration and certificates. ` +
        (own ? `Set it to "${own}".` : 'Remove the label.'),
    );
  } else if (own !== undefined) {
    if (rev === undefined) ensure[REV] = own;
    else if (rev !== own) {
      const msg = `${REV}=${rev} on "${name}" is not tenant ${tenant}'s control plane (${own})`;
      if (admin) v.warn(`${msg}; accepted from a platform admin (e.g. a canary upgrade), make sure the config's revision follows.`);
      else v.deny(RULE.revision, labelPath(REV), `${msg}: the tenant's pods would be injected and configured by another control plane. Set it to "${own}".`);
    }
    if (injection === 'enabled') {
      const msg = `${INJECTION}=enabled on "${name}" takes precedence over ${REV}: pods would be injected by the default control plane instead of tenant ${tenant}'s (${own})`;
      if (admin) v.warn(`${msg}.`);
      else v.deny(RULE.revision, labelPath(INJECTION), `${msg}. Remove the label.`);
    }
  } else if (injection === undefined && !(admin && rev !== undefined)) {
    // A platform admin's istio.io/rev without istio-injection is a canary
    // upgrade of the shared control plane (Istio's documented procedure); for
    // everyone else istio-injection=enabled is added and takes precedence.
    ensure[INJECTION] = 'enabled';
  }
  if (final[DATAPLANE] === 'ambient') {
    const msg = `${DATAPLANE}=ambient on tenant namespace "${name}" moves its pods to ambient mode, where the sidecar-based PeerAuthentication/AuthorizationPolicy setup of the tenants does not apply as written`;
    if (actor.role === 'platform-admin') v.warn(`${msg}; accepted from a platform admin.`);
    else v.deny(RULE.ambient, labelPath(DATAPLANE), `${msg}. Remove the label.`);
  }
  // Tenants were told in protectLabels; tell platform admins what is re-added.
  if (actor.role === 'platform-admin') {
    for (const key of Object.keys(ensure)) {
      if (oldLabels[key] !== undefined && labels[key] === undefined)
        v.warn(`The label ${key} was removed from tenant namespace "${name}" and is restored as ${key}=${ensure[key]}: a tenant namespace keeps its injection label.`);
    }
  }
}

const rules: RuleDoc[] = [
  {
    id: RULE.ownership,
    kinds: ['Namespace'],
    stops: "A tenant admin creating or deleting a namespace of another tenant or a system namespace, or deleting a namespace of no tenant; anyone but the tenant's admins and platform admins creating a tenant's namespace.",
    why: "A namespace is a tenant's trust boundary: its AuthorizationPolicies admit the tenant's own namespaces. A namespace created for another tenant puts workloads inside that tenant's boundary.",
    cite: 'https://istio.io/latest/docs/reference/config/security/authorization-policy/ (source.namespaces)',
    example: `apiVersion: v1
kind: Namespace
metadata:
  name: sneaky
  labels: {tenant-guard.dev/tenant: tenant-2}`,
  },
  {
    id: RULE.ambiguous,
    kinds: ['Namespace'],
    stops: 'An admin of several tenants creating a namespace without saying (tenant label) which tenant it is for.',
    why: 'Guessing would put the namespace, and every workload in it, into a trust boundary its creator may not have meant.',
    exampleAs: { username: 'carol', groups: ['tenant-1-admins', 'tenant-2-admins'] },
    example: `apiVersion: v1
kind: Namespace
metadata: {name: shared-work}`,
  },
  {
    id: RULE.systemLabel,
    kinds: ['Namespace'],
    stops: 'A tenant label on a system namespace (config systemNamespaces and meshRootNamespace).',
    why: 'knative-serving and istio-system host the activator and gateways every tenant trusts; the mesh root namespace holds mesh-wide policy. Owned by a tenant, they would be managed by that tenant\'s admins.',
    exampleAs: { username: 'platform-admin', groups: [] },
    example: `apiVersion: v1
kind: Namespace
metadata:
  name: knative-serving
  labels: {tenant-guard.dev/tenant: tenant-1}`,
  },
  {
    id: RULE.conflict,
    kinds: ['Namespace'],
    stops: 'A tenant label naming a different tenant than the one the tenancy config lists the namespace under.',
    why: 'Two owners would each be granted the namespace by different parts of the system (config lookups vs label selectors).',
    exampleAs: { username: 'platform-admin', groups: [] },
    example: `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-1
  labels: {tenant-guard.dev/tenant: tenant-2}`,
  },
  {
    id: RULE.protectedLabel,
    kinds: ['Namespace'],
    stops: 'Anyone but a platform admin adding or changing the tenant label, istio-injection, istio.io/rev, istio.io/dataplane-mode or tenant-guard.dev/ignore of an existing tenant namespace (removals are undone by re-adding the label), or creating a tenant namespace with tenant-guard.dev/ignore.',
    why: 'These labels decide which tenant a namespace belongs to and whether and by which control plane its pods get a sidecar; each change can take pods out of sidecar enforcement or into another tenant\'s boundary.',
    exampleOperation: 'UPDATE',
    example: `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-1
  labels: {tenant-guard.dev/tenant: tenant-1, istio-injection: enabled}
---
apiVersion: v1
kind: Namespace
metadata:
  name: tenant-1
  labels: {tenant-guard.dev/tenant: tenant-1, istio-injection: enabled, istio.io/dataplane-mode: none}`,
  },
  {
    id: RULE.injectionDisabled,
    kinds: ['Namespace'],
    stops: 'istio-injection set to anything but "enabled" on a tenant namespace, by anyone (platform admins included; controllers only get a warning).',
    why: 'Istio\'s namespace webhook injects only for istio-injection=enabled, and the label\'s presence also switches off revision-based injection. New pods would have no sidecar and accept plaintext from every tenant.',
    cite: 'https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy',
    exampleAs: { username: 'platform-admin', groups: [] },
    example: `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-1
  labels: {istio-injection: disabled}`,
  },
  {
    id: RULE.revision,
    kinds: ['Namespace'],
    stops: "istio.io/rev naming another tenant's control plane (anyone); for tenants with their own control plane, a tenant setting another revision or istio-injection (platform admins get a warning).",
    why:
      'With per-tenant control planes the revision decides which istiod configures the pods and signs their certificates; istio-injection takes precedence over istio.io/rev and selects the default control plane. ' +
      'No example here: the bundled config has no per-tenant control planes.',
    cite: 'https://istio.io/latest/docs/setup/upgrade/canary/#data-plane',
  },
  {
    id: RULE.ambient,
    kinds: ['Namespace'],
    stops: 'A tenant enrolling a tenant namespace in ambient mode (istio.io/dataplane-mode=ambient); platform admins get a warning.',
    why: 'Ambient mode moves enforcement from sidecars to ztunnel and waypoints; the tenant policies of this setup are written for sidecars (port-level L7 rules need a waypoint), so enrolment changes what is enforced.',
    cite: 'https://istio.io/latest/docs/ambient/usage/add-workloads/',
    example: `apiVersion: v1
kind: Namespace
metadata:
  name: tenant-1-ambient
  labels: {tenant-guard.dev/tenant: tenant-1, istio.io/dataplane-mode: ambient}`,
  },
];

export const namespaceModule: RuleModule = { handlers: { [GK.Namespace]: handler }, rules: [...rules, ...namespaceTrustRules, ...reservedNameRules] };
