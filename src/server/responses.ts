import type { PatchOp, Violation } from '../engine/types.js';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from './review.js';
import { withRuleLink } from '../reports/rule-links.js';

// Small constructors for AdmissionReview responses, in the style of
// controller-runtime's admission.Allowed/Denied/Patched/Errored
// (sigs.k8s.io/controller-runtime/pkg/webhook/admission/response.go).

/** metav1.Status, the part of it the API server reads from a webhook. */
export interface ResponseStatus {
  code: number;
  reason?: 'Forbidden' | 'BadRequest' | 'InternalError';
  message?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: ResponseStatus;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch document. */
  patch?: string;
  warnings?: string[];
  /**
   * The API server prefixes each key with the webhook's name
   * ("<webhook>/<key>") in the audit event, so keys are short names.
   */
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

/** The outcome as metrics and logs name it. */
export type Outcome = 'allowed' | 'patched' | 'denied' | 'error';

export const AUDIT_KEYS = { decision: 'decision', rules: 'rules', relaxed: 'relaxed-rules', relaxedViolations: 'relaxed-violations' } as const;

/** An audit annotation value is kept in the audit event as is: a long list is cut (the log line keeps the rule ids). */
const MAX_ANNOTATION_CHARS = 4096;

type Relaxed = NonNullable<import('../engine/types.js').Decision['relaxed']>;

/**
 * Violations admitted by their action (warn, audit) or an exception, as audit
 * annotations: `relaxed-rules` lists `RULE:warn|audit|exception/<name>`,
 * `relaxed-violations` holds them as JSON (rule, action, path, message,
 * exception), like the API server's own validation_failure annotation of
 * ValidatingAdmissionPolicies in Audit mode.
 */
export function withRelaxed(r: AdmissionResponse, relaxed: Relaxed | undefined): AdmissionResponse {
  if (!relaxed || relaxed.length === 0) return r;
  const a = (r.auditAnnotations ??= { [AUDIT_KEYS.decision]: r.allowed ? 'allowed' : 'denied' });
  a[AUDIT_KEYS.relaxed] = relaxedLabels(relaxed).join(',');
  let json = JSON.stringify(relaxed.map((v) => ({ rule: v.rule, action: v.action, path: v.path, message: v.message, ...(v.exception ? { exception: v.exception } : {}) })));
  if (json.length > MAX_ANNOTATION_CHARS) json = json.slice(0, MAX_ANNOTATION_CHARS - 3) + '...';
  a[AUDIT_KEYS.relaxedViolations] = json;
  return r;
}

export function relaxedLabels(relaxed: Relaxed): string[] {
  return [...new Set(relaxed.map((v) => `${v.rule}:${v.action === 'exception' ? `exception/${v.exception}` : v.action}`))];
}

function withWarnings(r: AdmissionResponse, warnings: string[]): AdmissionResponse {
  if (warnings.length > 0) r.warnings = [...warnings];
  return r;
}

export function allowed(uid: string, warnings: string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: true, status: { code: 200 } }, warnings);
}

export function patched(uid: string, patch: PatchOp[], warnings: string[] = []): AdmissionResponse {
  if (patch.length === 0) return allowed(uid, warnings);
  return withWarnings(
    {
      uid,
      allowed: true,
      status: { code: 200 },
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch), 'utf8').toString('base64'),
      auditAnnotations: { [AUDIT_KEYS.decision]: 'patched' },
    },
    warnings,
  );
}

/** The message a user sees after `admission webhook "..." denied the request: `. */
export function denialMessage(violations: Violation[], rulesUrl?: string): string {
  const lines = violations.map((v) => `[${v.rule}]${v.path ? ` ${v.path}:` : ''} ${withRuleLink(rulesUrl, v.rule, v.message)}`);
  return `tenant-guard found ${violations.length} violation${violations.length === 1 ? '' : 's'}:\n${lines.join('\n')}`;
}

export function ruleIds(violations: Violation[]): string[] {
  return [...new Set(violations.map((v) => v.rule))];
}

export function denied(uid: string, violations: Violation[], warnings: string[] = [], rulesUrl?: string): AdmissionResponse {
  return withWarnings(
    {
      uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: denialMessage(violations, rulesUrl) },
      auditAnnotations: { [AUDIT_KEYS.decision]: 'denied', [AUDIT_KEYS.rules]: ruleIds(violations).join(',') },
    },
    warnings,
  );
}

/** The request could not be judged: never allowed (fail closed). */
export function errored(uid: string, code: 400 | 500, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { code, reason: code === 400 ? 'BadRequest' : 'InternalError', message },
    auditAnnotations: { [AUDIT_KEYS.decision]: 'error' },
  };
}

export function outcomeOf(r: AdmissionResponse): Outcome {
  if (r.allowed) return r.patch ? 'patched' : 'allowed';
  return r.status?.code === 403 ? 'denied' : 'error';
}

export function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}
