import { groupKind, type GroupKind } from './state.js';

/**
 * Kinds that live outside any namespace. Offline there is no API discovery
 * (`kubectl api-resources --namespaced=false`) to ask, so the list is kept by
 * hand: any kind not listed here is treated as namespaced, which is what
 * nearly every CRD is (every Istio kind, every Knative kind but
 * ClusterDomainClaim). Add a kind here when a manifest of it is misfiled
 * under the `-n` namespace.
 */
const CLUSTER_SCOPED: ReadonlySet<GroupKind> = new Set([
  // core/v1
  groupKind('', 'Namespace'),
  groupKind('', 'Node'),
  groupKind('', 'PersistentVolume'),
  groupKind('', 'ComponentStatus'),
  // RBAC
  groupKind('rbac.authorization.k8s.io', 'ClusterRole'),
  groupKind('rbac.authorization.k8s.io', 'ClusterRoleBinding'),
  // API extension and admission
  groupKind('apiextensions.k8s.io', 'CustomResourceDefinition'),
  groupKind('apiregistration.k8s.io', 'APIService'),
  groupKind('admissionregistration.k8s.io', 'MutatingWebhookConfiguration'),
  groupKind('admissionregistration.k8s.io', 'ValidatingWebhookConfiguration'),
  groupKind('admissionregistration.k8s.io', 'ValidatingAdmissionPolicy'),
  groupKind('admissionregistration.k8s.io', 'ValidatingAdmissionPolicyBinding'),
  groupKind('admissionregistration.k8s.io', 'MutatingAdmissionPolicy'),
  groupKind('admissionregistration.k8s.io', 'MutatingAdmissionPolicyBinding'),
  // storage, scheduling, node runtime, networking
  groupKind('storage.k8s.io', 'StorageClass'),
  groupKind('storage.k8s.io', 'CSIDriver'),
  groupKind('storage.k8s.io', 'CSINode'),
  groupKind('storage.k8s.io', 'VolumeAttachment'),
  groupKind('scheduling.k8s.io', 'PriorityClass'),
  groupKind('node.k8s.io', 'RuntimeClass'),
  groupKind('networking.k8s.io', 'IngressClass'),
  groupKind('networking.k8s.io', 'IPAddress'),
  groupKind('networking.k8s.io', 'ServiceCIDR'),
  groupKind('certificates.k8s.io', 'CertificateSigningRequest'),
  groupKind('flowcontrol.apiserver.k8s.io', 'FlowSchema'),
  groupKind('flowcontrol.apiserver.k8s.io', 'PriorityLevelConfiguration'),
  groupKind('policy', 'PodSecurityPolicy'),
  // Gateway API
  groupKind('gateway.networking.k8s.io', 'GatewayClass'),
  // Knative: a DomainMapping's domain is claimed cluster-wide
  // (knative.dev/serving/pkg/apis/networking/v1alpha1/domainclaim_types.go).
  groupKind('networking.internal.knative.dev', 'ClusterDomainClaim'),
  // cert-manager, commonly rendered next to Knative's net-certmanager
  groupKind('cert-manager.io', 'ClusterIssuer'),
]);

export function isClusterScoped(gk: GroupKind): boolean {
  return CLUSTER_SCOPED.has(gk);
}
