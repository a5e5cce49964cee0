// PeerAuthentication: keep every tenant namespace, system namespace and the
// mesh as a whole on STRICT mTLS. STRICT is what makes every caller present
// its SPIFFE identity (spiffe://<trust domain>/ns/<ns>/sa/<sa>), and the
// tenant AuthorizationPolicies (source.namespaces) only hold for callers that
// have one: a plaintext caller has no namespace, so PERMISSIVE or DISABLE
// opens a path that no ALLOW-by-namespace rule can close.
// https://istio.io/latest/docs/reference/config/security/peer_authentication/
//
// These rules apply to every identity, platform admins and controllers
// included: neither Istio nor Knative controllers write PeerAuthentications,
// and a weaker mode opens a cross-tenant path whoever writes it. Namespaces
// that belong to no tenant and are not system namespaces are not judged.

import { OverlayState } from '../cluster/overlay.js';
import { GK, type ClusterState } from '../cluster/state.js';
import type { RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkRevisionLabel, describeObject, namespaceOf, subjectOf, who } from './istio-shared.js';
import { isNamespaceWide, meshIsStrict, mtlsMode, namespaceIsStrict } from './istio-mtls-state.js';
import type { Decision, KubeObject } from './types.js';

const KIND = 'security.istio.io/PeerAuthentication';
const PA_DOC = 'https://istio.io/latest/docs/reference/config/security/peer_authentication/';

/** Tenant namespaces, system namespaces and the mesh root: the namespaces whose mTLS mode is guarded. */
function isGuarded(ctx: RuleContext, ns: string): boolean {
  return ctx.tenancy.isSystemNamespace(ns) || ctx.tenancy.ownerOf(ns).type === 'tenant';
}

function guardedNamespaces(ctx: RuleContext): string[] {
  const all = new Set<string>([ctx.config.meshRootNamespace, ...ctx.config.systemNamespaces, ...ctx.tenancy.allTenantNamespaces().keys()]);
  return [...all].sort();
}

function isTerminating(state: ClusterState, ns: string): boolean {
  const nsObj = state.get(GK.Namespace, undefined, ns);
  return Boolean(nsObj?.metadata.deletionTimestamp) || (nsObj?.status as { phase?: string } | undefined)?.phase === 'Terminating';
}

function portEntries(pa: KubeObject): [string, unknown][] {
  const ports: unknown = pa.spec?.portLevelMtls;
  return ports && typeof ports === 'object' ? Object.entries(ports as Record<string, unknown>) : [];
}

function portMode(entry: unknown): string {
  const m: unknown = entry && typeof entry === 'object' ? (entry as { mode?: unknown }).mode : undefined;
  return typeof m === 'string' && m !== '' ? m : 'UNSET';
}

/** The mesh root namespace holds mesh-wide policy: nothing but STRICT there. */
function checkRootPolicy(ctx: RuleContext, pa: KubeObject, b: DecisionBuilder): void {
  const mode = mtlsMode(pa);
  if (mode !== 'STRICT') {
    b.violate(
      'TG-PEERAUTHN-MESH-STRICT',
      'spec.mtls.mode',
      `${describeObject(ctx)} is in the mesh root namespace, where a policy without selector sets the default of every workload in the mesh; ` +
        `mode ${mode}${mode === 'UNSET' ? ' (which Istio reads as PERMISSIVE at mesh level)' : ''} would let plaintext callers without a mesh identity reach ` +
        `every namespace that inherits it. Set spec.mtls.mode: STRICT.`,
    );
  }
  for (const [port, entry] of portEntries(pa)) {
    const m = portMode(entry);
    if (m === 'STRICT') continue;
    b.violate(
      'TG-PEERAUTHN-MESH-STRICT',
      `spec.portLevelMtls["${port}"].mode`,
      `${describeObject(ctx)} is in the mesh root namespace; port ${port} with mode ${m} would weaken mTLS there. ` +
        `Put port exceptions in a workload policy of the namespace that needs them, or set the port to STRICT.`,
    );
  }
}

function checkNamespacePolicy(ctx: RuleContext, pa: KubeObject, b: DecisionBuilder): void {
  const ns = namespaceOf(ctx);
  const mode = mtlsMode(pa);
  const scope = isNamespaceWide(pa) ? `every workload of ${ns}` : `the workloads selected by spec.selector in ${ns}`;
  if (mode !== 'STRICT' && mode !== 'UNSET') {
    b.violate(
      'TG-PEERAUTHN-MODE',
      'spec.mtls.mode',
      `${who(ctx)} may not set mTLS mode ${mode} in ${describeObject(ctx)}: ${scope} would accept plaintext callers, which carry no mesh identity, ` +
        `so the AuthorizationPolicies that admit only the tenant's own namespace and the platform cannot tell other tenants apart. ` +
        `Use STRICT (or UNSET to inherit STRICT).`,
    );
  } else if (mode === 'UNSET' && isNamespaceWide(pa) && !meshIsStrict(ctx.state, ctx.config.meshRootNamespace)) {
    b.violate(
      'TG-PEERAUTHN-UNSET-NO-STRICT-MESH',
      'spec.mtls.mode',
      `${describeObject(ctx)} applies to ${scope} with mode UNSET, which inherits from the mesh-wide policy; there is no STRICT mesh-wide ` +
        `PeerAuthentication in ${ctx.config.meshRootNamespace}, so Istio falls back to PERMISSIVE and plaintext callers without a mesh identity ` +
        `would be accepted. Set spec.mtls.mode: STRICT.`,
    );
  }
  const drain = new Set(ctx.config.drainPorts);
  for (const [port, entry] of portEntries(pa)) {
    const m = portMode(entry);
    if (m === 'STRICT' || m === 'UNSET') continue;
    if (m === 'PERMISSIVE' && drain.has(port)) continue;
    b.violate(
      'TG-PEERAUTHN-PORT-MODE',
      `spec.portLevelMtls["${port}"].mode`,
      `${who(ctx)} may not set port ${port} to ${m} in ${describeObject(ctx)}: the port would accept plaintext callers without a mesh identity. ` +
        `Only PERMISSIVE on the drain port${drain.size === 1 ? '' : 's'} ${[...drain].join(', ') || '(none configured)'} is tolerated ` +
        `(Knative's wait-for-drain call from the kubelet carries no identity). Use STRICT or UNSET for port ${port}.`,
    );
  }
}

/**
 * A write or delete must not leave a guarded namespace, STRICT before, no
 * longer STRICT: deleting the namespace's `default` policy with no STRICT
 * mesh-wide policy left, adding a selector to it, or deleting the mesh-wide
 * policy that namespaces inherit. A namespace being deleted is exempt: its
 * contents are removed by the namespace controller.
 */
function checkWeakening(ctx: RuleContext, b: DecisionBuilder): void {
  const ns = namespaceOf(ctx);
  if (isTerminating(ctx.state, ns)) return;
  const root = ctx.config.meshRootNamespace;
  const affected = ns === root ? guardedNamespaces(ctx) : isGuarded(ctx, ns) ? [ns] : [];
  if (affected.length === 0) return;
  const deleting = ctx.input.operation === 'DELETE';
  const after = new OverlayState(ctx.state, deleting ? undefined : ctx.input.object, deleting ? subjectOf(ctx) : undefined);
  // Compared at both certainties: a namespace loses STRICT when Istio might
  // have enforced it before and cannot after, or surely did and might not.
  const lost = affected.filter((n) =>
    (['possibly', 'certainly'] as const).some((how) => namespaceIsStrict(ctx.state, n, root, how) && !namespaceIsStrict(after, n, root, how)),
  );
  if (lost.length === 0) return;
  const verb = deleting ? 'deleting' : 'this change to';
  b.violate(
    'TG-PEERAUTHN-WEAKEN',
    deleting ? 'metadata.name' : 'spec.selector',
    `${who(ctx)}: ${verb} ${describeObject(ctx)} would leave namespace${lost.length > 1 ? 's' : ''} ${lost.join(', ')} without STRICT mTLS ` +
      `(no STRICT namespace-wide policy and no STRICT mesh-wide policy in ${root} would remain), so plaintext callers without a mesh identity ` +
      `would be accepted there. Keep a STRICT PeerAuthentication without selector in ${lost.length > 1 ? 'each of them' : 'it'}, or create a STRICT ` +
      `mesh-wide policy in ${root} first.`,
  );
}

function handlePeerAuthentication(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  const ns = namespaceOf(ctx);
  if (ctx.input.operation !== 'DELETE') {
    const pa = ctx.input.object!;
    if (ns === ctx.config.meshRootNamespace) checkRootPolicy(ctx, pa, b);
    else if (isGuarded(ctx, ns)) checkNamespacePolicy(ctx, pa, b);
    checkRevisionLabel(ctx, b);
  }
  // A policy already rejected for its own content needs no second verdict.
  if (!b.hasViolations()) checkWeakening(ctx, b);
  return b.build();
}

const rules: RuleDoc[] = [
  {
    id: 'TG-PEERAUTHN-MODE',
    kinds: [KIND],
    stops: 'A PeerAuthentication with mtls.mode PERMISSIVE or DISABLE in a tenant or system namespace, namespace-wide or for selected workloads.',
    why:
      'PERMISSIVE and DISABLE accept plaintext, and a plaintext caller carries no SPIFFE identity: the tenant AuthorizationPolicies that admit only ' +
      'the own namespace plus knative-serving and istio-system rely on that identity, so any pod (or anything bypassing its sidecar) could call in. ' +
      'A workload-level PERMISSIVE weakens the selected workloads the same way. Applies to every identity.',
    cite: PA_DOC,
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tenant-1}
spec:
  mtls: {mode: PERMISSIVE}`,
  },
  {
    id: 'TG-PEERAUTHN-PORT-MODE',
    kinds: [KIND],
    stops: 'A portLevelMtls entry other than STRICT/UNSET, except PERMISSIVE on a configured drain port (8022).',
    why:
      'A PERMISSIVE or DISABLE port accepts callers without mesh identity. The only tolerated exception is Knative\'s wait-for-drain port ' +
      '(config drainPorts, 8022 in queue-proxy), which the kubelet calls from the node without a sidecar identity during pod shutdown.',
    cite: `${PA_DOC}#PeerAuthentication (portLevelMtls); knative.dev/serving pkg/queue RequestQueueDrainPath (/wait-for-drain on queue-proxy admin port 8022, called by the preStop hook)`,
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: app, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: hello}}
  mtls: {mode: STRICT}
  portLevelMtls:
    "8080": {mode: DISABLE}`,
  },
  {
    id: 'TG-PEERAUTHN-UNSET-NO-STRICT-MESH',
    kinds: [KIND],
    stops: 'A namespace-wide PeerAuthentication with mode UNSET (or no mtls) when no STRICT mesh-wide policy exists.',
    why:
      'UNSET inherits from the mesh-wide policy in the root namespace; with none (as in the reference setup) Istio falls back to PERMISSIVE. ' +
      'UNSET is accepted when the mesh-wide policy is STRICT, because the namespace then inherits STRICT.',
    cite: 'istio/istio pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication',
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tenant-1}
spec:
  mtls: {mode: UNSET}`,
  },
  {
    id: 'TG-PEERAUTHN-MESH-STRICT',
    kinds: [KIND],
    stops: 'Any PeerAuthentication in the mesh root namespace whose mode or port modes are not STRICT (every identity, platform admins included).',
    why:
      'A policy without selector in the root namespace is the default of every workload in the mesh; an UNSET mesh-wide mode means PERMISSIVE. ' +
      'A weaker mesh default silently weakens every namespace that does not set its own STRICT policy.',
    cite: `${PA_DOC} (mesh level: root namespace)`,
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: PERMISSIVE}`,
    exampleAs: { username: 'platform-admin', groups: [] },
  },
  {
    id: 'TG-PEERAUTHN-WEAKEN',
    kinds: [KIND],
    stops: 'Deleting or changing a PeerAuthentication so that a tenant or system namespace that was STRICT no longer is (every identity).',
    why:
      'The namespace-wide STRICT policy (the reference setup\'s `default` in knative-serving, tenant-1, tenant-2) is what refuses plaintext ' +
      'callers. Deleting it, or adding a selector to it, falls back to the mesh-wide mode, PERMISSIVE unless a STRICT mesh-wide policy exists. ' +
      'Deleting the STRICT mesh-wide policy weakens every namespace relying on it. Namespaces being deleted are exempt.',
    cite: 'istio/istio pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication',
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tenant-1}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: tenant-1}
spec:
  mtls: {mode: STRICT}`,
    exampleOperation: 'DELETE',
  },
];

export const peerAuthenticationModule: RuleModule = {
  handlers: { [GK.PeerAuthentication]: handlePeerAuthentication },
  rules,
};
