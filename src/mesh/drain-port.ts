// The drain-port exception of AuthorizationPolicies, judged honestly.
//
// Knative's queue-proxy serves /wait-for-drain on its admin port (8022,
// config.drainPorts); the kubelet's pre-stop hook calls it in plaintext,
// without a mesh identity, so tenants admit that port with a rule that has no
// `from` (knative/serving pkg/queue/constants.go RequestQueueDrainPath). Such
// a rule admits every caller: a pod of another tenant can call
// /wait-for-drain and queue-proxy starts draining (it answers 503 to the
// kubelet's readiness probe afterwards). The only thing that tells the
// kubelet apart is its source address, which is on the node network
// (config.clusterNetwork.nodeCIDRs): when that is configured, a drain
// exception must name it in `ipBlocks` (Istio matches ipBlocks against the
// connection's source IP, which a pod cannot choose).
// https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source

import type { TenancyConfig } from '../config/types.js';
import { parseCidr, rangeWithin, type IpRange } from '../net/ip-ranges.js';
import type { ParsedPolicy, ParsedRule, ParsedSource } from './policy.js';

export interface DrainPortViolation {
  rule: 'TG-AUTHZ-DRAIN-SOURCE';
  path: string;
  message: string;
}

export interface DrainPortFindings {
  violations: DrainPortViolation[];
  warnings: string[];
}

/** Fields that identify a mesh peer: a rule using them is an ordinary rule, judged by the reachability model. */
const IDENTITY_FIELDS = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'requestPrincipals', 'notRequestPrincipals'] as const;

function drainOnly(r: ParsedRule, drain: string[]): boolean {
  return !!r.to?.length && r.to.every((o) => !!o.fields.ports?.length && o.fields.ports.every((p) => drain.includes(p)));
}

function identified(s: ParsedSource): boolean {
  return IDENTITY_FIELDS.some((f) => (s.fields[f]?.length ?? 0) > 0);
}

/** Why `s` admits sources outside the node network, or undefined when it does not. */
function sourceOutsideNodes(s: ParsedSource, nodes: IpRange[]): string | undefined {
  const blocks = s.fields.ipBlocks ?? [];
  if (blocks.length === 0) return 'has no ipBlocks, so it admits any source address';
  for (const b of blocks) {
    const r = parseCidr(b);
    if (!r || !nodes.some((n) => rangeWithin(r, n))) return `ipBlocks ${JSON.stringify(b)} is not inside the node network`;
  }
  return undefined;
}

/**
 * Findings for the drain-port exceptions of `policy` (ALLOW rules limited to
 * drain ports whose sources carry no mesh identity): a violation when the
 * node network is configured and a rule admits sources outside it; a warning
 * with the residual risk when it is not configured.
 */
export function drainPortFindings(policy: ParsedPolicy, config: TenancyConfig): DrainPortFindings {
  const out: DrainPortFindings = { violations: [], warnings: [] };
  if (policy.action !== 'ALLOW' || policy.dryRun) return out;
  const drain = config.drainPorts;
  const nodeCidrs = config.clusterNetwork?.nodeCIDRs ?? [];
  const nodes = nodeCidrs.map(parseCidr).filter((r): r is IpRange => r !== undefined);
  const ref = `${policy.namespace}/${policy.name}`;
  for (const r of policy.rules) {
    if (!drainOnly(r, drain)) continue;
    const sources = r.from ?? [];
    if (sources.some(identified)) continue;
    if (nodes.length === 0) {
      if (sources.length === 0) {
        out.warnings.push(
          `TG-AUTHZ-DRAIN-OPEN: ${ref} spec.rules[${r.index}] admits every caller on drain port(s) ${drain.join(', ')}: any pod of any tenant can call ` +
            `/wait-for-drain and make queue-proxy drain (residual risk: a cross-tenant denial of service). Set clusterNetwork.nodeCIDRs in the tenancy config ` +
            `and limit the rule with from: [{source: {ipBlocks: [<node network>]}}].`,
        );
      }
      continue;
    }
    if (sources.length === 0) {
      out.violations.push({
        rule: 'TG-AUTHZ-DRAIN-SOURCE',
        path: `spec.rules[${r.index}]`,
        message:
          `${ref} spec.rules[${r.index}] admits every caller, of any tenant and without identity, on drain port(s) ${drain.join(', ')}: any pod can call /wait-for-drain ` +
          `and make queue-proxy drain. Only the kubelet needs it; add from: [{source: {ipBlocks: ${JSON.stringify(nodeCidrs)}}}] (clusterNetwork.nodeCIDRs).`,
      });
      continue;
    }
    for (const s of sources) {
      const why = sourceOutsideNodes(s, nodes);
      if (!why) continue;
      out.violations.push({
        rule: 'TG-AUTHZ-DRAIN-SOURCE',
        path: `spec.rules[${r.index}].from[${s.index}].source`,
        message:
          `${ref} spec.rules[${r.index}].from[${s.index}] ${why} on drain port(s) ${drain.join(', ')}: pods of other tenants could call /wait-for-drain and make ` +
          `queue-proxy drain. Limit the source to ipBlocks inside the node network ${JSON.stringify(nodeCidrs)} (clusterNetwork.nodeCIDRs).`,
      });
    }
  }
  return out;
}
