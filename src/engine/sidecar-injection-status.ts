// Telling Istio's injected containers apart from user containers on a Pod.
//
// Istio's injector (a mutating webhook) runs before validating webhooks, so a
// Pod reaches us with `istio-init`/`istio-validation`/`istio-proxy` added,
// the proxy running as UID 1337, and the annotation
// `sidecar.istio.io/status: {"initContainers":[...],"containers":[...],...}`
// naming exactly what it added (pkg/kube/inject/webhook.go applyMetadata /
// getInjectionStatus). Those containers are exempt from the reserved-name and
// UID 1337 checks; nothing else is.
//
// Residual risk: the annotation is data in the request and a Pod's author can
// write it. That buys nothing when Istio's injector processes the Pod: it
// strips every container the incoming status names and injects its own, then
// overwrites the status (webhook.go injectPod/stripPod), so a forged proxy is
// replaced. It only matters when the injector does not run at all, e.g. an
// injector webhook configured with failurePolicy: Ignore while istiod is
// down. Then a forged "istio-proxy" running as 1337 is admitted, in a pod
// without working capture: it holds only its own service account's identity,
// and every tenant's PeerAuthentication STRICT still refuses its plaintext.
// Keep the injector's failurePolicy at Fail (Istio's default) to close it.

import { mapEntryPath, type Finding } from './workload-findings.js';
import { STATUS_KEY } from './sidecar-metadata-checks.js';
import { ISTIO_CONTAINERS } from './sidecar-podspec-checks.js';
import type { KubeObject } from './types.js';

export const POD_RULE = {
  injectionStatus: 'TG-POD-INJECTION-STATUS',
  sidecarTamper: 'TG-POD-SIDECAR-TAMPER',
} as const;

/** Istio's optional core-dump init container, also named in the status when enabled. */
export const ISTIO_INJECTED_NAMES = new Set([...ISTIO_CONTAINERS, 'enable-core-dump']);

function containerNames(spec: Record<string, unknown> | undefined, list: 'containers' | 'initContainers'): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const l = spec?.[list];
  if (!Array.isArray(l)) return out;
  for (const c of l) if (c && typeof c === 'object' && typeof (c as { name?: unknown }).name === 'string') out.set((c as { name: string }).name, c as Record<string, unknown>);
  return out;
}

function podSpec(pod: KubeObject | undefined): Record<string, unknown> | undefined {
  const s = pod?.spec;
  return s && typeof s === 'object' ? (s as Record<string, unknown>) : undefined;
}

export interface InjectionStatus {
  /** Names of the containers Istio says it injected and that are in the pod. */
  injected: Set<string>;
  findings: Finding[];
}

function parseStatusLists(raw: string): { containers: string[]; initContainers: string[] } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const read = (k: string): string[] | undefined => {
    const l = (v as Record<string, unknown>)[k];
    if (l === undefined || l === null) return [];
    return Array.isArray(l) && l.every((x) => typeof x === 'string') ? (l as string[]) : undefined;
  };
  const containers = read('containers');
  const initContainers = read('initContainers');
  return containers && initContainers ? { containers, initContainers } : undefined;
}

const STATUS_PATH = mapEntryPath('metadata', 'annotations', STATUS_KEY);

/** A container of that name is in the spec's list (what Istio's status must match). */
function hasContainer(spec: Record<string, unknown> | undefined, list: 'containers' | 'initContainers', name: string): boolean {
  const l = spec?.[list];
  if (!Array.isArray(l)) return false;
  for (const c of l) if (c && typeof c === 'object' && (c as { name?: unknown }).name === name) return true;
  return false;
}

/** Read and verify a Pod's injection status against its containers. */
export function readInjectionStatus(pod: KubeObject): InjectionStatus {
  const raw = pod.metadata.annotations?.[STATUS_KEY];
  const path = STATUS_PATH;
  if (raw === undefined) return { injected: new Set(), findings: [] };
  const lists = parseStatusLists(String(raw));
  if (!lists) {
    return {
      injected: new Set(),
      findings: [
        {
          rule: POD_RULE.injectionStatus,
          path,
          message: `${STATUS_KEY} is not the JSON Istio's injector writes ({"containers":[...],"initContainers":[...]}); it was not written by Istio. Remove it.`,
        },
      ],
    };
  }
  const spec = podSpec(pod);
  const injected = new Set<string>();
  const findings: Finding[] = [];
  for (const list of ['containers', 'initContainers'] as const) {
    for (const name of lists[list]) {
      if (!ISTIO_INJECTED_NAMES.has(name)) {
        findings.push({
          rule: POD_RULE.injectionStatus,
          path,
          message:
            `${STATUS_KEY} claims "${name}" as an injected container, but Istio's sidecar template only injects ${[...ISTIO_INJECTED_NAMES].join(', ')}; ` +
            `the claim would exempt "${name}" from the proxy-UID check and let its traffic skip capture. Remove the annotation.`,
        });
      } else if (!hasContainer(spec, list, name)) {
        findings.push({
          rule: POD_RULE.injectionStatus,
          path,
          message: `${STATUS_KEY} names ${list === 'containers' ? 'container' : 'init container'} "${name}", which the pod does not have: Istio records exactly what it injected, so this status was not written by Istio. Remove it.`,
        });
      } else injected.add(name);
    }
  }
  return { injected, findings };
}

/**
 * On UPDATE, the injected containers must stay Istio's: a Pod's container
 * images are mutable (`kubectl set image`), and swapping the proxy image keeps
 * the capture rules that send all traffic through whatever now runs as 1337.
 * The status annotation itself must not change either, since it decides which
 * containers are exempt.
 */
export function checkSidecarTamper(oldPod: KubeObject | undefined, newPod: KubeObject): Finding[] {
  if (!oldPod) return [];
  const oldRaw = oldPod.metadata.annotations?.[STATUS_KEY];
  const newRaw = newPod.metadata.annotations?.[STATUS_KEY];
  const path = STATUS_PATH;
  const findings: Finding[] = [];
  if (oldRaw !== newRaw) {
    findings.push({
      rule: POD_RULE.sidecarTamper,
      path,
      message: `${STATUS_KEY} may not change after the pod is created: Istio injects only at creation, and the annotation decides which containers tenant-guard treats as Istio's own. Keep the value Istio wrote.`,
    });
  }
  const oldLists = oldRaw === undefined ? undefined : parseStatusLists(String(oldRaw));
  if (!oldLists) return findings;
  for (const list of ['containers', 'initContainers'] as const) {
    const before = containerNames(podSpec(oldPod), list);
    const after = containerNames(podSpec(newPod), list);
    const spec = podSpec(newPod);
    const arr = Array.isArray(spec?.[list]) ? (spec![list] as unknown[]) : [];
    for (const name of oldLists[list]) {
      const was = before.get(name);
      const now = after.get(name);
      if (!was || !now || was.image === now.image) continue;
      const i = arr.indexOf(now);
      findings.push({
        rule: POD_RULE.sidecarTamper,
        path: `spec.${list}[${i}].image`,
        message: `The image of Istio's injected container "${name}" may not change (${String(was.image)} -> ${String(now.image)}): whatever runs there keeps the proxy's capture exemption and enforces (or not) mTLS and the tenant's AuthorizationPolicies. Recreate the pod instead.`,
      });
    }
  }
  return findings;
}
