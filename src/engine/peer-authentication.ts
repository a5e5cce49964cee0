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
import { unknownPeerAuthenticationField } from '../mesh/peer-authentication-fields.js';
import { GK, type ClusterState } from '../cluster/state.js';
import type { RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkRevisionLabel, describeObject, namespaceOf, subjectOf, who } from './istio-shared.js';
import { isHonored, isNamespaceWide, meshIsStrict, mtlsMode, namespaceIsStrict, type ServingRevisions } from './istio-mtls-state.js';
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

/**
 * Revisions whose istiod configures the proxies of a namespace: the tenant's
 * own control plane (config) and the namespace's istio.io/rev label. A
 * PeerAuthentication labelled with any other revision is skipped by those
 * control planes (see istio-mtls-state.ts).
 */
function servingRevisions(ctx: RuleContext): ServingRevisions {
  return (ns) => {
    const out = new Set<string>();
    const own = ctx.tenancy.revisionOf(ctx.tenancy.tenantOf(ns));
    if (own) out.add(own);
    const label = ctx.state.get(GK.Namespace, undefined, ns)?.metadata.labels?.[REVISION_LABEL];
    if (label) out.add(label);
    return out;
  };
}

const REVISION_LABEL = 'istio.io/rev';

function isTerminating(state: ClusterState, ns: string): boolean {
  const nsObj = state.get(GK.Namespace, undefined, ns);
  return Boolean(nsObj?.metadata.deletionTimestamp) || (nsObj?.status as { phase?: string } | undefined)?.phase === 'Terminating';
}

// The modes of Istio's PeerAuthentication.MutualTLS.Mode enum
// (istio/api security/v1beta1/peer_authentication.proto).
const MODES = new Set(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `mode` of a MutualTLS object: absent or null is UNSET; anything but an enum name is unreadable. */
function modeProblem(m: unknown): string | undefined {
  if (m === undefined || m === null) return undefined;
  if (typeof m !== 'string' || !MODES.has(m)) return `is ${JSON.stringify(m)}; Istio's MutualTLS.Mode is one of ${[...MODES].join(', ')}`;
  return undefined;
}

/**
 * Fields of a PeerAuthentication that do not have the shape of Istio's API:
 * `mtls` a MutualTLS object, `portLevelMtls` a map from port number
 * (map<uint32, MutualTLS> in peer_authentication.proto; istio's validation
 * refuses port 0) to a MutualTLS object. The mode rules below read such a
 * field as UNSET (inherit), so without this check `{"8080": "DISABLE"}` would
 * be admitted and its meaning left to whatever reads it next: it is denied.
 */
function shapeProblems(pa: KubeObject): [string, string][] {
  const out: [string, string][] = [];
  const spec: unknown = pa.spec;
  if (spec === undefined || spec === null) return out;
  if (!isRecord(spec)) return [['spec', 'is not an object']];
  const mtls = spec.mtls;
  if (mtls !== undefined && mtls !== null) {
    if (!isRecord(mtls)) out.push(['spec.mtls', `is ${JSON.stringify(mtls)}; expected an object {mode: ...}`]);
    else {
      const p = modeProblem(mtls.mode);
      if (p) out.push(['spec.mtls.mode', p]);
    }
  }
  const ports = spec.portLevelMtls;
  if (ports === undefined || ports === null) return out;
  if (!isRecord(ports)) {
    out.push(['spec.portLevelMtls', `is ${JSON.stringify(ports)}; expected a map from port number to {mode: ...}`]);
    return out;
  }
  for (const [port, entry] of Object.entries(ports)) {
    const at = `spec.portLevelMtls["${port}"]`;
    const n = Number(port);
    if (!/^\d+$/.test(port) || n < 1 || n > 65535) out.push([at, `the key "${port}" is not a port number from 1 to 65535`]);
    if (!isRecord(entry)) {
      out.push([at, `is ${JSON.stringify(entry)}; expected an object {mode: ...}`]);
      continue;
    }
    const p = modeProblem(entry.mode);
    if (p) out.push([`${at}.mode`, p]);
    for (const k of Object.keys(entry)) if (k !== 'mode') out.push([`${at}.${k}`, 'is not a field of MutualTLS (only mode is)']);
  }
  return out;
}

function checkShape(ctx: RuleContext, pa: KubeObject, b: DecisionBuilder): void {
  for (const [path, problem] of shapeProblems(pa)) {
    b.violate(
      'TG-PEERAUTHN-MALFORMED',
      path,
      `${describeObject(ctx)}: ${path} ${problem}. tenant-guard cannot tell which mTLS mode Istio would apply, so the policy is refused ` +
        `rather than read as UNSET (fail closed). Write it as Istio's API defines it, e.g. portLevelMtls: {"8080": {mode: STRICT}}.`,
    );
  }
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
  } else if (mode === 'UNSET' && isNamespaceWide(pa) && !meshIsStrict(ctx.state, ctx.config.meshRootNamespace, 'certainly', servingRevisions(ctx), ns)) {
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
  const serving = servingRevisions(ctx);
  const lost = affected.filter((n) =>
    (['possibly', 'certainly'] as const).some((how) => namespaceIsStrict(ctx.state, n, root, how, serving) && !namespaceIsStrict(after, n, root, how, serving)),
  );
  if (lost.length === 0) return;
  const verb = deleting ? 'deleting' : 'this change to';
  const pa = ctx.input.object;
  // Which part of the change weakens: the revision label (the serving istiod
  // would skip the policy), a selector narrowing it, or its mode.
  const ignored = !deleting && pa !== undefined && lost.some((n) => !isHonored(pa, n, serving));
  const path = deleting
    ? 'metadata.name'
    : ignored
      ? `metadata.labels["${REVISION_LABEL}"]`
      : !isNamespaceWide(pa)
        ? 'spec.selector'
        : 'spec.mtls.mode';
  const why = ignored
    ? ` (${REVISION_LABEL}=${pa?.metadata.labels?.[REVISION_LABEL] ?? ''} names a control plane that does not configure ${lost.length > 1 ? 'them' : 'it'}, so the istiod that does skips this policy)`
    : '';
  b.violate(
    'TG-PEERAUTHN-WEAKEN',
    path,
    `${who(ctx)}: ${verb} ${describeObject(ctx)} would leave namespace${lost.length > 1 ? 's' : ''} ${lost.join(', ')} without STRICT mTLS${why} ` +
      `(no STRICT namespace-wide policy and no STRICT mesh-wide policy in ${root} would remain), so plaintext callers without a mesh identity ` +
      `would be accepted there. Keep a STRICT PeerAuthentication without selector${ignored ? ` and without a foreign ${REVISION_LABEL} label` : ''} in ${lost.length > 1 ? 'each of them' : 'it'}, or create a STRICT ` +
      `mesh-wide policy in ${root} first.`,
  );
}

function handlePeerAuthentication(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  const ns = namespaceOf(ctx);
  if (ctx.input.operation !== 'DELETE') {
    const pa = ctx.input.object!;
    const unknown = unknownPeerAuthenticationField(pa.spec ?? {});
    if (unknown) {
      b.violate('TG-PEERAUTHN-MALFORMED', unknown.path, `${unknown.message}. A field the tenant guard does not know could change the mTLS mode, so the policy is denied (${PA_DOC}).`);
      return b.build();
    }
    checkShape(ctx, pa, b);
    if (b.hasViolations()) return b.build();
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
    id: 'TG-PEERAUTHN-MALFORMED',
    kinds: [KIND],
    stops:
      'A PeerAuthentication with a field its CRD does not define (for example `mtls: {mod: DISABLE}`), or whose mtls or portLevelMtls does not have the shape of Istio\'s API ' +
      '(a mode that is no enum name, a port entry that is not {mode}, a port key that is no port, portLevelMtls that is not a map), in any namespace.',
    why:
      'The mode rules read an unreadable mode as UNSET (inherit). A CRD without schema validation, or a client bypassing it, could store ' +
      '`portLevelMtls: {"8080": "DISABLE"}`; what istiod or a later version makes of it is not something the guard can vouch for, so it fails closed. ' +
      'A field the mTLS rules do not know is never dropped silently, since it could be meant to change the mode.',
    cite: `${PA_DOC} (portLevelMtls: map<uint32, MutualTLS>); istio/istio pkg/config/validation ValidatePeerAuthentication`,
    example: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: app, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: hello}}
  mtls: {mode: STRICT}
  portLevelMtls:
    "8080": DISABLE`,
  },
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
      'Deleting the STRICT mesh-wide policy weakens every namespace relying on it. Labelling the policy istio.io/rev with a revision that does not serve the namespace weakens it too: ' +
      'each istiod reads only unlabelled config and config labelled with its own revision. Namespaces being deleted are exempt.',
    cite: 'istio/istio pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication; pkg/config/model.go LabelsInRevision',
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
