import { GK, type ClusterState } from '../cluster/state.js';
import { OverlayState } from '../cluster/overlay.js';
import type { TenancyConfig } from '../config/types.js';
import type { KubeObject } from '../kube/objects.js';
import { describeCaller, describeRequest, explainRuleMatch, matchingAllowRule } from './explain.js';
import { MeshState } from './mesh-state.js';
import { NAMESPACE_HEADER } from './platform.js';
import { parsePolicy, PolicyShapeError, type ParsedPolicy } from './policy.js';
import { parsedPolicy } from './policy-cache.js';
import { reachNamespace, type Found } from './reach.js';
import { keysOf } from './request-space.js';
import type { DataPath } from './routes.js';
import { foreignSourceFindings, type ForeignSourceFinding } from './rule-check.js';
import { affectedTargets, symbolicTargets, type TargetSpec } from './targets.js';

/** A way into a tenant's namespace the change turns from denied to allowed. */
export interface OpenedCell {
  /** Who gets in: a tenant, or a description of a namespace nobody holds yet. */
  from: string;
  /** The tenant reached (or "(another tenant)" for the symbolic target). */
  to: string;
  toNamespace: string;
  path: DataPath;
  /** The changed policy's rule that lets the request in, when one does. */
  rule?: number;
  /** Field paths and values responsible, or what the change removed. */
  detail: string;
  request: string;
  /** The change left a workload on the path with no ALLOW policy (Istio then allows everything). */
  lastAllowRemoved: boolean;
  /** How to close it, when the model knows. */
  fix?: string;
}

export interface AuthorizationPolicyReview {
  malformed?: PolicyShapeError;
  opened: OpenedCell[];
  foreign: ForeignSourceFinding[];
  warnings: string[];
}

/**
 * Judge a write of one AuthorizationPolicy: which ways into a tenant's
 * revision pods it opens for a caller the tenant does not own (before:
 * `state`; after: the state with the write applied), and which of its rules
 * admit such a caller on their own. Only the namespaces the policy can act on
 * are judged (targets.ts), each against the symbolic foreign caller.
 */
export function reviewAuthorizationPolicy(state: ClusterState, config: TenancyConfig, written: KubeObject | undefined, deleted: KubeObject | undefined): AuthorizationPolicyReview {
  const review: AuthorizationPolicyReview = { opened: [], foreign: [], warnings: [] };
  let next: ParsedPolicy | undefined;
  if (written) {
    try {
      next = parsePolicy(written);
    } catch (e) {
      if (e instanceof PolicyShapeError) return { ...review, malformed: e };
      throw e;
    }
  }
  const ref = (written ?? deleted)!;
  const ns = ref.metadata.namespace ?? '';
  const name = ref.metadata.name ?? '';
  const prevObj = deleted ?? state.get(GK.AuthorizationPolicy, ns, name);
  const prevParsed = prevObj ? parsedPolicy(prevObj) : undefined;
  const prev = prevParsed instanceof PolicyShapeError ? undefined : prevParsed;
  // The object a DELETE removes exists by definition, even if the state
  // (a partial `check --state`) does not hold it yet.
  const base = deleted && !state.get(GK.AuthorizationPolicy, ns, name) ? new OverlayState(state, deleted, undefined) : state;
  const changed = [next, prev].filter((p): p is ParsedPolicy => p !== undefined);
  const probe = new MeshState(base, config);
  // Symbolic namespaces stand for other tenants' namespaces a platform policy may route to; a tenant's own policy needs none.
  const virtual = changed.some((p) => probe.ownership.ownerOf(p.namespace).kind !== 'tenant') ? symbolicTargets(probe, changed) : new Map();
  const before = new MeshState(base, config, virtual);
  const after = new MeshState(new OverlayState(base, written, written ? undefined : deleted), config, virtual);

  for (const target of affectedTargets(after, changed)) {
    for (const path of target.paths) {
      const callers = { kind: 'foreign' as const, tenant: target.tenant };
      const now = reachNamespace(after, path, callers, target.namespace, false);
      if (!now.allowed || !now.found) continue;
      if (reachNamespace(before, path, callers, target.namespace, false).allowed) continue; // the contract: denied -> allowed
      review.opened.push(explainOpening(after, before, target, path, now.found, ns, name));
    }
  }

  if (next && !next.dryRun && next.action === 'ALLOW') {
    const opened = new Set(review.opened.map((o) => o.rule));
    review.foreign = foreignSourceFindings(after, next).filter((f) => !opened.has(f.rule));
    review.warnings.push(...drainPathWarnings(after, next));
  }
  return review;
}

function explainOpening(after: MeshState, before: MeshState, target: TargetSpec, path: DataPath, found: Found, ns: string, name: string): OpenedCell {
  const { route, witness } = found;
  const cell = {
    from: describeCaller(after, route, witness),
    to: target.symbolic ? `a namespace of another tenant (for example "${target.namespace}")` : target.tenant,
    toNamespace: target.namespace,
    path,
    request: describeRequest(route, witness),
  };
  for (let i = 0; i < route.hops.length; i++) {
    const h = route.hops[i]!;
    const m = matchingAllowRule(h, keysOf(route, i), witness.assignment);
    if (m && m.policy.namespace === ns && m.policy.name === name) {
      const rule = m.policy.rules.find((r) => r.index === m.rule)!;
      const pinned = rule.when.some((c) => c.key.toLowerCase() === `request.headers[${NAMESPACE_HEADER}]` && c.values?.length);
      // A rule admitting the gateway's identity opens what the gateway forwards: every caller's request, unless the gateway is closed itself.
      const fix =
        h.caller.kind === 'forwarder' && route.closeWith
          ? `This rule admits ${h.caller.name}, which every caller reaches with its own identity and any Host and which forwards as itself: close the gateway first, with ${route.closeWith}.`
          : h.workload.namespace === 'knative-serving' && h.label.startsWith('activator') && !pinned
            ? `The activator routes by the ${NAMESPACE_HEADER} header, not by Host: add when: [{key: "request.headers[${NAMESPACE_HEADER}]", values: [<the namespaces this rule's sources may call>]}] to spec.rules[${m.rule}].`
            : undefined;
      return { ...cell, rule: m.rule, detail: `${explainRuleMatch(rule, keysOf(route, i), witness.assignment)} (at ${h.label})`, lastAllowRemoved: false, ...(fix ? { fix } : {}) };
    }
  }
  for (const h of route.hops) {
    if (h.allow.length === 0 && before.enforced(h.workload).allow.length > 0) {
      return {
        ...cell,
        detail: `${h.label} is left with no enforced ALLOW policy, and Istio allows every request to a workload without ALLOW policies`,
        lastAllowRemoved: true,
      };
    }
  }
  return { ...cell, detail: 'the change lifts the policy that denied this request', lastAllowRemoved: false };
}

/** Admitted but reported: a no-`from` drain-port rule not limited to /wait-for-drain. */
function drainPathWarnings(m: MeshState, p: ParsedPolicy): string[] {
  if (p.namespace !== m.root && m.ownership.ownerOf(p.namespace).kind !== 'tenant') return [];
  const drain = m.config.drainPorts;
  const out: string[] = [];
  for (const r of p.rules) {
    if (r.from || !r.to) continue;
    const drainOnly = r.to.every((o) => o.fields.ports?.length && o.fields.ports.every((x) => drain.includes(x)));
    const pathLimited = r.to.every((o) => o.fields.paths?.length && o.fields.paths.every((x) => x === '/wait-for-drain'));
    if (drainOnly && !pathLimited) {
      out.push(
        `TG-AUTHZ-DRAIN-PATH: ${p.namespace}/${p.name} spec.rules[${r.index}] lets any caller, of any tenant, without identity, call drain port(s) ` +
          `${drain.join(', ')} on every path; the kubelet's pre-stop hook only needs GET /wait-for-drain: add paths: ["/wait-for-drain"].`,
      );
    }
  }
  return out;
}
