import type { RuleContext } from './context.js';
import type { DecisionBuilder } from './decision.js';
import { checkInjectOptOut, checkNoInjectionStatus, checkRevisionLabel, checkGatewayNameLabel, checkSidecarAnnotations, readMetadata } from './sidecar-metadata-checks.js';
import { checkPodSpec } from './sidecar-podspec-checks.js';
import { proxyIdsOf } from './sidecar-proxy-ids.js';
import type { Finding } from './workload-findings.js';
import { ensureLabels } from './workload-labels.js';

/** Where a pod's metadata and spec sit inside an object, as path segments. */
export interface PodLocation {
  meta: string[];
  spec: string[];
}

export const POD_AT_ROOT: PodLocation = { meta: ['metadata'], spec: ['spec'] };

export function templateAt(...template: string[]): PodLocation {
  return { meta: [...template, 'metadata'], spec: [...template, 'spec'] };
}

export function dotted(segments: string[]): string {
  return segments.join('.');
}

export function valueAt(obj: unknown, segments: string[]): unknown {
  let cur: unknown = obj;
  for (const s of segments) {
    if (cur === undefined || cur === null) return undefined;
    if (typeof cur !== 'object') throw new Error(`${dotted(segments)}: ${s} is inside a non-object`);
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

export interface PodCheckOptions {
  /** Tenant of the namespace, when there is one (for the revision check). */
  tenant?: string;
  /** Containers verified as Istio-injected (Pods only). */
  injected?: ReadonlySet<string>;
  /**
   * True for templates and Knative objects: Istio injects Pods only, so a
   * `sidecar.istio.io/status` there was written by the user.
   */
  userWrittenOnly: boolean;
}

/** Every sidecar check on the pod at `loc` inside `obj`. */
export function podFindings(ctx: RuleContext, obj: unknown, loc: PodLocation, opts: PodCheckOptions): Finding[] {
  const metaPath = dotted(loc.meta);
  const meta = readMetadata(valueAt(obj, loc.meta), metaPath);
  return [
    ...checkInjectOptOut(meta, metaPath),
    ...checkSidecarAnnotations(meta, metaPath),
    ...checkGatewayNameLabel(meta, metaPath),
    ...(opts.userWrittenOnly ? checkNoInjectionStatus(meta, metaPath) : []),
    ...(opts.tenant ? checkRevisionLabel(meta, metaPath, opts.tenant, ctx.tenancy) : []),
    ...checkPodSpec(valueAt(obj, loc.spec), dotted(loc.spec), opts.injected ?? new Set(), proxyIdsOf(ctx.state, ctx.input.namespace)),
  ];
}

/** Add `entries` to the labels map under `metaSegments`, warning when a value is overwritten. */
export function addLabels(b: DecisionBuilder, obj: unknown, metaSegments: string[], entries: Record<string, string>): void {
  const { ops, replaced } = ensureLabels(obj, [...metaSegments, 'labels'], entries);
  b.add(...ops);
  for (const r of replaced) {
    b.warn(`${dotted(metaSegments)}.labels["${r.key}"] was "${r.from}" and is set to "${r.to}": the value is decided by the namespace the object lives in.`);
  }
}
