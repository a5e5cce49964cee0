import { parsePrincipal } from './istio-match.js';
import { isPeered } from './matrix.js';
import { ACTIVATOR, REVISION_POD_PORTS } from './platform.js';
import { policyApplies, type ParsedPolicy, type ParsedRule } from './policy.js';
import { describeRequest, keysOf, solveRoute, type DataPath, type Hop, type Route } from './reachability.js';
import { explainRuleMatch } from './explain.js';
import { isTenantNamespace, tenantOfNamespace } from './scope.js';
import { podLabelCandidates, tenantsOf, type MeshView } from './view.js';

export interface ForeignSourceFinding {
  rule: number;
  /** The tenant whose caller the rule admits (or "a caller without identity"). */
  from: string;
  to: string;
  via: 'pod' | 'activator';
  detail: string;
  request: string;
}

/**
 * Rule by rule, ignoring every other policy: does this ALLOW rule by itself
 * admit a caller of another (non-peered) tenant into tenant T's pods, or
 * through the activator to T's hosts? Only drain ports are exempt. This is
 * the defence-in-depth half of the admission check: it holds even where
 * another policy already opened the cell, so a second opening is not admitted
 * silently and stays open once the first is fixed.
 */
export function foreignSourceFindings(view: MeshView, policy: ParsedPolicy): ForeignSourceFinding[] {
  if (policy.action !== 'ALLOW' || policy.dryRun) return [];
  const out: ForeignSourceFinding[] = [];
  const tenants = tenantsOf(view);
  const targets: { tenant: string; ns: string; labels: Record<string, string>[] }[] = [];
  const add = (tenant: string, ns: string) => {
    // The pods this policy can bind (a tenant labels its pods freely), each
    // with the mTLS mode its PeerAuthentication gives it.
    const labels = podLabelCandidates(view, ns).filter((l) => policyApplies(policy, { namespace: ns, labels: l }, view.root));
    if (labels.length > 0) targets.push({ tenant, ns, labels });
  };
  if (policy.namespace === view.root) {
    for (const t of tenants) for (const ns of view.tenantNamespaces.get(t) ?? []) add(t, ns);
  } else if (isTenantNamespace(view, policy.namespace)) {
    add(tenantOfNamespace(view, policy.namespace)!, policy.namespace);
  }
  // The activator label sets under which this policy applies to it (it may
  // carry labels beyond its manifest's, see platformLabelCandidates).
  const activatorLabels = view.activatorLabels.filter((l) => policyApplies(policy, { namespace: ACTIVATOR.namespace, labels: l }, view.root));
  for (const rule of policy.rules) {
    const only: ParsedPolicy = { ...policy, rules: [rule] };
    const seen = new Set<string>();
    for (const { tenant, ns, labels } of targets) {
      const attackers = foreignNamespaces(view, tenants, tenant);
      if (attackers.length === 0) continue;
      for (const l of labels) {
        const hop: Hop = {
          label: `pod in ${ns}${Object.keys(l).length ? ` ${JSON.stringify(l)}` : ''}`,
          workload: { namespace: ns, labels: l },
          sidecar: true,
          caller: { kind: 'attacker', namespaces: attackers, noIdentityOnly: false },
          ports: REVISION_POD_PORTS,
          freePort: true,
          headerOverrides: new Map(),
          allow: [only],
          deny: [],
        };
        const f = finding(view, rule, { hops: [hop], note: 'caller -> pod', trustDomain: view.config.trustDomain }, tenant, 'pod');
        if (f && !seen.has(`${f.from}>${tenant}`)) {
          seen.add(`${f.from}>${tenant}`);
          out.push(f);
          break;
        }
      }
    }
    for (const t of activatorLabels.length > 0 ? tenants : []) {
      const attackers = foreignNamespaces(view, tenants, t);
      if (attackers.length === 0) continue;
      search: for (const ns of view.tenantNamespaces.get(t) ?? []) {
        for (const l of activatorLabels) {
          const hop: Hop = {
            label: 'activator',
            workload: { namespace: ACTIVATOR.namespace, labels: l },
            sidecar: true,
            caller: { kind: 'attacker', namespaces: attackers, noIdentityOnly: false },
            ports: ACTIVATOR.ports,
            freePort: false,
            headerOverrides: new Map(),
            allow: [only],
            deny: [],
          };
          const f = finding(view, rule, { hops: [hop], hostRoutedTo: ns, note: 'caller -> activator', trustDomain: view.config.trustDomain }, t, 'activator');
          if (f) {
            out.push(f);
            break search;
          }
        }
      }
    }
  }
  return out;
}

function foreignNamespaces(view: MeshView, tenants: string[], target: string): string[] {
  return tenants.filter((s) => s !== target && !isPeered(view.config, s, target)).flatMap((s) => view.tenantNamespaces.get(s) ?? []);
}

function finding(view: MeshView, rule: ParsedRule, route: Route, to: string, via: 'pod' | 'activator'): ForeignSourceFinding | undefined {
  const w = solveRoute(view, route);
  if (!w) return undefined;
  const k = keysOf(route, 0);
  const principal = w.get(k.principal);
  const from = principal === undefined ? 'a caller without identity' : tenantOfNamespace(view, parsePrincipal(principal)?.namespace ?? '') ?? 'another tenant';
  return { rule: rule.index, from, to, via, detail: explainRuleMatch(rule, k, w), request: describeRequest(route, w) };
}

export type { DataPath };
