import { OverlayState } from '../cluster/overlay.js';
import { GK, groupKindOf, type ClusterState } from '../cluster/state.js';
import { baselineForNamespace } from '../tenancy/baseline-objects.js';
import { ignoredByIstiod, INJECTION_LABEL } from './istiod-ignores.js';

const REVISION_LABEL = 'istio.io/rev';
import type { KubeObject } from '../kube/objects.js';
import type { SharedHop, TenancyConfig } from '../config/types.js';
import { wornProxySelector } from '../tenancy/proxy-selectors.js';
import { objectIds } from './object-ids.js';
import { joinLabelSets, selectingLabels, uniqueLabelSets } from './label-sets.js';
import { Ownership } from '../tenancy/ownership.js';
import { mtlsModeFor, type MtlsMode } from './peer-authentication.js';
import { ACTIVATOR, localGateway, type LocalGateway } from './platform.js';
import { DRY_RUN_ANNOTATION, GATEWAY_NAME_LABEL, isDryRunValue, policyApplies, PolicyShapeError, type ParsedPolicy, type Workload } from './policy.js';
import { parsedPolicy } from './policy-cache.js';
import { indexByRoutingPin, rulesHostRoutableTo, rulesRoutableTo, type PinIndex } from './routing-pins.js';

/** Policies that stand for a namespace that does not exist (the symbolic target namespace). */
export interface VirtualNamespace {
  /** The symbolic tenant that owns it. */
  tenant: string;
  policies: ParsedPolicy[];
  /** mTLS mode of its pods (the baseline's STRICT). */
  mtls: MtlsMode;
}

/** The activator's enforced policies per label set and target, per pin index (see MeshState.activatorEnforced). */
const sharedActivatorHops = new WeakMap<PinIndex, Map<string, { root: ParsedPolicy[]; hit: { allow: ParsedPolicy[]; deny: ParsedPolicy[] } }>>();

/**
 * Everything the reachability model reads from one cluster state, read on
 * demand and per namespace: a review touches the namespaces on its paths
 * (the target, the mesh root, the activator's and the gateway's), never the
 * whole cluster. Parsing is memoised per object (policy-cache.ts).
 */
/** A number per config object: a reload makes a new one. */
const configId = objectIds<TenancyConfig>();

export class MeshState {
  readonly root: string;
  readonly ownership: Ownership;
  private readonly byNamespace = new Map<string, ParsedPolicy[]>();
  private readonly unreadableRefs = new Map<string, string>();
  private gatewayMemo?: LocalGateway;
  private activatorLabelsMemo?: Record<string, string>[];
  private gatewayLabelsMemo?: Record<string, string>[];
  private readonly sharedHopLabelsMemo = new Map<SharedHop, Record<string, string>[]>();
  private readonly mtlsMemo = new Map<string, MtlsMode>();
  private readonly mtlsByWorkload = new WeakMap<Workload, Map<string, MtlsMode>>();
  private readonly enforcedMemo = new Map<string, { allow: ParsedPolicy[]; deny: ParsedPolicy[]; ignored: ParsedPolicy[] }>();
  private readonly baselineMemo = new Map<string, KubeObject[]>();
  private readonly activatorMemo = new Map<string, { allow: ParsedPolicy[]; deny: ParsedPolicy[] }>();

  constructor(
    readonly state: ClusterState,
    readonly config: TenancyConfig,
    private readonly virtual: ReadonlyMap<string, VirtualNamespace> = new Map(),
  ) {
    this.root = config.meshRootNamespace;
    this.ownership = new Ownership(state, config, new Map([...virtual].map(([ns, v]) => [ns, v.tenant])));
  }

  /** A view of the same state with extra symbolic namespaces. */
  withVirtual(virtual: ReadonlyMap<string, VirtualNamespace>): MeshState {
    return new MeshState(this.state, this.config, virtual);
  }

  isVirtual(ns: string): boolean {
    return this.virtual.has(ns);
  }

  virtualEntries(): [string, VirtualNamespace][] {
    return [...this.virtual];
  }

  virtualNamespaces(): string[] {
    return [...this.virtual.keys()];
  }

  /**
   * What policiesIn(ns) reads besides the namespace's policies: the config
   * (reloads make a new object) and the Namespace's labels that decide which
   * istiod revision serves it (istiod-ignores.ts). Data derived from
   * policiesIn and kept across reviews (ClusterState.derived, dropped only
   * when a policy changes) carries it in its key.
   */
  private policiesInKey(ns: string): string {
    const labels = this.state.get(GK.Namespace, undefined, ns)?.metadata.labels ?? {};
    return `${configId(this.config)}|${labels[this.config.tenantLabel] ?? ''}|${labels[REVISION_LABEL] ?? ''}|${labels[INJECTION_LABEL] ?? ''}`;
  }

  /** The AuthorizationPolicies of a namespace as the model evaluates them (see readPolicies), the pending baseline included. */
  policiesIn(ns: string): ParsedPolicy[] {
    const v = this.virtual.get(ns);
    if (v) return v.policies;
    let out = this.byNamespace.get(ns);
    if (out) return out;
    const read = this.state.derived('mesh:policies', GK.AuthorizationPolicy, ns, () => readPolicies(this.state, ns));
    for (const [ref, why] of read.unreadable) this.unreadableRefs.set(ref, why);
    out = read.policies;
    // A policy labelled for a revision that does not serve its namespace is never read by istiod.
    if (read.revisioned.length > 0) {
      const nsObj = this.state.get(GK.Namespace, undefined, ns);
      const skipped = new Set(read.revisioned.filter((o) => ignoredByIstiod(o, nsObj, this.config) !== undefined).map((o) => o.metadata.name));
      if (skipped.size > 0) out = out.filter((p) => !skipped.has(p.name));
    }
    const pending = this.pendingBaseline(ns).filter((o) => o.kind === 'AuthorizationPolicy' && !out!.some((p) => p.name === o.metadata.name));
    if (pending.length > 0) out = [...out, ...pending.map((o) => parsedPolicy(o) as ParsedPolicy)].sort((a, b) => a.name.localeCompare(b.name));
    this.byNamespace.set(ns, out);
    return out;
  }

  /**
   * With the baseline on (config `baseline`), a tenant namespace is judged
   * with the baseline it will get: tenant-guard creates it, and refuses
   * workloads there until it exists (TG-BASELINE-OPEN-WINDOW), so no pod runs
   * without it. These are its objects the state does not hold yet.
   */
  private pendingBaseline(ns: string): KubeObject[] {
    if (!this.config.baseline?.enabled) return [];
    const tenant = this.ownership.tenancy.tenantOf(ns);
    if (tenant === undefined || this.isVirtual(ns)) return [];
    let memo = this.baselineMemo.get(ns);
    if (!memo) {
      const objs = baselineForNamespace(this.config, tenant, ns, this.ownership.namespacesOf(tenant));
      memo = objs.filter((o) => !this.state.get(groupKindOf(o), ns, o.metadata.name!));
      this.baselineMemo.set(ns, memo);
    }
    return memo;
  }

  /** Policies seen so far that the model could not read, with the reason. */
  unreadable(): string[] {
    return [...this.unreadableRefs].map(([ref, why]) => `${ref}: ${why} (counted as allowing everything if ALLOW, as denying nothing otherwise)`);
  }

  /**
   * Policies Istio enforces on a workload, in evaluation classes. Dry-run
   * policies are only logged, AUDIT never decides, and CUSTOM hands the
   * decision to an external authorizer that can only deny more, so none of
   * them can let a request in.
   */
  enforced(w: Workload): { allow: ParsedPolicy[]; deny: ParsedPolicy[]; ignored: ParsedPolicy[] } {
    // The same lists for every route through the workload: the hop formulas
    // built from them are then shared too (request-space.ts sharedHopFormula).
    const key = `${w.namespace}|${JSON.stringify(w.labels)}`;
    let hit = this.enforcedMemo.get(key);
    if (!hit) this.enforcedMemo.set(key, (hit = this.enforcedOnce(w)));
    return hit;
  }

  private enforcedOnce(w: Workload): { allow: ParsedPolicy[]; deny: ParsedPolicy[]; ignored: ParsedPolicy[] } {
    const allow: ParsedPolicy[] = [];
    const deny: ParsedPolicy[] = [];
    const ignored: ParsedPolicy[] = [];
    const pools = w.namespace === this.root ? [this.policiesIn(w.namespace)] : [this.policiesIn(w.namespace), this.policiesIn(this.root)];
    for (const pool of pools) {
      for (const p of pool) {
        if (!policyApplies(p, w, this.root)) continue;
        if (p.dryRun || p.action === 'AUDIT' || p.action === 'CUSTOM') ignored.push(p);
        else if (p.action === 'DENY') deny.push(p);
        else allow.push(p);
      }
    }
    return { allow, deny, ignored };
  }

  mtlsMode(w: Workload, port: string): MtlsMode {
    const v = this.virtual.get(w.namespace);
    if (v) return v.mtls;
    // Routes hand the same Workload object to every search step: memo by identity first.
    let byPort = this.mtlsByWorkload.get(w);
    if (!byPort) this.mtlsByWorkload.set(w, (byPort = new Map()));
    const known = byPort.get(port);
    if (known !== undefined) return known;
    const key = `${w.namespace}|${JSON.stringify(w.labels)}|${port}`;
    let mode = this.mtlsMemo.get(key);
    if (mode === undefined) {
      // The baseline's STRICT PeerAuthentication, until the state holds it.
      const pa = this.pendingBaseline(w.namespace).find((o) => o.kind === 'PeerAuthentication');
      const state = pa ? new OverlayState(this.state, pa, undefined) : this.state;
      this.mtlsMemo.set(key, (mode = mtlsModeFor(state, this.root, w, port)));
    }
    byPort.set(port, mode);
    return mode;
  }

  get gateway(): LocalGateway {
    return (this.gatewayMemo ??= localGateway(this.state));
  }

  /** Label sets the activator may carry (see platformLabelCandidates), its manifest labels first. */
  get activatorLabels(): Record<string, string>[] {
    return (this.activatorLabelsMemo ??= this.platformLabelCandidates(ACTIVATOR, true));
  }

  /** Label sets the knative-local-gateway pod may carry; it terminates TLS per its Gateway servers, so PeerAuthentication does not decide there. */
  get gatewayLabels(): Record<string, string>[] {
    return (this.gatewayLabelsMemo ??= this.platformLabelCandidates(this.gateway.workload, false));
  }

  /** Label sets a configured shared hop's pod may carry (config sharedHops), like the gateway's. */
  sharedHopLabels(h: SharedHop): Record<string, string>[] {
    let memo = this.sharedHopLabelsMemo.get(h);
    if (!memo) this.sharedHopLabelsMemo.set(h, (memo = this.platformLabelCandidates({ namespace: h.namespace, labels: h.labels }, h.sidecar)));
    return memo;
  }

  /**
   * Label sets a platform workload (the activator, the gateway) may carry. It
   * is one real pod whose labels are those of its manifest plus others the
   * model cannot know, fixed but unknown; the sound question is whether SOME
   * plausible label set lets a request through, each set deciding ALLOW, DENY
   * and PeerAuthentication selectors together. Candidates: the known labels
   * alone; joined with the selector of each enforced ALLOW policy that can
   * select the workload; each joined with the selector of each workload
   * PeerAuthentication of its namespace (sidecars only). If labels L let a
   * request in through ALLOW policy P (or with no ALLOW applying), the known
   * labels plus P's selector plus the PeerAuthentication in force under L are
   * a subset of L: they select P, no DENY policy L does not select, and the
   * same PeerAuthentication. A DENY selector is never assumed to match.
   */
  private platformLabelCandidates(w: Workload, sidecar: boolean): Record<string, string>[] {
    const key = `mesh:selecting:${JSON.stringify(w.labels)}:${this.policiesInKey(w.namespace)}:${this.policiesInKey(this.root)}`;
    const selecting = (ns: string) =>
      this.state.derived(key, GK.AuthorizationPolicy, ns, () => uniqueLabelSets(this.policiesIn(ns).filter((p) => p.action === 'ALLOW' && !p.dryRun).flatMap((p) => selectingLabels(p, w, this.root))));
    const policySets: Record<string, string>[] = [w.labels, ...selecting(w.namespace), ...(w.namespace === this.root ? [] : selecting(this.root))];
    const paSets: Record<string, string>[] = [{}, ...(sidecar ? this.peerAuthenticationSelectors(w.namespace) : [])];
    return joinLabelSets(policySets, paSets);
  }

  /**
   * The activator's policies that can decide a request routed to namespace
   * `ns`, for one label set: its namespace's policies are indexed by the
   * namespaces their rules pin `knative-serving-namespace` to, so a hop sees
   * the rules routable to `ns` plus the unpinned ones, never one rule per
   * tenant. ALLOW policies pinned elsewhere still count as present (an ALLOW
   * policy that matches nothing still denies), as one rule-less stand-in.
   */
  activatorEnforced(w: Workload, ns: string, hostRouted = false): { allow: ParsedPolicy[]; deny: ParsedPolicy[] } {
    const key = `${this.root}|${JSON.stringify(w.labels)}|${ns}|${hostRouted}`;
    let hit = this.activatorMemo.get(key);
    if (hit) return hit;
    const index = this.state.derived(`mesh:activator-index:${this.policiesInKey(w.namespace)}`, GK.AuthorizationPolicy, w.namespace, () => indexByRoutingPin(this.policiesIn(w.namespace)));
    const root = w.namespace === this.root ? [] : this.policiesIn(this.root);
    // Kept across reviews while the activator's and the root's policies stay the same objects, so a hop's
    // formula (request-space.ts) is compiled once per state change, not per review.
    let shared = sharedActivatorHops.get(index);
    if (!shared) sharedActivatorHops.set(index, (shared = new Map()));
    const kept = shared.get(key);
    if (kept && kept.root === root) {
      this.activatorMemo.set(key, kept.hit);
      return kept.hit;
    }
    const routable = (ps: ParsedPolicy[]) => ps.filter((p) => rulesRoutableTo(p, ns).rules.length > 0);
    // Where the Host routes, ALLOW policies pinned by Host to other namespaces cannot decide.
    const general = hostRouted ? [...index.generalNotHostPinned, ...(index.generalByHostPin.get(ns) ?? [])] : index.general;
    const candidates = [
      ...general,
      ...(index.byPin.get(ns) ?? []),
      ...routable(index.wildcardPinned),
      ...(index.denyByPin.get(ns) ?? []),
      // DENY rules decide one by one: keep only those routable to `ns`.
      ...index.denyWildcardPinned.map((p) => rulesRoutableTo(p, ns)).filter((p) => p.rules.length > 0),
    ];
    const allow: ParsedPolicy[] = [];
    const deny: ParsedPolicy[] = [];
    for (const p of [...new Set(candidates), ...root]) {
      if (!policyApplies(p, w, this.root) || p.dryRun || p.action === 'AUDIT' || p.action === 'CUSTOM') continue;
      if (p.action === 'DENY') deny.push(p);
      else allow.push(hostRouted ? rulesHostRoutableTo(rulesRoutableTo(p, ns), ns) : rulesRoutableTo(p, ns));
    }
    if (allow.length === 0) {
      const elsewhere = index.pinnedSelectors.find((p) => policyApplies(p, w, this.root));
      if (elsewhere) allow.push({ ...elsewhere, rules: [] });
    }
    hit = { allow, deny };
    this.activatorMemo.set(key, hit);
    // Bounded: a hop per label set and target namespace; a full map starts over.
    if (shared.size >= 4096) shared.clear();
    shared.set(key, { root, hit });
    return hit;
  }

  /**
   * Label sets a tenant's revision pod may carry, as far as the policies can
   * tell them apart. A tenant labels its pods freely, so the model tries: no
   * labels; the labels of each selector (or the Gateway API gateway-name label
   * a `targetRefs: Gateway` policy attaches by) in the namespace or the root
   * namespace; each joined with the selector of each workload
   * PeerAuthentication of the namespace, whose mode decides whether plaintext
   * callers get in. If some labels let a request in, the labels of the ALLOW
   * policy that admits it plus those of the PeerAuthentication in force do
   * too, with no more DENY policies and the same mTLS mode.
   */
  podLabels(ns: string): Record<string, string>[] {
    const policySets: Record<string, string>[] = [{}];
    const pools = ns === this.root ? [this.policiesIn(ns)] : [this.policiesIn(ns), this.policiesIn(this.root)];
    // A tenant pod never carries a shared proxy's selector labels (the gateway's, a shared hop's): tenant-guard
    // refuses them (TG-WORKLOAD-GATEWAY-LABEL), so those proxies' root-namespace policies select no tenant pod.
    const tenantNs = this.ownership.tenancy.tenantOf(ns) !== undefined;
    const wearsGatewayLabels = (sel: Record<string, string>) => tenantNs && wornProxySelector(this.config, sel) !== undefined;
    for (const pool of pools) {
      for (const p of pool) {
        if (p.targetRefs) {
          if (p.namespace !== ns) continue;
          for (const r of p.targetRefs) if (r.kind === 'Gateway') policySets.push({ [GATEWAY_NAME_LABEL]: r.name });
        } else if (p.selector && !wearsGatewayLabels(p.selector)) policySets.push(p.selector);
      }
    }
    const paSets: Record<string, string>[] = [{}, ...this.peerAuthenticationSelectors(ns)];
    return joinLabelSets(policySets, paSets);
  }

  private peerAuthenticationSelectors(ns: string): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    for (const pa of this.state.list(GK.PeerAuthentication, ns)) {
      const ml: unknown = pa.spec?.selector?.matchLabels;
      if (ml && typeof ml === 'object' && Object.keys(ml).length > 0) {
        out.push(Object.fromEntries(Object.entries(ml as Record<string, unknown>).map(([k, v]) => [k, String(v)])));
      }
    }
    return out;
  }
}

/**
 * The AuthorizationPolicies of a namespace as the model evaluates them,
 * sorted by name. A policy the model cannot read counts conservatively: one
 * that may be an ALLOW is read as "may allow anything" (rules: [{}], on the
 * workloads its selector names, or all of them when that is unreadable too);
 * a DENY, AUDIT or CUSTOM one as "may deny nothing".
 */
function readPolicies(state: ClusterState, ns: string): { policies: ParsedPolicy[]; unreadable: [string, string][]; revisioned: KubeObject[] } {
  const policies: ParsedPolicy[] = [];
  const unreadable: [string, string][] = [];
  const revisioned: KubeObject[] = [];
  for (const obj of state.list(GK.AuthorizationPolicy, ns)) {
    if (obj.metadata.labels?.[REVISION_LABEL] !== undefined) revisioned.push(obj);
    const p = parsedPolicy(obj);
    if (!(p instanceof PolicyShapeError)) {
      policies.push(p);
      continue;
    }
    unreadable.push([`${ns}/${obj.metadata.name}`, p.message]);
    const action: unknown = obj.spec?.action;
    if (action === 'DENY' || action === 'AUDIT' || action === 'CUSTOM') continue;
    const ml: unknown = obj.spec?.selector?.matchLabels;
    const selector =
      ml && typeof ml === 'object' && !Array.isArray(ml) && Object.values(ml).every((x) => typeof x === 'string') && Object.keys(ml).length > 0
        ? (ml as Record<string, string>)
        : undefined;
    policies.push({
      name: obj.metadata.name ?? '',
      namespace: ns,
      action: 'ALLOW',
      dryRun: isDryRunValue(obj.metadata.annotations?.[DRY_RUN_ANNOTATION]),
      selector,
      rules: [{ index: 0, when: [] }],
      unreadable: p.message,
    } as ParsedPolicy);
  }
  policies.sort((a, b) => a.name.localeCompare(b.name));
  return { policies, unreadable, revisioned };
}

/** `namespace/name`, as messages name a policy. */
export function policyRef(p: ParsedPolicy): string {
  return `${p.namespace}/${p.name}`;
}

/** Why a policy was counted conservatively, if it was (see MeshState.policiesIn). */
export function unreadableReason(p: ParsedPolicy): string | undefined {
  return (p as ParsedPolicy & { unreadable?: string }).unreadable;
}
