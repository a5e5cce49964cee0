import { GK, type ClusterState } from '../cluster/state.js';
import { OverlayState } from '../cluster/overlay.js';
import type { TenancyConfig } from '../config/types.js';
import type { KubeObject } from '../engine/types.js';
import { explainRuleMatch } from './explain.js';
import { computeCell } from './matrix.js';
import { ACTIVATOR, NAMESPACE_HEADER } from './platform.js';
import { policyMayApply } from './label-sets.js';
import { parsePolicy, PolicyShapeError, type ParsedPolicy } from './policy.js';
import { describeRequest, keysOf, matchingAllowRule, reach, type DataPath } from './reachability.js';
import { foreignSourceFindings, type ForeignSourceFinding } from './rule-check.js';
import { affectedCells, isTenantNamespace } from './scope.js';
import { buildView, enforcedPolicies, policyRef, type MeshView } from './view.js';

/** A cross-tenant cell the change turns from denied to allowed. */
export interface OpenedCell {
  from: string;
  to: string;
  path: DataPath;
  /** The changed policy's rule that lets the request in, when one does. */
  rule?: number;
  /** Field paths and values responsible, or what the change removed. */
  detail: string;
  request: string;
  /** The change left a workload on the path with no ALLOW policy (Istio then allows everything). */
  lastAllowRemoved: boolean;
}

export interface AuthorizationPolicyReview {
  malformed?: PolicyShapeError;
  opened: OpenedCell[];
  foreign: ForeignSourceFinding[];
  warnings: string[];
}

function sameRef(p: ParsedPolicy, ns: string, name: string): boolean {
  return p.namespace === ns && p.name === name;
}

/**
 * Judge a write of one AuthorizationPolicy against the mesh model: which
 * cross-tenant cells it opens (before: `state`, after: the state with the
 * write applied), and which of its rules admit another tenant on their own.
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
  let prev: ParsedPolicy | undefined;
  try {
    prev = prevObj ? parsePolicy(prevObj) : undefined;
  } catch {
    prev = undefined; // an unreadable old version was not modelled either
  }
  // The object a DELETE removes exists by definition, even if the state
  // (a partial `check --state`) does not hold it yet.
  const base = deleted && !state.get(GK.AuthorizationPolicy, ns, name) ? new OverlayState(state, deleted, undefined) : state;
  const before = buildView(base, config);
  const after = buildView(new OverlayState(base, written, written ? undefined : deleted), config);

  for (const cell of affectedCells(after, [next, prev].filter((p): p is ParsedPolicy => p !== undefined))) {
    const now = reach(after, cell.path, after.tenantNamespaces.get(cell.from) ?? [], after.tenantNamespaces.get(cell.to) ?? [], false);
    if (!now.allowed || !now.found) continue;
    if (computeCell(before, cell.from, cell.to, cell.path, false).allowed) continue; // the contract: denied -> allowed
    review.opened.push(explainOpening(before, cell, now.found, ns, name));
  }

  if (next && !next.dryRun && next.action === 'ALLOW') {
    const opened = new Set(review.opened.map((o) => `${o.from}>${o.to}`));
    review.foreign = foreignSourceFindings(after, next).filter((f) => !opened.has(`${f.from}>${f.to}`));
    review.warnings.push(...hardeningWarnings(after, next));
  }
  return review;
}

function explainOpening(before: MeshView, cell: { from: string; to: string; path: DataPath }, found: NonNullable<ReturnType<typeof reach>['found']>, ns: string, name: string): OpenedCell {
  const { route, witness } = found;
  const request = describeRequest(route, witness);
  for (let i = 0; i < route.hops.length; i++) {
    const h = route.hops[i]!;
    const m = matchingAllowRule(h, keysOf(route, i), witness);
    if (m && sameRef(m.policy, ns, name)) {
      const rule = m.policy.rules.find((r) => r.index === m.rule)!;
      return { ...cell, rule: m.rule, detail: `${explainRuleMatch(rule, keysOf(route, i), witness)} (at ${h.label})`, request, lastAllowRemoved: false };
    }
  }
  for (const h of route.hops) {
    if (h.allow.length === 0 && enforcedPolicies(before, h.workload).allow.length > 0) {
      return {
        ...cell,
        detail: `${h.label} is left with no enforced ALLOW policy, and Istio allows every request to a workload without ALLOW policies`,
        request,
        lastAllowRemoved: true,
      };
    }
  }
  return { ...cell, detail: 'the change lifts the policy that denied this request', request, lastAllowRemoved: false };
}

/** Admitted but reported: weaknesses that do not open a cell today. */
function hardeningWarnings(view: MeshView, p: ParsedPolicy): string[] {
  const out: string[] = [];
  const ref = policyRef(p);
  if (policyMayApply(p, ACTIVATOR, view.root)) {
    for (const r of p.rules) {
      const hosts = r.to?.flatMap((o) => o.fields.hosts ?? []) ?? [];
      if (hosts.length === 0) continue;
      const pinned = r.when.some(
        (c) => c.key.toLowerCase() === `request.headers[${NAMESPACE_HEADER}]` && !!c.values?.length && c.values.every((v) => !v.includes('*')),
      );
      if (!pinned) {
        const nsGuess = [...new Set(hosts.map((h) => /\.([a-z0-9-]+)\.svc/.exec(h.toLowerCase())?.[1]).filter(Boolean))];
        out.push(
          `TG-AUTHZ-ACTIVATOR-HEADER: ${ref} spec.rules[${r.index}] admits callers to the activator by Host only; the activator routes by the ` +
            `${NAMESPACE_HEADER} header, so a caller can pair an allowed Host with another tenant's namespace header. Add ` +
            `when: [{key: "request.headers[${NAMESPACE_HEADER}]", values: ${JSON.stringify(nsGuess.length ? nsGuess : ['<tenant namespace>'])}}].`,
        );
      }
    }
  }
  if (p.namespace === view.root || isTenantNamespace(view, p.namespace)) {
    const drain = view.config.drainPorts;
    for (const r of p.rules) {
      if (r.from || !r.to) continue;
      const drainOnly = r.to.every((o) => o.fields.ports?.length && o.fields.ports.every((x) => drain.includes(x)));
      const pathLimited = r.to.every((o) => o.fields.paths?.length && o.fields.paths.every((x) => x === '/wait-for-drain'));
      if (drainOnly && !pathLimited) {
        out.push(
          `TG-AUTHZ-DRAIN-PATH: ${ref} spec.rules[${r.index}] lets any caller, of any tenant, without identity, call drain port(s) ` +
            `${drain.join(', ')} on every path; the kubelet's pre-stop hook only needs GET /wait-for-drain: add paths: ["/wait-for-drain"].`,
        );
      }
    }
  }
  return out;
}
