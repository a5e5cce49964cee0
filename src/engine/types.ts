// The engine's contract: a request in, a decision out. Nothing here knows
// about HTTP, AdmissionReview envelopes, files or logging; the server, the
// `check` CLI and `audit` all adapt their input to these types.

export type { KubeObject, ObjectMeta } from '../kube/objects.js';
export type { AdmissionInput, GroupVersionKind, Operation, PatchOp, UserInfo } from '../kube/admission.js';
import type { PatchOp } from '../kube/admission.js';
import type { MessageText } from '../kube/message-text.js';

export interface Violation {
  /** Stable rule id, documented in docs/rules.md (e.g. `TG-KSVC-INJECT-OPTOUT`). */
  rule: string;
  /** What is wrong, which path it would open, and how to fix it. */
  message: string;
  /** Field path in the object, e.g. `spec.template.metadata.annotations["sidecar.istio.io/inject"]`. */
  path: string;
  /**
   * Set when the message names another tenant's objects: the message with
   * those kept as references, rendered per reader (src/engine/audience.ts).
   * `message` is its full rendering.
   */
  text?: MessageText;
}

export interface Decision {
  allowed: boolean;
  /** False when no rule looks at this kind: allowed, and reported as "not intercepted". */
  intercepted: boolean;
  violations: Violation[];
  warnings: string[];
  /** The warnings that name a tenant's objects, by their full rendering, as references (see Violation.text). */
  warningTexts?: ReadonlyMap<string, MessageText>;
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
