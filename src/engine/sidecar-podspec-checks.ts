// Checks on a pod spec (a Pod's spec, a template's spec, a Revision's spec)
// for the ways a container can step outside the sidecar's capture.

import { containerLabel } from './container-names.js';
import { DEFAULT_PROXY_IDS, type ProxyIds } from './sidecar-proxy-ids.js';
import { WORKLOAD_RULE, type Finding } from './workload-findings.js';
import { FieldShapeError } from './field-shape-error.js';

/**
 * Istio's proxy UID and GID. istio-iptables installs `-m owner --uid-owner
 * 1337 -j RETURN` and `--gid-owner 1337` so the proxy's own connections are
 * not captured again (tools/istio-iptables, injection template `-u 1337`):
 * any other process running as 1337 sends traffic that skips the sidecar.
 * On OpenShift the ids come from the namespace (see sidecar-proxy-ids.ts).
 */
export const PROXY_ID = 1337;

/** Container names Istio's injector owns (pkg/kube/inject/inject.go). */
export const ISTIO_CONTAINERS = new Set(['istio-proxy', 'istio-init', 'istio-validation']);

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Present but not an object (absent values are fine). */
function notAnObject(v: unknown): boolean {
  return v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v));
}

function asObject(v: unknown, path: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (notAnObject(v)) throw new FieldShapeError(`${path} is not an object`);
  return v as Record<string, unknown>;
}

function proxyIdFindings(out: Finding[], sc: Record<string, unknown> | undefined, path: string, who: string, ids: ProxyIds): void {
  for (const field of ['runAsUser', 'runAsGroup'] as const) {
    const value = sc?.[field];
    const kind = field === 'runAsUser' ? 'UID' : 'GID';
    if (typeof value !== 'number' || !(field === 'runAsUser' ? ids.uids : ids.gids).has(value)) continue;
    out.push({
      rule: WORKLOAD_RULE.proxyIdentity,
      path: `${path}.${field}`,
      message:
        `${who} sets ${field}: ${value}, Istio's proxy ${kind}${value === PROXY_ID ? '' : ' in this namespace (the last id of its OpenShift range)'}. ` +
        `istio-iptables exempts traffic of ${kind} ${value} from capture, ` +
        `so this process would connect out in plaintext, without the workload's mTLS identity and past the sidecar's policy. Use any other ${kind}.`,
    });
  }
}

/** Capabilities that let a container rewrite the pod's iptables, i.e. remove the capture rules. */
export const NET_ADMIN_CAPS = new Set(['NET_ADMIN', 'ALL']);

/** Container runtimes accept "NET_ADMIN", "CAP_NET_ADMIN" and any case (containerd upper-cases and prefixes CAP_). */
function capabilityName(c: unknown): string {
  return String(c).toUpperCase().replace(/^CAP_/, '');
}

function netAdminFindings(out: Finding[], sc: Record<string, unknown> | undefined, path: string, who: string): void {
  if (!sc) return;
  const effect =
    'the pod\'s capture rules live in its own network namespace, and a process holding CAP_NET_ADMIN can flush them (iptables -t nat -F): ' +
    'inbound connections then reach the application without mTLS, PeerAuthentication STRICT or the tenant\'s AuthorizationPolicies, and outbound ones leave in plaintext';
  if (sc.privileged === true) {
    out.push({
      rule: WORKLOAD_RULE.netAdmin,
      path: `${path}.privileged`,
      message: `${who} is privileged, which grants every capability including NET_ADMIN; ${effect}. Remove privileged.`,
    });
  }
  const add = (sc.capabilities as { add?: unknown } | undefined)?.add;
  if (Array.isArray(add)) {
    add.forEach((c: unknown, i: number) => {
      if (!NET_ADMIN_CAPS.has(capabilityName(c))) return;
      out.push({
        rule: WORKLOAD_RULE.netAdmin,
        path: `${path}.capabilities.add[${i}]`,
        message: `${who} adds the capability ${String(c)}; ${effect}. Remove it.`,
      });
    });
  }
}

/**
 * Capabilities a tenant container may add: NET_BIND_SERVICE only, as in the
 * Pod Security Standards' restricted profile
 * (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted).
 * The others reach past the container: SYS_PTRACE reads the proxy's memory
 * (its private key) when the process namespace is shared, SYS_ADMIN mounts,
 * DAC_READ_SEARCH opens files by handle on the node's filesystems, and so on.
 * NET_ADMIN and ALL are TG-WORKLOAD-NET-ADMIN's.
 */
export const ALLOWED_ADDED_CAPS = new Set(['NET_BIND_SERVICE']);

function capabilityFindings(out: Finding[], sc: Record<string, unknown> | undefined, path: string, who: string): void {
  const add = (sc?.capabilities as { add?: unknown } | undefined)?.add;
  if (!Array.isArray(add)) return;
  add.forEach((c: unknown, i: number) => {
    const name = capabilityName(c);
    if (ALLOWED_ADDED_CAPS.has(name) || NET_ADMIN_CAPS.has(name)) return;
    out.push({
      rule: WORKLOAD_RULE.capabilities,
      path: `${path}.capabilities.add[${i}]`,
      message:
        `${who} adds the capability ${String(c)}. Capabilities beyond NET_BIND_SERVICE let a process reach past its container (SYS_PTRACE into the istio-proxy process ` +
        `and its private key, SYS_ADMIN mounts, DAC_READ_SEARCH into the node's files, SETUID/SETGID to the proxy's UID 1337 that capture skips). Remove it.`,
    });
  });
}

/**
 * Node-level privileges no tenant pod needs, each a way to another pod's
 * identity or around its sidecar: hostPath (the kubelet's pods directory
 * holds every pod's projected istio-token, /var/run/secrets and the SDS and
 * credential sockets live on the node), hostPID (ptrace and /proc/<pid>/root of
 * every process on the node, other tenants' proxies included), hostIPC (the
 * node's shared memory). Every hostPath is refused: a prefix allow-list is one
 * symlink or bind mount away from the pods directory.
 */
function hostFindings(out: Finding[], s: Record<string, unknown>, specPath: string): void {
  for (const field of ['hostPID', 'hostIPC'] as const) {
    if (s[field] !== true) continue;
    out.push({
      rule: WORKLOAD_RULE.hostNamespaces,
      path: `${specPath}.${field}`,
      message:
        `${field}: true shares the node's ${field === 'hostPID' ? 'process namespace: every process on the node, other tenants\' istio-proxy included, is visible and reachable through /proc' : 'IPC namespace with every pod on the node'}; ` +
        `a tenant pod could read other tenants' credentials or tamper with their proxies. Remove ${field}.`,
    });
  }
  const volumes = s.volumes;
  if (volumes !== undefined && volumes !== null) {
    if (!Array.isArray(volumes)) throw new FieldShapeError(`${specPath}.volumes is not a list`);
    volumes.forEach((v: unknown, i: number) => {
      if (notAnObject(v)) throw new FieldShapeError(`${specPath}.volumes[${i}] is not an object`);
      const hp = (v as Record<string, unknown> | null | undefined)?.hostPath;
      if (hp === undefined || hp === null) return;
      const p = (hp as { path?: unknown }).path;
      out.push({
        rule: WORKLOAD_RULE.hostPath,
        path: `${specPath}.volumes[${i}].hostPath`,
        message:
          `The volume mounts the node's ${JSON.stringify(p ?? '')}: the node holds every pod's mesh credentials (the kubelet's pods directory /var/lib/kubelet/pods/*/volumes with each ` +
          `pod's istio-token, the SDS and credential sockets), so a hostPath lets a tenant take another tenant's identity. Use an emptyDir, a ConfigMap/Secret, or a PersistentVolumeClaim.`,
      });
    });
  }
}

/**
 * Findings on `spec` at `specPath`. `injected` names the containers Istio's
 * injector added (from a Pod's verified `sidecar.istio.io/status`): those may
 * carry Istio's names, run as the proxy ids and hold NET_ADMIN (istio-init).
 * Templates pass an empty set. `ids`: the proxy UIDs/GIDs of the namespace.
 */
export function checkPodSpec(out: Finding[], spec: unknown, specPath: string, injected: ReadonlySet<string>, ids: ProxyIds = DEFAULT_PROXY_IDS): void {
  const s = asObject(spec, specPath);
  if (!s) return;
  if (s.hostNetwork === true) {
    out.push({
      rule: WORKLOAD_RULE.hostNetwork,
      path: `${specPath}.hostNetwork`,
      message:
        'hostNetwork: true puts the pod in the node\'s network namespace: Istio does not inject such pods (injectRequired skips them), so the pod has no sidecar, ' +
        "no mTLS identity and no capture, and its traffic carries the node's address. Remove hostNetwork.",
    });
  }
  hostFindings(out, s, specPath);
  if (s.securityContext !== undefined && s.securityContext !== null) {
    proxyIdFindings(out, asObject(s.securityContext, `${specPath}.securityContext`), `${specPath}.securityContext`, 'The pod securityContext', ids);
  }
  for (const list of CONTAINER_LISTS) {
    const containers = s[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new FieldShapeError(`${specPath}.${list} is not a list`);
    containers.forEach((c: unknown, i: number) => {
      if (notAnObject(c)) throw new FieldShapeError(`${specPath}.${list}[${i}] is not an object`);
      const container = (c ?? {}) as Record<string, unknown>;
      const name = typeof container.name === 'string' ? container.name : '';
      if (injected.has(name)) return;
      const rawSc = container.securityContext;
      // Without a securityContext only the name can be wrong: skip building
      // the paths below for the common container.
      if ((rawSc === undefined || rawSc === null) && !ISTIO_CONTAINERS.has(name)) return;
      const cPath = `${specPath}.${list}[${i}]`;
      if (ISTIO_CONTAINERS.has(name)) {
        out.push({
          rule: WORKLOAD_RULE.reservedContainer,
          path: `${cPath}.name`,
          message:
            `A container named "${name}" is one Istio's injector owns: Istio merges a user-supplied ${name} into the injected one (image, securityContext and all), ` +
            'so the workload would choose what runs as the proxy or sets up capture. Rename the container; tune the sidecar with the sidecar.istio.io/proxyCPU/proxyMemory annotations instead.',
        });
      }
      const sc = asObject(rawSc, `${cPath}.securityContext`);
      const label = containerLabel(name, list, i);
      proxyIdFindings(out, sc, `${cPath}.securityContext`, label, ids);
      netAdminFindings(out, sc, `${cPath}.securityContext`, label);
      capabilityFindings(out, sc, `${cPath}.securityContext`, label);
    });
  }
}
