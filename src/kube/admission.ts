// The admission request as the engine sees it, and the JSON Patch it answers
// with: Kubernetes shapes (admission.k8s.io/v1 AdmissionRequest, RFC 6902),
// below every layer that reads or builds them.
import type { KubeObject } from './objects.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface UserInfo {
  username: string;
  groups: string[];
}

export interface AdmissionInput {
  operation: Operation;
  kind: GroupVersionKind;
  /** Namespace of the request (empty/undefined for cluster-scoped objects). */
  namespace?: string;
  name?: string;
  /** Set on CREATE/UPDATE (and CONNECT); absent on DELETE. */
  object?: KubeObject;
  /** Set on UPDATE and DELETE. */
  oldObject?: KubeObject;
  userInfo: UserInfo;
  dryRun: boolean;
  /** Subresource, e.g. "status"; rules judge only the main resource. */
  subResource?: string;
}

/** One JSON Patch (RFC 6902) operation the engine wants applied. */
export type PatchOp =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };
