// Kubernetes object shapes shared by every layer: the engine judges them, the
// cluster state stores them, the mesh model reads them. They live below the
// engine so that cluster/ and mesh/ do not depend on the engine for types.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any Kubernetes object as it travels in an AdmissionReview or a manifest. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: any;
  [key: string]: unknown;
}
