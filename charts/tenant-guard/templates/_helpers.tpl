{{/* Names and labels. */}}

{{/* tenant-guard's own identity as the API server sees it. */}}
{{- define "tenant-guard.serviceAccountUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "tenant-guard.fullname" . }}
{{- end -}}

{{/* The Lease the controllers' leader holds. */}}
{{- define "tenant-guard.leaseName" -}}
{{- printf "%s-controllers" (include "tenant-guard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The tenancy values as the server reads them (YAML): with controllers on,
tenant-guard's service account is one of the platform controllers, which
the engine lets write the baseline objects tenants may not touch.
*/}}
{{- define "tenant-guard.tenancy" -}}
{{- $t := deepCopy .Values.tenancy -}}
{{- if .Values.controllers.enabled -}}
{{- $pc := default (dict) $t.platformControllers -}}
{{- $users := concat (default (list) $pc.users) (list (include "tenant-guard.serviceAccountUser" .)) | uniq -}}
{{- $_ := set $pc "users" $users -}}
{{- $_ := set $t "platformControllers" $pc -}}
{{- end -}}
{{- /* Namespaces the webhooks skip are trusted by name too: only platform admins may create or label them. */ -}}
{{- $reserved := concat (default (list) $t.reservedNamespaces) (include "tenant-guard.excludedNamespaces" . | fromJsonArray) | uniq | sortAlpha -}}
{{- $_ := set $t "reservedNamespaces" $reserved -}}
{{- toYaml $t -}}
{{- end -}}

{{- define "tenant-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-wide object name; 63 characters at most (DNS label, Service name). */}}
{{- define "tenant-guard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tenant-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenant-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenant-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tenant-guard.labels" -}}
helm.sh/chart: {{ include "tenant-guard.chart" . }}
{{ include "tenant-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tenant-guard
{{- end -}}

{{- define "tenant-guard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Namespaces. */}}

{{/*
Namespaces whose objects never reach the webhook: the control plane's own
(kube-system, kube-public, kube-node-lease), the release namespace (the
webhook must be able to start its own pods while it is down) and any the user
adds. JSON list, sorted and unique.
*/}}
{{- define "tenant-guard.excludedNamespaces" -}}
{{- $ns := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace -}}
{{- $ns = concat $ns .Values.webhook.excludedNamespaces -}}
{{- $ns | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/*
The platform's shared namespaces (Knative's activator, Istio's gateways, the
mesh root): JSON list, sorted and unique.
*/}}
{{- define "tenant-guard.systemNamespaces" -}}
{{- $ns := concat .Values.tenancy.systemNamespaces (list .Values.tenancy.meshRootNamespace) -}}
{{- $ns | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* Namespaces the tenancy config assigns to tenants by name: JSON list. */}}
{{- define "tenant-guard.configuredTenantNamespaces" -}}
{{- $ns := list -}}
{{- range .Values.tenancy.tenants -}}
{{- $ns = concat $ns (default (list) .namespaces) -}}
{{- end -}}
{{- $ns | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/*
Render-time checks values.schema.json cannot express. Included by every
template that depends on them, so `helm template` fails early and clearly.
*/}}
{{- define "tenant-guard.validate" -}}
{{- $system := include "tenant-guard.systemNamespaces" . | fromJsonArray -}}
{{- if has .Release.Namespace $system -}}
{{- fail (printf "the release namespace %q is a system namespace of the tenancy config; it is excluded from the webhook, so installing there would leave tenants' writes into it unchecked. Install into a namespace of its own, e.g. --namespace tenant-guard" .Release.Namespace) -}}
{{- end -}}
{{- if has .Release.Namespace (include "tenant-guard.configuredTenantNamespaces" . | fromJsonArray) -}}
{{- fail (printf "the release namespace %q belongs to a tenant; it is excluded from the webhook, so that tenant's writes there would go unchecked. Install into a namespace of its own, e.g. --namespace tenant-guard" .Release.Namespace) -}}
{{- end -}}
{{- if and .Values.certManager.enabled .Values.tls.existingSecret -}}
{{- fail "certManager.enabled and tls.existingSecret both choose the serving certificate; set only one" -}}
{{- end -}}
{{- if and .Values.tls.existingSecret (not .Values.webhook.caBundle) -}}
{{- fail "tls.existingSecret needs webhook.caBundle: the base64 PEM of the CA that signed the certificate in that Secret, so the API server can verify the webhook" -}}
{{- end -}}
{{- $e := include "tenant-guard.exemptIdentities" . | fromJson -}}
{{- range concat $e.users $e.groups -}}
{{- if or (contains "'" .) (contains "\\" .) -}}
{{- fail (printf "exempt identity %q contains a quote or backslash, which cannot be written into the webhooks' matchConditions (CEL string literals)" .) -}}
{{- end -}}
{{- end -}}
{{- if and (dig "baseline" "enabled" false .Values.tenancy) (not .Values.controllers.enabled) -}}
{{- fail "tenancy.baseline.enabled needs controllers.enabled: without the controllers nothing creates the baseline, and tenant workloads would be refused in every tenant namespace no ALLOW policy closes. Enable both, or set tenancy.baseline.enabled=false" -}}
{{- end -}}
{{- if .Values.clientAuth.enabled -}}
{{- if and .Values.clientAuth.caBundle .Values.clientAuth.existingConfigMap -}}
{{- fail "clientAuth.caBundle and clientAuth.existingConfigMap both give the client CA; set only one" -}}
{{- end -}}
{{- if not (or .Values.clientAuth.caBundle .Values.clientAuth.existingConfigMap) -}}
{{- fail "clientAuth.enabled needs the CA that signs the API server's client certificate: clientAuth.caBundle (PEM) or clientAuth.existingConfigMap (key ca.crt)" -}}
{{- end -}}
{{- if and .Values.clientAuth.caBundle (not (contains "-----BEGIN CERTIFICATE-----" .Values.clientAuth.caBundle)) -}}
{{- fail "clientAuth.caBundle must be PEM (-----BEGIN CERTIFICATE-----), not base64 of it" -}}
{{- end -}}
{{- end -}}
{{- if eq (int .Values.metrics.port) 8443 -}}
{{- fail "metrics.port must differ from the webhook's port 8443" -}}
{{- end -}}
{{- if eq (include "tenant-guard.certSource" .) "self" -}}
{{- $ca := include "tenant-guard.durationSeconds" .Values.tls.self.caValidity | float64 -}}
{{- $cert := include "tenant-guard.durationSeconds" .Values.tls.self.certValidity | float64 -}}
{{- if gt $cert $ca -}}
{{- fail (printf "tls.self.certValidity (%s) is longer than tls.self.caValidity (%s): a serving certificate cannot outlive the CA that signs it, and tenant-guard would refuse to start (crash-looping every replica). Shorten certValidity or lengthen caValidity" .Values.tls.self.certValidity .Values.tls.self.caValidity) -}}
{{- end -}}
{{- end -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (add (int .Values.shutdownDelaySeconds) (int .Values.webhook.timeoutSeconds)) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than shutdownDelaySeconds (%d) + webhook.timeoutSeconds (%d): the pod must outlive the shutdown delay and the reviews still in flight" (int .Values.terminationGracePeriodSeconds) (int .Values.shutdownDelaySeconds) (int .Values.webhook.timeoutSeconds)) -}}
{{- end -}}
{{- end -}}

{{/* Certificates. */}}

{{/* "cert-manager", "secret" (user-provided), "self" (kept by tenant-guard) or "helm" (generated by the chart). */}}
{{- define "tenant-guard.certSource" -}}
{{- if .Values.certManager.enabled -}}cert-manager
{{- else if .Values.tls.existingSecret -}}secret
{{- else -}}{{ .Values.tls.mode }}
{{- end -}}
{{- end -}}

{{/* Non-empty when serve runs a controller under leader election (mode self, PolicyReports). */}}
{{- define "tenant-guard.controllers" -}}
{{- if or (eq (include "tenant-guard.certSource" .) "self") .Values.policyReports.enabled -}}true{{- end -}}
{{- end -}}

{{- define "tenant-guard.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "tenant-guard.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{/* The names the API server may dial the Service by: JSON list. */}}
{{- define "tenant-guard.dnsNames" -}}
{{- $svc := include "tenant-guard.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson -}}
{{- end -}}

{{/*
The Helm-generated CA and serving certificate, base64-encoded:
{"ca.crt", "tls.crt", "tls.key"} as JSON.

Reuses the Secret of a previous install when it holds all three keys and was
issued for the same DNS names, so `helm upgrade` does not rotate the
certificate (which would briefly leave pods serving a certificate the new
caBundle does not match). `lookup` returns nothing under `helm template`, so
there it always generates.

Generated once per render and memoised on the root context: the Secret and
both webhook configurations are separate templates, and each must see the
same CA (genCA is random).
*/}}
{{- define "tenant-guard.generatedTLS" -}}
{{- if not (hasKey . "tenantGuardGeneratedTLS") -}}
{{- $secretName := include "tenant-guard.tlsSecretName" . -}}
{{- $dnsNames := include "tenant-guard.dnsNames" . | fromJsonArray -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName -}}
{{- $data := dict -}}
{{- if $existing -}}
{{- $data = default dict $existing.data -}}
{{- end -}}
{{- $issuedFor := "" -}}
{{- if $existing -}}
{{- $issuedFor = get (default dict $existing.metadata.annotations) "tenant-guard.dev/dns-names" -}}
{{- end -}}
{{- $tls := dict -}}
{{- if and (hasKey $data "ca.crt") (hasKey $data "tls.crt") (hasKey $data "tls.key") (eq $issuedFor (join "," $dnsNames)) -}}
{{- $tls = dict "ca.crt" (get $data "ca.crt") "tls.crt" (get $data "tls.crt") "tls.key" (get $data "tls.key") -}}
{{- else -}}
{{- $days := int .Values.tls.generated.validityDays -}}
{{- $ca := genCA (printf "%s-ca" (include "tenant-guard.fullname" .)) $days -}}
{{- $cert := genSignedCert (index $dnsNames 2) nil $dnsNames $days $ca -}}
{{- $tls = dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set . "tenantGuardGeneratedTLS" $tls -}}
{{- end -}}
{{- get . "tenantGuardGeneratedTLS" | toJson -}}
{{- end -}}

{{/*
The caBundle for the webhook configurations, base64, or empty when there is
none to set: cert-manager injects it, and a URL webhook without one is
verified against the API server's system roots.
*/}}
{{- define "tenant-guard.caBundle" -}}
{{- if .Values.webhook.caBundle -}}
{{- .Values.webhook.caBundle -}}
{{- else if and (not .Values.webhook.url) (eq (include "tenant-guard.certSource" .) "helm") -}}
{{- get (include "tenant-guard.generatedTLS" . | fromJson) "ca.crt" -}}
{{- end -}}
{{- end -}}

{{/* Annotations of the webhook configurations (cert-manager's CA injection). */}}
{{- define "tenant-guard.webhookAnnotations" -}}
{{- if and (eq (include "tenant-guard.certSource" .) "cert-manager") (not .Values.webhook.caBundle) -}}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "tenant-guard.fullname" .) }}
{{- end -}}
{{- end -}}

{{/* Webhook wiring. */}}

{{/* clientConfig for one endpoint; call with (dict "root" $ "path" "/mutate"). */}}
{{- define "tenant-guard.clientConfig" -}}
{{- $root := .root -}}
clientConfig:
{{- if $root.Values.webhook.url }}
  url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhook.url) .path | quote }}
{{- else }}
  service:
    name: {{ include "tenant-guard.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ .path }}
    port: 443
{{- end }}
{{- with include "tenant-guard.caBundle" $root }}
  caBundle: {{ . }}
{{- end }}
{{- end -}}

{{/*
Identities whose requests skip the webhook: JSON {"users": [...], "groups": [...]}.
*/}}
{{- define "tenant-guard.exemptIdentities" -}}
{{- $e := .Values.webhook.exemptIdentities -}}
{{- $users := default (list) $e.users -}}
{{- $groups := default (list) $e.groups -}}
{{- if $e.platformControllers -}}
{{- $tenancy := include "tenant-guard.tenancy" . | fromYaml -}}
{{- $users = concat $users (default (list) $tenancy.platformControllers.users) -}}
{{- $groups = concat $groups (default (list) $tenancy.platformControllers.groups) -}}
{{- end -}}
{{- dict "users" ($users | uniq | sortAlpha) "groups" ($groups | uniq | sortAlpha) | toJson -}}
{{- end -}}

{{/* A CEL list literal of strings: ['a', 'b']. Values are checked by the schema to hold no quote. */}}
{{- define "tenant-guard.celList" -}}
{{- $items := list -}}
{{- range . -}}
{{- $items = append $items (printf "'%s'" .) -}}
{{- end -}}
[{{ join ", " $items }}]
{{- end -}}

{{/*
matchConditions shared by every webhook (GA in Kubernetes 1.30). When a
condition is false the API server does not call the webhook at all, so these
requests never depend on the webhook being up: the platform's controllers
(kube-controller-manager creating a Deployment's pods, Knative's controller
creating Revisions, istiod) keep working through any webhook outage.
https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-matchconditions
*/}}
{{- define "tenant-guard.matchConditions" -}}
{{- $e := include "tenant-guard.exemptIdentities" . | fromJson -}}
{{- if $e.users }}
- name: exempt-users
  expression: {{ printf "!(request.userInfo.username in %s)" (include "tenant-guard.celList" $e.users) | quote }}
{{- end }}
{{- if $e.groups }}
- name: exempt-groups
  expression: {{ printf "!request.userInfo.groups.exists(g, g in %s)" (include "tenant-guard.celList" $e.groups) | quote }}
{{- end }}
{{- end -}}

{{/*
The platform admins of the tenancy config skip the reserved-namespaces webhook:
the engine always admits them there. Always at least one condition (a webhook
with an empty admin list still renders valid matchConditions).
*/}}
{{- define "tenant-guard.platformAdminConditions" -}}
{{- $a := default (dict) .Values.tenancy.platformAdmins -}}
{{- $users := default (list) $a.users | uniq | sortAlpha -}}
{{- $groups := default (list) $a.groups | uniq | sortAlpha -}}
- name: not-platform-admin-user
  expression: {{ printf "!(request.userInfo.username in %s)" (include "tenant-guard.celList" $users) | quote }}
- name: not-platform-admin-group
  expression: {{ printf "!request.userInfo.groups.exists(g, g in %s)" (include "tenant-guard.celList" $groups) | quote }}
{{- end -}}

{{/*
For Namespace objects only: skip a namespace that already carried
tenant-guard.dev/ignore=true before this request and still does (or is being
deleted). Setting the label, or removing it, still goes through the webhook:
a namespaceSelector would match the new labels of the request, so a namespace
could opt itself out unseen.
*/}}
{{- define "tenant-guard.namespaceIgnoreCondition" -}}
{{- $ign := "has(%s.metadata.labels) && 'tenant-guard.dev/ignore' in %s.metadata.labels && %s.metadata.labels['tenant-guard.dev/ignore'] == 'true'" -}}
{{- $old := printf $ign "oldObject" "oldObject" "oldObject" -}}
{{- $new := printf $ign "object" "object" "object" -}}
- name: not-already-ignored
  expression: {{ printf "!(oldObject != null && %s && (object == null || (%s)))" $old $new | quote }}
{{- end -}}

{{/* A duration of the schema's form (500ms, 30s, 2m, 12h, 90d) in seconds, as a string. values.schema.json cannot compare two fields: the templates do. */}}
{{- define "tenant-guard.durationSeconds" -}}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . | float64 -}}
{{- $unit := regexFind "(ms|s|m|h|d)$" . -}}
{{- $mult := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0 -}}
{{- mulf $n (get $mult $unit) -}}
{{- end -}}

{{/* Fails unless the string (list WHERE STRING) can go into the ValidatingAdmissionPolicies' params (src/vap/enforcement.ts plain). */}}
{{- define "tenant-guard.vapPlain" -}}
{{- if regexMatch "[|,;:\n]" (index . 1) -}}
{{- fail (printf "%s: %q cannot be written to the ValidatingAdmissionPolicies' params (it holds one of | , ; : or a newline, which no Kubernetes name or label does)" (index . 0) (index . 1)) -}}
{{- end -}}
{{- end -}}
