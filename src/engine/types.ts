// The engine's contract: a request in, a decision out. Nothing here knows
// about HTTP, AdmissionReview envelopes, files or logging; the server, the
// `check` CLI and `audit` all adapt their input to these types.

export type { KubeObject, ObjectMeta } from '../kube/objects.js';
export type { AdmissionInput, GroupVersionKind, Operation, PatchOp, UserInfo } from '../kube/admission.js';
import type { PatchOp } from '../kube/admission.js';

export interface Violation {
  /** Stable rule id, documented in docs/rules.md (e.g. `TG-KSVC-INJECT-OPTOUT`). */
  rule: string;
  /** What is wrong, which path it would open, and how to fix it. */
  message: string;
  /** Field path in the object, e.g. `spec.template.metadata.annotations["sidecar.istio.io/inject"]`. */
  path: string;
}

export interface Decision {
  allowed: boolean;
  /** False when no rule looks at this kind: allowed, and reported as "not intercepted". */
  intercepted: boolean;
  violations: Violation[];
  warnings: string[];
  patch: PatchOp[];
  /**
   * Set only on a refused decision whose handler had mutations to make: the
   * patch it would apply were the request admitted (the enforcement step
   * applies it when it admits the request in warn/audit mode or by exception).
   */
  heldPatch?: PatchOp[];
  /** Set only by the enforcement step: violations admitted by their action (warn, audit) or by an exception. */
  relaxed?: (Violation & { action: 'warn' | 'audit' | 'exception'; exception?: string })[];
}
