import { FULL_AUDIENCE, render, type Audience } from '../kube/message-text.js';
import type { Actor } from '../tenancy/tenancy.js';
import type { Decision, Violation } from './types.js';

// The one place a decision's messages are fitted to their reader (see
// src/kube/message-text.ts). The engine always builds the full decision: the
// webhook renders it for the caller before answering, `check` and `audit`
// (run by platform admins) print it whole.

/** What a caller other than a platform reader reads in place of an unexpected exception's words (TG-ENGINE-ERROR, TG_ERR_ENGINE). */
export const ENGINE_ERROR_WITHHELD =
  "an internal error (its words may name objects you cannot read, so they are withheld here; tenant-guard's log and `tenant-guard check` show them to platform admins)";

/**
 * What a caller may read: platform admins and controllers everything; a
 * tenant admin or a tenant's service account its own tenants' objects and the
 * platform's; any other user (no tenant of its own) only the platform's.
 */
export function audienceOf(actor: Actor): Audience {
  switch (actor.role) {
    case 'platform-admin':
    case 'platform-controller':
      return FULL_AUDIENCE;
    case 'tenant':
      return { full: false, tenants: actor.tenants };
    case 'other':
      return { full: false, tenants: [] };
  }
}

/** Whether some message of the decision reads differently for some audience. */
export function namesTenantObjects(d: Decision): boolean {
  return d.warningTexts !== undefined || d.violations.some((v) => v.text) || (d.relaxed?.some((v) => v.text) ?? false);
}

function violationFor<V extends Violation>(v: V, a: Audience): V {
  if (!v.text) return v;
  const { text, ...rest } = v;
  return { ...rest, message: render(text, a) } as V;
}

/**
 * The decision as `audience` may read it: messages, warnings and relaxed
 * violations rendered for it, everything else unchanged. A decision naming no
 * tenant's object is returned as is (the common case costs one check).
 */
export function decisionFor(d: Decision, audience: Audience): Decision {
  if (audience.full || !namesTenantObjects(d)) return d;
  const texts = d.warningTexts;
  const out: Decision = {
    ...d,
    violations: d.violations.map((v) => violationFor(v, audience)),
    warnings: texts ? d.warnings.map((w) => { const t = texts.get(w); return t ? render(t, audience) : w; }) : d.warnings,
  };
  delete out.warningTexts;
  if (d.relaxed) out.relaxed = d.relaxed.map((v) => violationFor(v, audience));
  return out;
}
