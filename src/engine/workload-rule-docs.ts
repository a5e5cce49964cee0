import type { RuleDoc } from './context.js';
import { POD_RULE } from './sidecar-injection-status.js';
import { WORKLOAD_RULE } from './workload-findings.js';

const KNATIVE = ['serving.knative.dev/Service', 'serving.knative.dev/Configuration', 'serving.knative.dev/Revision'];
const TEMPLATES = ['ReplicationController', 'apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job', 'batch/CronJob'];
export const WORKLOAD_KINDS = ['Pod', ...TEMPLATES, ...KNATIVE];

const SCOPE =
  ' Judged in tenant namespaces for everyone but platform controllers (platform admins included); controllers and tenants writing into namespaces no tenant owns get a warning instead.';

/** Rules shared by Pods, pod-template workloads and Knative Service/Configuration/Revision. */
export const workloadRules: RuleDoc[] = [
  {
    id: WORKLOAD_RULE.injectOptOut,
    kinds: WORKLOAD_KINDS,
    stops: 'Opting a workload out of Istio sidecar injection with sidecar.istio.io/inject (label or annotation) set to anything but a true value.',
    why:
      'Tenant isolation is enforced by the sidecar of the called pod (PeerAuthentication STRICT, AuthorizationPolicy). A pod without a sidecar accepts plaintext from every tenant and has no mesh identity. ' +
      'Istio lowercases the value and injects only for y/yes/true/on (or no value: the namespace decides); the label wins over the annotation.' +
      SCOPE,
    cite: 'https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy (pkg/kube/inject/inject.go injectRequired)',
    example: `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: no-mesh, namespace: tenant-1}
spec:
  template:
    metadata:
      annotations: {sidecar.istio.io/inject: "false"}
    spec:
      containers: [{image: kennethreitz/httpbin}]`,
  },
  {
    id: WORKLOAD_RULE.gatewayLabel,
    kinds: WORKLOAD_KINDS,
    stops:
      'A tenant workload labelled gateway.networking.k8s.io/gateway-name or istio.io/gateway-name (the labels of a Gateway API gateway proxy), or with every label of the shared gateway\'s selector (`baseline.gatewayPolicy.selector`, `istio: ingressgateway` by default) or of a shared hop\'s labels (config `sharedHops`); Knative\'s implicit `app: <revision name>` counts, and WorkloadEntry/WorkloadGroup labels are judged alike.',
    why:
      'Istio binds AuthorizationPolicies with targetRefs to a Gateway API Gateway to the pods carrying its gateway-name label, and with ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY=false such pods ignore ' +
      "namespace-wide and selector-based policies: a tenant pod wearing the label would fall outside its tenant's AuthorizationPolicies and take calls from every tenant. Gateway pods are deployed by Istio's controller, which is never blocked. " +
      "The shared gateway's own policies live in the mesh root namespace, where a selector selects matching pods of every namespace: a tenant pod with the gateway's labels takes them, and they admit every tenant for its own Hosts (the model relies on no tenant pod carrying them)." +
      SCOPE,
    cite: 'https://istio.io/latest/docs/reference/config/security/authorization-policy/ (targetRefs); istio/istio pilot/pkg/model/policyattachment.go',
    example: `apiVersion: v1
kind: Pod
metadata:
  name: fake-gateway
  namespace: tenant-1
  labels: {gateway.networking.k8s.io/gateway-name: shared}
spec:
  containers: [{name: app, image: curlimages/curl}]`,
  },
  {
    id: WORKLOAD_RULE.captureBypass,
    kinds: WORKLOAD_KINDS,
    stops:
      'Annotations that narrow traffic capture: traffic.sidecar.istio.io/* (include/exclude ports, IP ranges, interfaces), sidecar.istio.io/interceptionMode NONE, status.sidecar.istio.io/port, istio.io/reroute-virtual-interfaces, ambient.istio.io/bypass-inbound-capture.',
    why:
      'istio-iptables builds the pod\'s capture rules from these annotations. Excluded inbound ports reach the application without mTLS or AuthorizationPolicy, so another tenant can call them directly; ' +
      'excluded outbound traffic leaves in plaintext without the workload identity. The status port is excluded from inbound capture too. Values that capture everything (the defaults, which istio-cni writes onto injected pods) are accepted.' +
      SCOPE,
    cite: 'https://istio.io/latest/docs/reference/config/annotations/ (injection-template.yaml istio-iptables arguments)',
    example: `apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata:
      labels: {app: curl}
      annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "8080"}
    spec:
      containers: [{name: curl, image: curlimages/curl}]`,
  },
  {
    id: WORKLOAD_RULE.proxyOverride,
    kinds: WORKLOAD_KINDS,
    stops:
      'Replacing parts of the injected proxy: sidecar.istio.io/proxyImage, bootstrapOverride, userVolume, userVolumeMount, discoveryAddress, proxy.istio.io/overrides, proxy.istio.io/config beyond lifecycle and sizing fields, inject.istio.io/templates other than "sidecar", and a user-written sidecar.istio.io/status on templates.',
    why:
      'The sidecar is the enforcement point of mTLS and the tenant\'s AuthorizationPolicies. A proxy image, bootstrap or ProxyConfig of the workload\'s choosing can accept or send traffic the mesh would refuse; ' +
      'other injection templates (gateway, grpc-agent) install no capturing sidecar.' +
      SCOPE,
    cite: 'https://istio.io/latest/docs/reference/config/annotations/',
    example: `apiVersion: v1
kind: Pod
metadata:
  name: custom-proxy
  namespace: tenant-1
  annotations: {sidecar.istio.io/proxyImage: "example.com/my-envoy:1"}
spec:
  containers: [{name: app, image: kennethreitz/httpbin}]`,
  },
  {
    id: WORKLOAD_RULE.reservedContainer,
    kinds: WORKLOAD_KINDS,
    stops: 'User containers named istio-proxy, istio-init or istio-validation (outside the containers Istio\'s injector verifiably added to a Pod).',
    why:
      'Istio merges a user-supplied container of that name into the injected one ("customizing injection"), image and securityContext included, so the workload would choose what runs as the proxy (UID 1337, uncaptured) or sets up capture. ' +
      'Pod templates of Deployments and the like are never injected by Istio, so these names there are always user-written.' +
      SCOPE,
    cite: 'https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#customizing-injection',
    example: `apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}}
    spec:
      containers:
        - {name: curl, image: curlimages/curl}
        - {name: istio-proxy, image: example.com/my-envoy:1}`,
  },
  {
    id: WORKLOAD_RULE.proxyIdentity,
    kinds: WORKLOAD_KINDS,
    stops:
      "runAsUser or runAsGroup set to Istio's proxy UID/GID (1337; on OpenShift also the last id of the namespace's openshift.io/sa.scc.uid-range and supplemental-groups) in the pod securityContext or any user container securityContext.",
    why:
      "istio-iptables exempts the proxy's UID/GID from capture so the proxy does not capture itself. Any other process running as that id connects out without the sidecar: plaintext, no workload identity, no egress policy. " +
      "On OpenShift Istio's injector gives the proxy the last UID of the namespace's preallocated range instead of 1337 (GetProxyIDs), and tenant containers may pick any UID of that range." +
      SCOPE,
    cite: 'https://istio.io/latest/docs/ops/deployment/application-requirements/#pod-requirements (UID 1337); istio/istio pkg/kube/inject/openshift.go (getPreallocatedUIDRange)',
    example: `apiVersion: v1
kind: Pod
metadata: {name: sneaky, namespace: tenant-1}
spec:
  containers:
    - name: app
      image: curlimages/curl
      securityContext: {runAsUser: 1337}`,
  },
  {
    id: WORKLOAD_RULE.netAdmin,
    kinds: WORKLOAD_KINDS,
    stops: 'A user container that is privileged or adds the NET_ADMIN (or ALL) capability.',
    why:
      "The sidecar's capture is a set of iptables rules in the pod's network namespace, which every container of the pod shares. A process with CAP_NET_ADMIN can delete them: inbound connections then reach the application " +
      "without mTLS or AuthorizationPolicy, so another tenant can call it directly, and outbound ones leave in plaintext. Istio's own istio-init (which needs NET_ADMIN to install the rules) is exempt on Pods where the injector verifiably added it; with istio-cni no container of the pod needs it." +
      SCOPE,
    cite: 'https://istio.io/latest/docs/setup/additional-setup/cni/ (NET_ADMIN, traffic redirection); https://istio.io/latest/docs/ops/best-practices/security/#understand-traffic-capture-limitations',
    example: `apiVersion: apps/v1
kind: Deployment
metadata: {name: netadmin, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: netadmin}}
  template:
    metadata: {labels: {app: netadmin}}
    spec:
      containers:
        - name: app
          image: curlimages/curl
          securityContext: {capabilities: {add: [NET_ADMIN]}}`,
  },
  {
    id: WORKLOAD_RULE.hostNetwork,
    kinds: WORKLOAD_KINDS,
    stops: 'hostNetwork: true on a tenant workload.',
    why:
      "Istio never injects host-network pods (injectRequired returns false), so such a pod has no sidecar, no mTLS identity and no capture; its traffic carries the node's address." +
      SCOPE,
    cite: 'pkg/kube/inject/inject.go injectRequired (HostNetwork)',
    example: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      hostNetwork: true
      containers: [{name: agent, image: busybox}]`,
  },
  {
    id: WORKLOAD_RULE.foreignRevision,
    kinds: WORKLOAD_KINDS,
    stops: "An istio.io/rev label on a workload naming another tenant's control plane (with per-tenant control planes: anything but the tenant's own revision).",
    why:
      "istio.io/rev on a pod selects the control plane that injects it when the namespace has no injection label. Another tenant's revision would give the pod that tenant's proxy configuration and certificates. " +
      'No example here: the bundled config has no per-tenant control planes.' +
      SCOPE,
    cite: 'https://istio.io/latest/docs/setup/upgrade/canary/#data-plane',
  },
  {
    id: POD_RULE.injectionStatus,
    kinds: ['Pod'],
    stops: 'A sidecar.istio.io/status annotation on a Pod that Istio cannot have written: not its JSON shape, claiming containers other than Istio\'s, or naming containers the pod does not have.',
    why:
      'The status annotation names the containers Istio injected; tenant-guard exempts exactly those from the reserved-name and UID 1337 checks. A forged status would exempt a user container whose traffic then skips capture.' +
      SCOPE,
    cite: 'pkg/kube/inject/webhook.go (applyMetadata, parseStatus)',
    example: `apiVersion: v1
kind: Pod
metadata:
  name: forged
  namespace: tenant-1
  annotations: {sidecar.istio.io/status: '{"containers":["app"],"initContainers":[]}'}
spec:
  containers:
    - name: app
      image: curlimages/curl
      securityContext: {runAsUser: 1337}`,
  },
  {
    id: POD_RULE.sidecarTamper,
    kinds: ['Pod'],
    stops: "Changing the image of an Istio-injected container, or the sidecar.istio.io/status annotation, on a running Pod.",
    why:
      'Container images are mutable on a Pod (kubectl set image). The capture rules stay in place and route all traffic through whatever now runs as the proxy, with its capture exemption.' +
      SCOPE,
    cite: 'https://kubernetes.io/docs/concepts/workloads/pods/#pod-update-and-replacement',
    example: `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: tenant-1
  annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"],"initContainers":["istio-init"]}'}
spec:
  initContainers: [{name: istio-init, image: docker.io/istio/proxyv2:1.22.0}]
  containers:
    - {name: app, image: curlimages/curl}
    - {name: istio-proxy, image: docker.io/istio/proxyv2:1.22.0, securityContext: {runAsUser: 1337}}
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: tenant-1
  annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"],"initContainers":["istio-init"]}'}
spec:
  initContainers: [{name: istio-init, image: docker.io/istio/proxyv2:1.22.0}]
  containers:
    - {name: app, image: curlimages/curl}
    - {name: istio-proxy, image: example.com/my-envoy:1, securityContext: {runAsUser: 1337}}`,
  },
  {
    id: WORKLOAD_RULE.hostPath,
    kinds: WORKLOAD_KINDS,
    stops: 'Any hostPath volume in a tenant workload.',
    why:
      "The node holds every pod's mesh credentials: the kubelet's pods directory (/var/lib/kubelet/pods/<uid>/volumes) keeps each pod's projected istio-token, and the SDS and credential sockets " +
      "live on node paths. A tenant reading them takes another tenant's identity. Every hostPath is refused, because a path allow-list is one symlink or bind mount away from those directories." +
      SCOPE,
    cite: 'https://kubernetes.io/docs/concepts/storage/volumes/#hostpath (security warnings); https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline (HostPath Volumes)',
    example: `apiVersion: v1
kind: Pod
metadata: {name: snoop, namespace: tenant-1}
spec:
  containers: [{name: app, image: busybox, volumeMounts: [{name: pods, mountPath: /pods}]}]
  volumes: [{name: pods, hostPath: {path: /var/lib/kubelet/pods}}]`,
  },
  {
    id: WORKLOAD_RULE.hostNamespaces,
    kinds: WORKLOAD_KINDS,
    stops: 'hostPID: true or hostIPC: true on a tenant workload.',
    why:
      "hostPID shares the node's process table: other tenants' istio-proxy processes, their environment and /proc/<pid>/root (their credentials) become reachable; hostIPC shares the node's IPC namespace with every pod on it." +
      SCOPE,
    cite: 'https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline (Host Namespaces)',
    example: `apiVersion: apps/v1
kind: Deployment
metadata: {name: peek, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: peek}}
  template:
    metadata: {labels: {app: peek}}
    spec:
      hostPID: true
      containers: [{name: app, image: busybox}]`,
  },
  {
    id: WORKLOAD_RULE.capabilities,
    kinds: WORKLOAD_KINDS,
    stops: 'A user container adding any capability but NET_BIND_SERVICE (NET_ADMIN and ALL: TG-WORKLOAD-NET-ADMIN).',
    why:
      'SYS_PTRACE reaches the istio-proxy process (and its private key) when the process namespace is shared, SETUID/SETGID reach the proxy UID 1337 that capture skips, SYS_ADMIN mounts, ' +
      'DAC_READ_SEARCH opens node files by handle. The Pod Security Standards\' restricted profile allows NET_BIND_SERVICE only.' +
      SCOPE,
    cite: 'https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted (Capabilities)',
    example: `apiVersion: v1
kind: Pod
metadata: {name: tracer, namespace: tenant-1}
spec:
  shareProcessNamespace: true
  containers: [{name: app, image: busybox, securityContext: {capabilities: {add: [SYS_PTRACE]}}}]`,
  },
  {
    id: WORKLOAD_RULE.setuid,
    kinds: WORKLOAD_KINDS,
    stops:
      'A user container (ephemeral ones included) without allowPrivilegeEscalation: false, or running as root (no runAsNonRoot, runAsUser 0 or unset) without SETUID and SETGID dropped. ' +
      'With config rootContainers: drop (the default) the missing settings are added by a patch in tenant namespaces, and refused only where no patch is possible (new ephemeral containers of a running Pod); ' +
      'with rootContainers: deny they are refused.',
    why:
      'istio-iptables does not capture traffic of UID/GID 1337 (the proxy\'s). A root process with CAP_SETUID calls setuid(1337) at run time, and any process can exec a set-user-ID binary of its own image ' +
      'owned by 1337 (or by root): its connections then leave without the sidecar, in plaintext and past every AuthorizationPolicy. Dropping SETUID/SETGID (or running as non-root) stops the first, ' +
      'allowPrivilegeEscalation: false (no_new_privs) the second. Templates of Deployments and Knative Services get the patch, so the first update after installing tenant-guard rolls the workload once.' +
      SCOPE,
    cite: 'https://kubernetes.io/docs/tasks/configure-pod-container/security-context/; https://docs.kernel.org/userspace-api/no_new_privs.html; https://istio.io/latest/docs/ops/deployment/application-requirements/ (UID 1337)',
  },
  {
    id: 'TG-WORKLOAD-EXEC-PROXY',
    kinds: ['Pod'],
    stops: 'A tenant kubectl exec / attach (pods/exec, pods/attach CONNECT) into istio-proxy, istio-init or istio-validation, or without naming the container.',
    why:
      'A shell in istio-proxy runs as UID 1337, whose traffic the capture skips, next to the proxy\'s credentials and Envoy\'s admin port. The CONNECT request carries the container name ' +
      '(PodExecOptions/PodAttachOptions `container`); kubectl fills it from the kubectl.kubernetes.io/default-container annotation or the first container, and a request without it is refused, ' +
      'since the pod is not in the cluster state to tell which container the API server would pick. Platform admins may exec into the proxy.',
    cite: 'https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/ (connect exec/attach, query parameter container)',
  },
];
