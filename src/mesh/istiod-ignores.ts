// Metadata switches that make istiod skip an Istio config object, so that
// writing the switch amounts to deleting the object.
//
// Revision label (istio/istio pkg/config/model.go LabelsInRevision,
// LabelsInRevisionOrTags, used by the config controllers' revision filter):
// an object without `istio.io/rev` is global and read by every istiod; one
// labelled is read only by the istiod of that revision (or of a revision tag
// pointing to it). The istiod that configures a namespace's proxies is the
// revision the namespace is injected with: `istio-injection=enabled` is the
// default revision ("default", the REVISION of a default install), otherwise
// the namespace's `istio.io/rev` label, or the tenant's configured revision.
// Revision tags are not visible to tenant-guard (they live in istiod's
// MutatingWebhookConfigurations), so a label naming a tag is read as a
// foreign revision: at worst a false deny naming the label, never a missed
// delete.
//
// `istio.io/dry-run` on AuthorizationPolicies is handled by the policy model
// itself (a dry-run policy is parsed and never enforced). meshConfig
// discoverySelectors can also hide a whole namespace's config from istiod;
// they are part of the mesh config, not of the object, and are not modelled.

import type { TenancyConfig } from '../config/types.js';
import type { KubeObject } from '../kube/objects.js';

export const REVISION_LABEL = 'istio.io/rev';
export const INJECTION_LABEL = 'istio-injection';
/** The revision name of a control plane installed without one (istiod's REVISION env). */
export const DEFAULT_REVISION = 'default';

/** Revisions whose istiod configures the proxies of `namespaceObj`'s namespace. */
export function servingRevisionsOf(namespace: string, namespaceObj: KubeObject | undefined, config: TenancyConfig): Set<string> {
  const out = new Set<string>();
  const labels = namespaceObj?.metadata.labels ?? {};
  const tenantName = config.tenants.find((t) => t.namespaces.includes(namespace))?.name ?? labels[config.tenantLabel];
  const own = config.tenants.find((t) => t.name === tenantName)?.revision;
  if (own) out.add(own);
  if (labels[REVISION_LABEL]) out.add(labels[REVISION_LABEL]);
  // istio-injection=enabled takes precedence over istio.io/rev in Istio's
  // injector selectors; a namespace with neither is served by the default one.
  if (labels[INJECTION_LABEL] === 'enabled' || out.size === 0) out.add(DEFAULT_REVISION);
  return out;
}

/**
 * Why istiod, serving the object's namespace, would skip `obj`; undefined when
 * it reads it. `namespaceObj` is the Namespace of `obj` (from the state).
 */
export function ignoredByIstiod(obj: KubeObject, namespaceObj: KubeObject | undefined, config: TenancyConfig): string | undefined {
  const rev = obj.metadata.labels?.[REVISION_LABEL];
  if (rev === undefined) return undefined;
  const ns = obj.metadata.namespace ?? namespaceObj?.metadata.name ?? '';
  // Judged for the proxies of the object's own namespace; a mesh-root policy
  // labelled for one tenant's revision is thus read as skipped (conservative).
  const serving = servingRevisionsOf(ns, namespaceObj, config);
  if (serving.has(rev)) return undefined;
  return (
    `${REVISION_LABEL}=${rev} names a control plane that does not serve namespace ${ns} (served by ${[...serving].sort().join(', ')}); ` +
    `that istiod skips objects labelled with another revision (istio/istio pkg/config/model.go LabelsInRevision), so the object is not applied`
  );
}
