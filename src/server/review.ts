import type { AdmissionInput, KubeObject, Operation } from '../engine/types.js';
import { TenantGuardError } from '../errors.js';

// The AdmissionReview wire format, admission.k8s.io/v1:
// https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request
export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** A review whose envelope is sound (a uid to answer to) but whose request the engine cannot take. */
export interface UnreadableRequest {
  uid: string;
  problem: string;
}

export interface ReadableRequest {
  uid: string;
  input: AdmissionInput;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): TenantGuardError {
  return new TenantGuardError('TG_ERR_REVIEW_INVALID', message);
}

/**
 * Check the envelope of a review and return its `request` and `uid`. Throws
 * TG_ERR_REVIEW_INVALID (answered with HTTP 400) when there is nothing to
 * answer: no AdmissionReview, another version, no request or no uid. v1beta1
 * is refused rather than answered in v1: the API server requires the response
 * in the version it sent, and every webhook configuration this project ships
 * asks for v1 (admissionReviewVersions: ["v1"]).
 */
export function readEnvelope(body: unknown): { uid: string; request: Record<string, unknown> } {
  if (!isRecord(body)) throw invalid('the body is not a JSON object; expected an admission.k8s.io/v1 AdmissionReview');
  if (body.kind !== ADMISSION_KIND)
    throw invalid(`kind is ${JSON.stringify(body.kind ?? null)}; expected "${ADMISSION_KIND}" (admission.k8s.io/v1)`);
  if (body.apiVersion !== ADMISSION_API_VERSION)
    throw invalid(
      `apiVersion is ${JSON.stringify(body.apiVersion ?? null)}; only "${ADMISSION_API_VERSION}" is served: set admissionReviewVersions: ["v1"] in the webhook configuration`,
    );
  if (!isRecord(body.request)) throw invalid('the AdmissionReview has no "request" object');
  const uid = body.request.uid;
  if (typeof uid !== 'string' || uid === '') throw invalid('request.uid is missing or not a non-empty string; the response must echo it');
  return { uid, request: body.request };
}

/** The value of an optional string field ("" and null read as absent), or a problem. */
function optionalString(req: Record<string, unknown>, field: string, problems: string[]): string | undefined {
  const v = req[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') {
    problems.push(`request.${field} is not a string`);
    return undefined;
  }
  return v;
}

function objectField(req: Record<string, unknown>, field: 'object' | 'oldObject', problems: string[]): KubeObject | undefined {
  const v = req[field];
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) {
    problems.push(`request.${field} is not a JSON object`);
    return undefined;
  }
  return v as unknown as KubeObject;
}

function isStringList(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const g of v) if (typeof g !== 'string') return false;
  return true;
}

/**
 * Map the fields of an AdmissionReview request to the engine's input. Fields
 * the engine cannot take (an unknown operation, no kind, an object that is
 * not an object) make the request unreadable: it is denied with the reason
 * (fail closed), not answered with an HTTP error. Runs once per review: it
 * checks in place and allocates only the input.
 */
export function readRequest(uid: string, req: Record<string, unknown>): ReadableRequest | UnreadableRequest {
  const problems: string[] = [];
  const operation = req.operation;
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation as Operation))
    problems.push(`request.operation is ${JSON.stringify(operation ?? null)}; expected one of ${OPERATIONS.join(', ')}`);
  const kind = req.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string' || kind.kind === '' || typeof (kind.group ?? '') !== 'string' || typeof (kind.version ?? '') !== 'string')
    problems.push('request.kind must be an object {group, version, kind} with a non-empty kind');
  const userInfo = req.userInfo;
  const username = isRecord(userInfo) ? userInfo.username : undefined;
  const groups = isRecord(userInfo) ? userInfo.groups ?? [] : [];
  // The API server always names the user; "" is as anonymous as no field, and rules keyed on the user cannot judge it.
  if (typeof username !== 'string' || username === '') problems.push('request.userInfo.username is missing or empty; cannot tell who makes the request');
  if (!isStringList(groups)) problems.push('request.userInfo.groups is not a list of strings');
  const namespace = optionalString(req, 'namespace', problems);
  const name = optionalString(req, 'name', problems);
  const subResource = optionalString(req, 'subResource', problems);
  const object = objectField(req, 'object', problems);
  const oldObject = objectField(req, 'oldObject', problems);
  if (req.dryRun !== undefined && req.dryRun !== null && typeof req.dryRun !== 'boolean') problems.push('request.dryRun is not a boolean');
  if (problems.length > 0) return { uid, problem: problems.join('; ') };

  const k = kind as Record<string, string | undefined>;
  const input: AdmissionInput = {
    operation: operation as Operation,
    kind: { group: k.group ?? '', version: k.version ?? '', kind: k.kind! },
    userInfo: { username: username as string, groups: groups as string[] },
    dryRun: req.dryRun === true,
  };
  if (namespace !== undefined) input.namespace = namespace;
  if (name !== undefined) input.name = name;
  if (subResource !== undefined) input.subResource = subResource;
  if (object !== undefined) input.object = object;
  if (oldObject !== undefined) input.oldObject = oldObject;
  return { uid, input };
}

export function isReadable(r: ReadableRequest | UnreadableRequest): r is ReadableRequest {
  return 'input' in r;
}
