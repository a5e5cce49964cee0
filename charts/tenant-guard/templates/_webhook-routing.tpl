{{/*
What the API server sends to the webhook: rules (which resources) and
namespaceSelectors (where). The kinds are exactly the engine's
interceptedKinds() (src/engine/index.ts); test/integration/chart-webhooks.test.ts
compares the two. The mesh-affecting groups are routed whole (every resource
and its status subresource, see tenant-guard.rules.mesh). Elsewhere only main resources are listed, pods/ephemeralcontainers
(judged like the pod) and, for CONNECT only, pods/exec and pods/attach: "pods" does not match "pods/status", and status/scale
writes come from controllers, which the engine does not judge.
*/}}

{{/* Namespace objects themselves. Call with (dict "ops" (list ...)). */}}
{{- define "tenant-guard.rules.namespaces" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["namespaces"]
  operations: {{ .ops | toJson }}
  scope: Cluster
{{- end -}}

{{/*
Pods, the workload kinds whose pod templates become tenant pods, and Knative's
kinds. Call with (dict "ops" (list ...)). Knative's kinds are
routed in every served version: the engine reads them version-insensitively,
and a version left out would be a way around it.
*/}}
{{- define "tenant-guard.rules.workloads" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  # pods/ephemeralcontainers: `kubectl debug` adds containers to a running pod
  # through this subresource; the engine judges them like the pod's own.
  # replicationcontrollers: the oldest pod template kind, still served.
  # services, endpoints (and discovery.k8s.io endpointslices): ExternalName
  # aliases, externalIPs and hand-written endpoints (src/engine/service-aliases.ts).
  resources: ["endpoints", "pods", "pods/ephemeralcontainers", "replicationcontrollers", "services"]
  operations: {{ .ops | toJson }}
  scope: Namespaced
- apiGroups: ["discovery.k8s.io"]
  apiVersions: ["v1"]
  resources: ["endpointslices"]
  operations: {{ .ops | toJson }}
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["daemonsets", "deployments", "replicasets", "statefulsets"]
  operations: {{ .ops | toJson }}
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  resources: ["cronjobs", "jobs"]
  operations: {{ .ops | toJson }}
  scope: Namespaced
# Every kind of serving.knative.dev, and its status: a kind no rule judges is
# refused to tenants (TG-KIND-UNJUDGED), and so is a tenant's status write
# (Knative routes by status: a Route follows its Configuration's latest ready
# Revision, a DomainMapping its ref's address).
- apiGroups: ["serving.knative.dev"]
  apiVersions: ["*"]
  resources: ["*", "*/status"]
  operations: {{ .ops | toJson }}
  scope: Namespaced
{{- end -}}

{{/*
kubectl exec / attach (CONNECT on pods/exec, pods/attach): judged for the
container entered (no shell in istio-proxy). Validating only: nothing to mutate.
*/}}
{{- define "tenant-guard.rules.podConnect" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods/attach", "pods/exec"]
  operations: ["CONNECT"]
  scope: Namespaced
{{- end -}}

{{/*
Every kind of the mesh-affecting groups (src/engine/mesh-kinds.ts), in every
served version (Istio serves v1, v1beta1 and v1alpha3 of the same stored
objects), and their status: the engine judges each kind or refuses it to
tenants (TG-KIND-UNJUDGED), so a kind added by a later release is never
routed around. Call with (dict "ops" (list ...)).
*/}}
{{- define "tenant-guard.rules.mesh" -}}
- apiGroups: ["extensions.istio.io", "networking.istio.io", "security.istio.io", "telemetry.istio.io"]
  apiVersions: ["*"]
  resources: ["*", "*/status"]
  operations: {{ .ops | toJson }}
  scope: Namespaced
# Groups with cluster-scoped kinds too (IngressClass, GatewayClass,
# ClusterDomainClaim, ...): for those the namespaceSelector does not apply and
# every write is sent; tenants are refused them (TG-KIND-UNJUDGED).
- apiGroups: ["autoscaling.internal.knative.dev", "gateway.networking.k8s.io", "gateway.networking.x-k8s.io", "networking.internal.knative.dev", "networking.k8s.io"]
  apiVersions: ["*"]
  resources: ["*", "*/status"]
  operations: {{ .ops | toJson }}
  scope: "*"
{{- end -}}

{{/*
Namespace objects: every namespace but the control plane's, the release's and
the platform's shared ones (kubernetes.io/metadata.name is set by the API
server on every namespace, before admission, and is immutable). For a
Namespace, the selector is matched against the object's own labels, so
creating knative-serving or istio-system never waits for the webhook.
*/}}
{{- define "tenant-guard.selector.namespaces" -}}
{{- $names := concat (include "tenant-guard.excludedNamespaces" . | fromJsonArray) (include "tenant-guard.systemNamespaces" . | fromJsonArray) | uniq | sortAlpha -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ $names | toJson }}
{{- end -}}

{{/*
Namespace objects the selector above skips: exactly those names (disjoint from
it, so no request is judged twice).
*/}}
{{- define "tenant-guard.selector.reservedNamespaces" -}}
{{- $names := concat (include "tenant-guard.excludedNamespaces" . | fromJsonArray) (include "tenant-guard.systemNamespaces" . | fromJsonArray) | uniq | sortAlpha -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: In
      values: {{ $names | toJson }}
{{- end -}}

{{/*
Workloads: tenant namespaces only, i.e. namespaces carrying the tenant label.
The Namespace webhook adds that label when a tenant's namespace is created, so
every later pod and workload there is routed here; the platform's own
namespaces never carry it and are listed as excluded anyway, so their pods
(kube-system, knative-serving, istio-system) never depend on the webhook.
*/}}
{{- define "tenant-guard.selector.tenantNamespaces" -}}
{{- $names := concat (include "tenant-guard.excludedNamespaces" . | fromJsonArray) (include "tenant-guard.systemNamespaces" . | fromJsonArray) | uniq | sortAlpha -}}
namespaceSelector:
  matchExpressions:
    - key: {{ .Values.tenancy.tenantLabel | quote }}
      operator: Exists
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ $names | toJson }}
    - key: tenant-guard.dev/ignore
      operator: NotIn
      values: ["true"]
{{- end -}}

{{/*
Workloads in namespaces the config assigns to a tenant by name but that do not
(yet) carry the tenant label, e.g. created before tenant-guard was installed.
Disjoint from the selector above (DoesNotExist), so no request is sent twice.
*/}}
{{- define "tenant-guard.selector.configuredTenantNamespaces" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: In
      values: {{ include "tenant-guard.configuredTenantNamespaces" . }}
    - key: {{ .Values.tenancy.tenantLabel | quote }}
      operator: DoesNotExist
    - key: tenant-guard.dev/ignore
      operator: NotIn
      values: ["true"]
{{- end -}}

{{/*
Mesh policies: every namespace but the control plane's and the release's. The
platform's shared namespaces stay routed on purpose: a policy in
knative-serving (the activator) or in the mesh root namespace reaches every
tenant. Istio's own controllers are exempt through matchConditions.
*/}}
{{- define "tenant-guard.selector.mesh" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ include "tenant-guard.excludedNamespaces" . }}
    - key: tenant-guard.dev/ignore
      operator: NotIn
      values: ["true"]
{{- end -}}

{{/*
Fields every webhook shares. Call with (dict "root" $ "path" "/validate" "failurePolicy" "Fail").
- admissionReviewVersions v1: the only version the server speaks.
- sideEffects None: the engine only reads its in-memory cache, so dry-run
  requests (kubectl --dry-run=server) are sent to it as well.
- matchPolicy Equivalent: a request through another version of a routed
  resource (e.g. apps/v1beta2) is converted and still reviewed.
- No objectSelector: object labels are written by the tenant, so selecting on
  them would let a tenant opt its own objects out of the guard.
*/}}
{{- define "tenant-guard.webhookCommon" -}}
{{ include "tenant-guard.clientConfig" (dict "root" .root "path" .path) }}
admissionReviewVersions: ["v1"]
sideEffects: None
timeoutSeconds: {{ .root.Values.webhook.timeoutSeconds }}
failurePolicy: {{ .failurePolicy }}
matchPolicy: Equivalent
{{- end -}}
