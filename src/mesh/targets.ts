import { freshToken } from './candidates.js';
import { ACTIVATOR, NAMESPACE_HEADER } from './platform.js';
import { policyMayApply } from './label-sets.js';
import type { MeshState, VirtualNamespace } from './mesh-state.js';
import type { ParsedPolicy } from './policy.js';
import { DATA_PATHS, type DataPath } from './routes.js';

// Which revision pods a change to a policy can affect, so admission judges
// only those: a tenant namespace's policy moves the ways into that namespace;
// a platform policy (the activator's, the gateway's) moves the ways into the
// namespaces it names plus one symbolic namespace standing for every other
// tenant's, today's or tomorrow's; a mesh-root policy moves everything.

/** The symbolic tenant that owns the symbolic target namespaces. */
export const ANOTHER_TENANT = '(another tenant)';

export interface TargetSpec {
  namespace: string;
  tenant: string;
  paths: DataPath[];
  /** A symbolic namespace: any namespace of a tenant the policy does not name. */
  symbolic: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Namespaces a rule routes to by name: pinned routing-header values and the namespace of each host pattern. */
function routedNamespacePatterns(p: ParsedPolicy): string[] {
  const out: string[] = [];
  for (const r of p.rules) {
    for (const c of r.when) if (c.key.toLowerCase() === `request.headers[${NAMESPACE_HEADER}]`) out.push(...(c.values ?? []));
    for (const o of r.to ?? []) {
      for (const h of o.fields.hosts ?? []) {
        // `<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc`, `<svc>.<ns>` (possibly with `*` ends)
        const labels = h.toLowerCase().replace(/:\d+$/, '').split('.');
        const svcAt = labels.indexOf('svc');
        const ns = svcAt > 0 ? labels[svcAt - 1] : labels.length === 2 ? labels[1] : undefined;
        if (ns && ns !== '*') out.push(ns);
      }
    }
  }
  return out;
}

function baselineLike(m: MeshState, ns: string): VirtualNamespace {
  // A tenant namespace is assumed to carry what tenant-guard's baseline
  // gives it: STRICT mTLS and an ALLOW of its own tenant and the platform.
  const own = [ns, ...m.config.systemNamespaces, m.root];
  return {
    tenant: ANOTHER_TENANT,
    mtls: 'STRICT',
    policies: [{ name: 'tenant-guard-assumed-baseline', namespace: ns, action: 'ALLOW', dryRun: false, rules: [{ index: 0, from: [{ index: 0, fields: { namespaces: [...new Set(own)] }, policyNamespace: ns }], when: [] }] }],
  };
}

/**
 * Symbolic target namespaces for platform policies: a fresh name no policy
 * mentions, plus one name fitting each wildcard the policies route by
 * (`tenant-*` -> `tenant-<fresh>`), each owned by a tenant nobody else is.
 */
export function symbolicTargets(m: MeshState, policies: ParsedPolicy[]): Map<string, VirtualNamespace> {
  const pats = policies.flatMap(routedNamespacePatterns);
  const consts = policies.flatMap((p) => p.rules.flatMap((r) => [...(r.from ?? []).flatMap((s) => Object.values(s.fields).flat()), ...(r.to ?? []).flatMap((o) => Object.values(o.fields).flat()), ...r.when.flatMap((c) => [...(c.values ?? []), ...(c.notValues ?? [])])]));
  // Names nobody holds and no constant names: a taken one (say, created to
  // hide from this check) gives way to the next variant of the token.
  const isFree = (n: string) => !m.state.get('/Namespace', undefined, n) && m.ownership.tenancy.ownerOf(n).type === 'none';
  const freeName = (build: (token: string) => string): string => {
    let n = build(freshToken(consts));
    for (let v = 1; v < 64 && !isFree(n); v++) n = build(freshToken(consts, v));
    return n;
  };
  const names = new Set<string>([freeName((t) => t)]);
  for (const p of pats) {
    if (p.length > 1 && p.endsWith('*')) names.add(freeName((t) => p.slice(0, -1) + t));
    else if (p.length > 1 && p.startsWith('*')) names.add(freeName((t) => t + p.slice(1)));
    // A name routed to that nobody holds yet is a namespace any tenant may create tomorrow.
    else if (!p.includes('*') && isFree(p)) names.add(p);
  }
  const out = new Map<string, VirtualNamespace>();
  for (const n of names) if (DNS_LABEL.test(n) && n.length <= 63 && !m.state.get('/Namespace', undefined, n)) out.set(n, baselineLike(m, n));
  return out;
}

/** The targets a change to these policies (old and new versions) can move. */
export function affectedTargets(m: MeshState, policies: ParsedPolicy[]): TargetSpec[] {
  const out = new Map<string, TargetSpec>();
  const add = (ns: string, tenant: string, paths: DataPath[], symbolic = false) => {
    const t = out.get(ns) ?? { namespace: ns, tenant, paths: [], symbolic };
    for (const p of paths) if (!t.paths.includes(p)) t.paths.push(p);
    out.set(ns, t);
  };
  const own = m.ownership;
  let symbolicPaths: DataPath[] = [];
  for (const p of policies) {
    const owner = own.ownerOf(p.namespace);
    if (owner.kind === 'tenant') add(p.namespace, owner.tenant, DATA_PATHS);
    if (p.namespace === m.root) {
      // Mesh-wide policies apply to every pod: judged on every tenant namespace.
      for (const [ns, t] of own.tenancy.allTenantNamespaces()) add(ns, t, DATA_PATHS);
      symbolicPaths = DATA_PATHS;
    }
    const platformPaths: DataPath[] = [];
    // The activator and the gateway carry labels beyond the known ones: a
    // selector moves their paths unless a known label rules it out.
    if (policyMayApply(p, ACTIVATOR, m.root)) platformPaths.push('activator', 'gateway-activator');
    if (policyMayApply(p, m.gateway.workload, m.root)) platformPaths.push('gateway-activator', 'gateway');
    for (const h of m.config.sharedHops ?? []) if (policyMayApply(p, { namespace: h.namespace, labels: h.labels }, m.root)) platformPaths.push('gateway-activator', 'gateway');
    if (platformPaths.length > 0) {
      for (const pat of routedNamespacePatterns(p)) {
        if (pat.includes('*') || m.isVirtual(pat)) continue; // stands for (or is) a symbolic namespace
        const o = own.ownerOf(pat);
        if (o.kind === 'tenant') add(pat, o.tenant, platformPaths);
        // An existing namespace of no tenant: whoever runs workloads there is nobody's to vouch for.
        if (o.kind === 'unowned') add(pat, ANOTHER_TENANT, platformPaths);
      }
      symbolicPaths = [...new Set([...symbolicPaths, ...platformPaths])];
    }
  }
  if (symbolicPaths.length > 0) for (const ns of m.virtualNamespaces()) add(ns, ANOTHER_TENANT, symbolicPaths, true);
  return [...out.values()];
}
