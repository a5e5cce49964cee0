import { GATEWAY_NAME_LABEL, policyApplies, type ParsedPolicy, type Workload } from './policy.js';

// Label sets of workloads the model knows only in part. A tenant pod's labels
// are the tenant's choice; a platform pod (the activator, the gateway) carries
// the labels of its release manifest plus labels the model cannot know
// (app.kubernetes.io/version, pod-template-hash, Istio's
// service.istio.io/canonical-*, whatever the platform adds). Istio selects by
// exact label equality (matchLabels: every key present with that value), so
// a selector can only be ruled out by a known key with another value.

/** `a` and `b` joined, or undefined when they give one key two values. */
export function mergeLabels(a: Record<string, string>, b: Record<string, string>): Record<string, string> | undefined {
  for (const [k, v] of Object.entries(b)) if (k in a && a[k] !== v) return undefined;
  return { ...a, ...b };
}

/**
 * The smallest extensions of `w.labels` under which Istio applies `p` to the
 * workload: `w.labels` joined with the policy's selector, or with the
 * `gateway.networking.k8s.io/gateway-name` label a `targetRefs: Gateway`
 * policy attaches by. Empty when a known label rules the policy out (e.g.
 * `app: autoscaler` against the activator's `app: activator`) or it lives in
 * another namespace.
 */
export function selectingLabels(p: ParsedPolicy, w: Workload, rootNamespace: string): Record<string, string>[] {
  const wanted = p.targetRefs ? p.targetRefs.filter((r) => r.kind === 'Gateway').map((r) => ({ [GATEWAY_NAME_LABEL]: r.name })) : [p.selector ?? {}];
  const out: Record<string, string>[] = [];
  for (const extra of wanted) {
    const labels = mergeLabels(w.labels, extra);
    if (labels && policyApplies(p, { namespace: w.namespace, labels }, rootNamespace)) out.push(labels);
  }
  return out;
}

/** Whether `p` may apply to a workload that carries `w.labels` and possibly more. */
export function policyMayApply(p: ParsedPolicy, w: Workload, rootNamespace: string): boolean {
  return selectingLabels(p, w, rootNamespace).length > 0;
}

/** Label sets without repeats (key order ignored), first occurrence first. */
export function uniqueLabelSets(sets: Record<string, string>[]): Record<string, string>[] {
  const out = new Map<string, Record<string, string>>();
  for (const s of sets) {
    const key = JSON.stringify(Object.entries(s).sort(([a], [b]) => a.localeCompare(b)));
    if (!out.has(key)) out.set(key, s);
  }
  return [...out.values()];
}

/** Every compatible union of one set from `as` with one from `bs`, without duplicates. */
export function joinLabelSets(as: Record<string, string>[], bs: Record<string, string>[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const a of as) {
    for (const b of bs) {
      const m = mergeLabels(a, b);
      if (m) out.push(m);
    }
  }
  return uniqueLabelSets(out);
}
