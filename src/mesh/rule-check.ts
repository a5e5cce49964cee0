import { describeCaller, describeRequest, explainRuleMatch } from './explain.js';
import type { MeshState } from './mesh-state.js';
import { ACTIVATOR, REVISION_POD_PORTS } from './platform.js';
import { policyApplies, type ParsedPolicy, type ParsedRule } from './policy.js';
import { keysOf, solveRoute } from './request-space.js';
import { rulesRoutableTo, type Hop, type Route } from './routes.js';
import { ANOTHER_TENANT, symbolicTargets } from './targets.js';

export interface ForeignSourceFinding {
  rule: number;
  /** Who the rule admits: a tenant, a namespace nobody holds yet, "a caller without identity". */
  from: string;
  to: string;
  via: 'pod' | 'activator';
  detail: string;
  request: string;
}

/**
 * Rule by rule, ignoring every other policy: does this ALLOW rule by itself
 * admit a caller the protected tenant does not own (the symbolic foreign
 * caller: another tenant, a namespace created tomorrow, plaintext) into that
 * tenant's pods, or through the activator to its revisions? Only drain ports
 * are exempt. This is the defence-in-depth half of the admission check: it
 * holds even where another policy already opened the way in, so a second
 * opening is not admitted silently and stays closed once the first is fixed.
 * Its cost is that of the policy's own targets: the namespace a tenant
 * policy sits in; for a mesh-root or activator policy, the namespaces it
 * routes to by name plus one symbolic namespace of another tenant.
 */
export function foreignSourceFindings(m0: MeshState, policy: ParsedPolicy): ForeignSourceFinding[] {
  if (policy.action !== 'ALLOW' || policy.dryRun) return [];
  const owner = m0.ownership.ownerOf(policy.namespace);
  const virtual = owner.kind === 'tenant' ? new Map() : new Map([...symbolicTargets(m0, [policy])].filter(([ns]) => !m0.isVirtual(ns)));
  const m = virtual.size > 0 ? m0.withVirtual(new Map([...m0.virtualEntries(), ...virtual])) : m0;
  const out: ForeignSourceFinding[] = [];
  const podTargets: { tenant: string; ns: string }[] = [];
  if (owner.kind === 'tenant') podTargets.push({ tenant: owner.tenant, ns: policy.namespace });
  if (policy.namespace === m.root) for (const ns of m.virtualNamespaces()) podTargets.push({ tenant: ANOTHER_TENANT, ns });
  const activatorLabels = m.activatorLabels.filter((l) => policyApplies(policy, { namespace: ACTIVATOR.namespace, labels: l }, m.root));

  for (const rule of policy.rules) {
    const only = ruleAlone(policy, rule);
    for (const { tenant, ns } of podTargets) {
      // The pods this policy can bind (a tenant labels its pods freely).
      const labels = m.podLabels(ns).filter((l) => policyApplies(policy, { namespace: ns, labels: l }, m.root));
      const f = labels
        .map((l) => finding(m, rule, attackerHop(`pod in ${ns}`, { namespace: ns, labels: l }, tenant, REVISION_POD_PORTS, true, only), tenant, 'pod'))
        .find((x) => x !== undefined);
      if (f) out.push(f);
    }
    if (activatorLabels.length === 0) continue;
    const routed = activatorTargets(m, rule, m.virtualNamespaces());
    search: for (const { tenant, ns } of routed) {
      const routable = rulesRoutableTo(only, ns);
      for (const l of activatorLabels) {
        const hop = attackerHop('activator', { namespace: ACTIVATOR.namespace, labels: l }, tenant, ACTIVATOR.ports, false, routable);
        const f = finding(m, rule, hop, tenant, 'activator', ns);
        if (f) {
          out.push(f);
          break search;
        }
      }
    }
  }
  return out;
}

const ruleAlones = new WeakMap<ParsedRule, { policy: ParsedPolicy; only: ParsedPolicy }>();

/** The policy cut down to one rule, one object per (policy, rule) so its hop formula is compiled once. */
function ruleAlone(policy: ParsedPolicy, rule: ParsedRule): ParsedPolicy {
  const hit = ruleAlones.get(rule);
  if (hit && hit.policy === policy) return hit.only;
  const only: ParsedPolicy = { ...policy, rules: [rule] };
  ruleAlones.set(rule, { policy, only });
  return only;
}

function attackerHop(label: string, workload: Hop['workload'], tenant: string, ports: string[], freePort: boolean, policy: ParsedPolicy): Hop {
  return {
    label,
    workload,
    sidecar: true,
    caller: { kind: 'attacker', callers: { kind: 'foreign', tenant }, noIdentityOnly: false },
    ports,
    freePort,
    headerOverrides: new Map(),
    allow: alone(policy),
    deny: NO_POLICIES,
  };
}

const alones = new WeakMap<ParsedPolicy, ParsedPolicy[]>();
const NO_POLICIES: ParsedPolicy[] = [];

/** One list per policy object, so every hop judging the same rule alone shares its compiled formula (request-space.ts sharedHopFormula). */
function alone(policy: ParsedPolicy): ParsedPolicy[] {
  let list = alones.get(policy);
  if (!list) alones.set(policy, (list = [policy]));
  return list;
}

/** Namespaces the rule's activator traffic can be routed to: those it names that a tenant owns, and the symbolic ones. */
function activatorTargets(m: MeshState, rule: ParsedRule, symbolic: string[]): { tenant: string; ns: string }[] {
  const named = new Set<string>();
  for (const c of rule.when) for (const v of c.values ?? []) if (!v.includes('*')) named.add(v);
  for (const o of rule.to ?? []) for (const h of o.fields.hosts ?? []) for (const label of h.toLowerCase().split('.')) if (label && !label.includes('*')) named.add(label);
  const out: { tenant: string; ns: string }[] = [];
  for (const ns of named) {
    const o = m.ownership.ownerOf(ns);
    if (o.kind === 'tenant' && !symbolic.includes(ns)) out.push({ tenant: o.tenant, ns });
    if (o.kind === 'unowned') out.push({ tenant: ANOTHER_TENANT, ns });
  }
  for (const ns of symbolic) out.push({ tenant: ANOTHER_TENANT, ns });
  return out;
}

function finding(m: MeshState, rule: ParsedRule, hop: Hop, to: string, via: 'pod' | 'activator', routedTo?: string): ForeignSourceFinding | undefined {
  // Through the activator the caller names the revision by header (any Host).
  const route: Route = {
    hops: [hop],
    callerHeaders: new Map(routedTo ? [['knative-serving-namespace', routedTo]] : []),
    note: via === 'pod' ? 'caller -> pod' : 'caller -> activator',
    trustDomain: m.config.trustDomain,
  };
  const w = solveRoute(m, route);
  if (!w) return undefined;
  const k = keysOf(route, 0);
  return { rule: rule.index, from: describeCaller(m, route, w), to: routedTo && to === ANOTHER_TENANT ? `a namespace of another tenant (for example "${routedTo}")` : to, via, detail: explainRuleMatch(rule, k, w.assignment), request: describeRequest(route, w) };
}
