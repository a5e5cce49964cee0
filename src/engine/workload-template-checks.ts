import type { RuleContext } from './context.js';
import type { DecisionBuilder } from './decision.js';
import { checkInjectOptOut, checkNoInjectionStatus, checkRevisionLabel, checkGatewayNameLabel, checkSidecarAnnotations, readMetadata } from './sidecar-metadata-checks.js';
import { checkPodSpec } from './sidecar-podspec-checks.js';
import { proxyIdsOf } from './sidecar-proxy-ids.js';
import type { Finding } from './workload-findings.js';
import { ensureLabels } from './workload-labels.js';
import { pointerOf } from './patch.js';
import { proxySelectors } from '../tenancy/proxy-selectors.js';
import { FieldShapeError } from './field-shape-error.js';

/**
 * Where a pod's metadata and spec sit inside an object, as path segments.
 * Built once per handler, so the derived paths are computed here rather than
 * on every review.
 */
export interface PodLocation {
  meta: string[];
  spec: string[];
  /** `meta` + labels, and its JSON Pointer. */
  labels: string[];
  labelsPointer: string;
  /** `meta` and `spec` as dotted field paths (the path style of findings). */
  metaPath: string;
  specPath: string;
}

function podLocation(meta: string[], spec: string[]): PodLocation {
  const labels = [...meta, 'labels'];
  return { meta, spec, labels, labelsPointer: pointerOf(labels), metaPath: dotted(meta), specPath: dotted(spec) };
}

export const POD_AT_ROOT: PodLocation = podLocation(['metadata'], ['spec']);

/** An object's own metadata (its labels map path), for the label patches. */
export const OWN_METADATA = POD_AT_ROOT;

export function templateAt(...template: string[]): PodLocation {
  return podLocation([...template, 'metadata'], [...template, 'spec']);
}

export function dotted(segments: string[]): string {
  return segments.join('.');
}

export function valueAt(obj: unknown, segments: string[]): unknown {
  let cur: unknown = obj;
  for (const s of segments) {
    if (cur === undefined || cur === null) return undefined;
    if (typeof cur !== 'object') throw new FieldShapeError(`${dotted(segments)}: ${s} is inside a non-object`);
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
  /**
   * Labels the pods get from a controller unless the template sets them
   * (Knative's `app: <revision name>`): judged as worn for the shared
   * proxies' selectors.
   */
  implicitLabels?: Record<string, string>;
}

const NONE_INJECTED: ReadonlySet<string> = new Set();

/** Every sidecar check on the pod at `loc` inside `obj`. */
export function podFindings(ctx: RuleContext, obj: unknown, loc: PodLocation, opts: PodCheckOptions): Finding[] {
  const out: Finding[] = [];
  const metaPath = loc.metaPath;
  const meta = readMetadata(valueAt(obj, loc.meta), metaPath);
  checkInjectOptOut(out, meta, metaPath);
  checkSidecarAnnotations(out, meta, metaPath, ctx.config);
  const worn = opts.implicitLabels ? { ...meta, labels: { ...opts.implicitLabels, ...meta.labels } } : meta;
  checkGatewayNameLabel(out, worn, metaPath, proxySelectors(ctx.config));
  if (opts.userWrittenOnly) checkNoInjectionStatus(out, meta, metaPath);
  if (opts.tenant) checkRevisionLabel(out, meta, metaPath, opts.tenant, ctx.tenancy);
  checkPodSpec(out, valueAt(obj, loc.spec), loc.specPath, opts.injected ?? NONE_INJECTED, proxyIdsOf(ctx.state, ctx.input.namespace));
  return out;
}

/** Add `entries` to the labels map of the pod metadata at `loc`, warning when a value is overwritten. */
export function addLabels(b: DecisionBuilder, obj: unknown, loc: PodLocation, entries: Record<string, string>): void {
  const { ops, replaced } = ensureLabels(obj, loc.labels, entries, loc.labelsPointer);
  for (const op of ops) b.add(op);
  for (const r of replaced) {
    b.warn(`${loc.metaPath}.labels["${r.key}"] was "${r.from}" and is set to "${r.to}": the value is decided by the namespace the object lives in.`);
  }
}
