// Checks on a pod spec (a Pod's spec, a template's spec, a Revision's spec)
// for the ways a container can step outside the sidecar's capture.

import { DEFAULT_PROXY_IDS, type ProxyIds } from './sidecar-proxy-ids.js';
import { WORKLOAD_RULE, type Finding } from './workload-findings.js';

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

function asObject(v: unknown, path: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${path} is not an object`);
  return v as Record<string, unknown>;
}

function proxyIdFindings(sc: Record<string, unknown> | undefined, path: string, who: string, ids: ProxyIds): Finding[] {
  const out: Finding[] = [];
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
  return out;
}

/** Capabilities that let a container rewrite the pod's iptables, i.e. remove the capture rules. */
const NET_ADMIN_CAPS = new Set(['NET_ADMIN', 'ALL']);

/** Container runtimes accept "NET_ADMIN", "CAP_NET_ADMIN" and any case (containerd upper-cases and prefixes CAP_). */
function capabilityName(c: unknown): string {
  return String(c).toUpperCase().replace(/^CAP_/, '');
}

function netAdminFindings(sc: Record<string, unknown> | undefined, path: string, who: string): Finding[] {
  if (!sc) return [];
  const out: Finding[] = [];
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
  return out;
}

/**
 * Findings on `spec` at `specPath`. `injected` names the containers Istio's
 * injector added (from a Pod's verified `sidecar.istio.io/status`): those may
 * carry Istio's names, run as the proxy ids and hold NET_ADMIN (istio-init).
 * Templates pass an empty set. `ids`: the proxy UIDs/GIDs of the namespace.
 */
export function checkPodSpec(spec: unknown, specPath: string, injected: ReadonlySet<string>, ids: ProxyIds = DEFAULT_PROXY_IDS): Finding[] {
  const s = asObject(spec, specPath);
  if (!s) return [];
  const out: Finding[] = [];
  if (s.hostNetwork === true) {
    out.push({
      rule: WORKLOAD_RULE.hostNetwork,
      path: `${specPath}.hostNetwork`,
      message:
        'hostNetwork: true puts the pod in the node\'s network namespace: Istio does not inject such pods (injectRequired skips them), so the pod has no sidecar, ' +
        "no mTLS identity and no capture, and its traffic carries the node's address. Remove hostNetwork.",
    });
  }
  out.push(...proxyIdFindings(asObject(s.securityContext, `${specPath}.securityContext`), `${specPath}.securityContext`, 'The pod securityContext', ids));
  for (const list of CONTAINER_LISTS) {
    const containers = s[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw new Error(`${specPath}.${list} is not a list`);
    containers.forEach((c: unknown, i: number) => {
      const cPath = `${specPath}.${list}[${i}]`;
      const container = asObject(c, cPath) ?? {};
      const name = typeof container.name === 'string' ? container.name : '';
      if (injected.has(name)) return;
      if (ISTIO_CONTAINERS.has(name)) {
        out.push({
          rule: WORKLOAD_RULE.reservedContainer,
          path: `${cPath}.name`,
          message:
            `A container named "${name}" is one Istio's injector owns: Istio merges a user-supplied ${name} into the injected one (image, securityContext and all), ` +
            'so the workload would choose what runs as the proxy or sets up capture. Rename the container; tune the sidecar with the sidecar.istio.io/proxyCPU/proxyMemory annotations instead.',
        });
      }
      const sc = asObject(container.securityContext, `${cPath}.securityContext`);
      out.push(...proxyIdFindings(sc, `${cPath}.securityContext`, `Container "${name}"`, ids));
      out.push(...netAdminFindings(sc, `${cPath}.securityContext`, `Container "${name}"`));
    });
  }
  return out;
}
