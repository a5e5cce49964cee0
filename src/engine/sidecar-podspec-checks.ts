// Checks on a pod spec (a Pod's spec, a template's spec, a Revision's spec)
// for the ways a container can step outside the sidecar's capture.

import { WORKLOAD_RULE, type Finding } from './workload-findings.js';

/**
 * Istio's proxy UID and GID. istio-iptables installs `-m owner --uid-owner
 * 1337 -j RETURN` and `--gid-owner 1337` so the proxy's own connections are
 * not captured again (tools/istio-iptables, injection template `-u 1337`):
 * any other process running as 1337 sends traffic that skips the sidecar.
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

function proxyIdFindings(sc: Record<string, unknown> | undefined, path: string, who: string): Finding[] {
  const out: Finding[] = [];
  for (const field of ['runAsUser', 'runAsGroup'] as const) {
    if (sc?.[field] !== PROXY_ID) continue;
    out.push({
      rule: WORKLOAD_RULE.proxyIdentity,
      path: `${path}.${field}`,
      message:
        `${who} sets ${field}: ${PROXY_ID}, Istio's proxy ${field === 'runAsUser' ? 'UID' : 'GID'}. istio-iptables exempts traffic of ${field === 'runAsUser' ? 'UID' : 'GID'} ${PROXY_ID} from capture, ` +
        `so this process would connect out in plaintext, without the workload's mTLS identity and past the sidecar's policy. Use any other ${field === 'runAsUser' ? 'UID' : 'GID'}.`,
    });
  }
  return out;
}

/**
 * Findings on `spec` at `specPath`. `injected` names the containers Istio's
 * injector added (from a Pod's verified `sidecar.istio.io/status`): those may
 * carry Istio's names and run as 1337. Templates pass an empty set.
 */
export function checkPodSpec(spec: unknown, specPath: string, injected: ReadonlySet<string>): Finding[] {
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
  out.push(...proxyIdFindings(asObject(s.securityContext, `${specPath}.securityContext`), `${specPath}.securityContext`, 'The pod securityContext'));
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
      out.push(...proxyIdFindings(asObject(container.securityContext, `${cPath}.securityContext`), `${cPath}.securityContext`, `Container "${name}"`));
    });
  }
  return out;
}
