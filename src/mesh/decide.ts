import type { KubeObject } from '../kube/objects.js';
import { claimKey, compileRule, hopKeys, SHARED } from './compile.js';
import { and, evaluate, leaves, not, or, TRUE, type Assignment, type Formula, type Value } from './formula.js';
import { CLAIM_LIST_SEPARATOR } from './istio-match.js';
import { parsePolicy, policyApplies, PolicyShapeError, type ParsedPolicy, type Workload } from './policy.js';

// One concrete request against the policies of one workload, decided as a
// sidecar does: the stable entry point for checking the model against Istio's
// own code (test/oracle) and for explaining one request. It uses the same
// parser, attachment and rule compilation as the reachability search.

/** A request as the receiving sidecar sees it. */
export interface ConcreteRequest {
  /** The peer's SPIFFE id without `spiffe://`; null or absent: plaintext. */
  principal?: string | null;
  sourceIP: string;
  /** The original client (X-Forwarded-For / proxy protocol); defaults to sourceIP. */
  remoteIP?: string;
  destinationIP?: string;
  port: number;
  host: string;
  method: string;
  /** As sent, with any `?query` or `#fragment`. */
  path: string;
  headers?: Record<string, string>;
  /** TLS server name; absent or empty: none. */
  sni?: string;
  /** The validated JWT's payload, when a token was accepted. */
  jwt?: Record<string, unknown> | null;
}

export interface DecideOptions {
  rootNamespace: string;
  trustDomain: string;
  /**
   * The mesh's ext_authz providers (meshConfig.extensionProviders names) and
   * what the external authorizer answers. Given, CUSTOM policies are decided
   * as istiod builds them (customDenies); absent, they never decide.
   */
  extAuthz?: { providers: string[]; allows?: boolean };
}

export interface Decision {
  verdict: 'allow' | 'deny';
  /** `ns/name` of the policy that decided: the matching DENY, or for a deny by ALLOW policies the first of them. */
  deciding?: string;
  /** Policies the model cannot read (`ns/name: reason`). They count as ALLOW-anything (see decideRequest). */
  refused: string[];
  /** Policies applied, by class: enforced ALLOW and DENY, and those that never decide (dry-run, AUDIT, CUSTOM). */
  applied: { allow: string[]; deny: string[]; ignored: string[] };
}

const ref = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

/** A JWT claim as the model's variable holds it: a string, or a list's string elements joined with NUL. */
function claimValue(jwt: Record<string, unknown> | null | undefined, path: string[]): Value {
  let v: unknown = jwt ?? undefined;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const xs = v.filter((x): x is string => typeof x === 'string');
    return xs.length > 0 ? xs.join(CLAIM_LIST_SEPARATOR) : undefined;
  }
  return undefined;
}

/** The value each formula variable takes for this request (hop 0, no header overrides). */
function assignment(f: Formula, r: ConcreteRequest, trustDomain: string): Assignment {
  const k = hopKeys(0, new Set(), trustDomain);
  const headers = new Map(Object.entries(r.headers ?? {}).map(([n, v]) => [n.toLowerCase(), v]));
  const jwtString = (claim: string) => {
    const v = r.jwt?.[claim];
    return typeof v === 'string' ? v : undefined;
  };
  const fixed = new Map<string, Value>([
    [k.principal, r.principal ?? undefined],
    [k.port, String(r.port)],
    [k.sourceIp, r.sourceIP],
    [k.remoteIp, r.remoteIP ?? r.sourceIP],
    [k.destinationIp, r.destinationIP],
    [k.sni, r.sni ? r.sni : undefined],
    [SHARED.host, r.host],
    [SHARED.method, r.method],
    [SHARED.path, r.path],
    [SHARED.jwtIssuer, jwtString('iss')],
    [SHARED.jwtSubject, jwtString('sub')],
  ]);
  const a: Assignment = new Map();
  for (const l of leaves(f)) {
    if (a.has(l.key)) continue;
    if (fixed.has(l.key)) a.set(l.key, fixed.get(l.key));
    else if (l.key.startsWith('header:')) a.set(l.key, headers.get(l.key.slice('header:'.length)));
    else if (l.key.startsWith('claim:')) a.set(l.key, claimValue(r.jwt, JSON.parse(l.key.slice('claim:'.length)) as string[]));
    // Dynamic metadata of other Envoy filters: a concrete request carries none.
    else if (l.key.startsWith('attr:')) a.set(l.key, undefined);
    else throw new Error(`decideRequest: no request value for model variable ${l.key}`);
  }
  return a;
}

/**
 * Whether the sidecar of `workload` lets `request` in, given every
 * AuthorizationPolicy in `policies` (any namespace), as istiod translates them
 * and Envoy's RBAC filters evaluate them:
 * - the policies of the workload's namespace and of the root namespace that
 *   select it (policyApplies);
 * - dry-run, AUDIT and CUSTOM policies never decide (CUSTOM asks an external
 *   authorizer, which can only deny more: the model leaves it out);
 * - a matching DENY rule denies; otherwise, if ALLOW policies apply, some ALLOW
 *   rule must match; with none, the request is allowed.
 * A policy the model cannot read (PolicyShapeError) is listed in `refused` and
 * counted as "may allow anything, denies nothing" when it may apply (same
 * namespace or root namespace): an unreadable policy never makes the model
 * deny a request Istio might allow.
 */
export function decideRequest(policies: KubeObject[], workload: { namespace: string; labels?: Record<string, string> }, request: ConcreteRequest, options: DecideOptions): Decision {
  const w: Workload = { namespace: workload.namespace, labels: workload.labels ?? {} };
  const allow: ParsedPolicy[] = [];
  const deny: ParsedPolicy[] = [];
  const ignored: ParsedPolicy[] = [];
  const refused: string[] = [];
  let refusedMayApply: string | undefined;
  for (const obj of policies) {
    let p: ParsedPolicy;
    try {
      p = parsePolicy(obj);
    } catch (e) {
      if (!(e instanceof PolicyShapeError)) throw e;
      const name = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
      refused.push(`${name}: ${e.message}`);
      const ns = obj.metadata?.namespace;
      if (ns === w.namespace || ns === options.rootNamespace) refusedMayApply ??= name;
      continue;
    }
    if (!policyApplies(p, w, options.rootNamespace)) continue;
    if (p.dryRun || p.action === 'AUDIT' || p.action === 'CUSTOM') ignored.push(p);
    else if (p.action === 'DENY') deny.push(p);
    else allow.push(p);
  }
  const k = hopKeys(0, new Set(), options.trustDomain);
  const custom = options.extAuthz ? customDenies(ignored.filter((p) => p.action === 'CUSTOM'), options.extAuthz, k) : [];
  const denyF = or([...custom.map((c) => c.f), ...deny.flatMap((p) => p.rules.map((r) => compileRule(r, k)))]);
  const allowF = allow.length === 0 || refusedMayApply ? TRUE : or(allow.flatMap((p) => p.rules.map((r) => compileRule(r, k))));
  const f = and([not(denyF), allowF]);
  const a = assignment(f, request, options.trustDomain);
  const applied = { allow: allow.map(ref), deny: deny.map(ref), ignored: ignored.map(ref) };
  if (evaluate(f, a) === 1) return { verdict: 'allow', refused, applied };
  const denying = custom.find((c) => evaluate(c.f, a) === 1)?.policy ?? deny.find((p) => p.rules.some((r) => evaluate(compileRule(r, k), a) === 1));
  return { verdict: 'deny', deciding: denying ? ref(denying) : allow[0] ? ref(allow[0]) : undefined, refused, applied };
}

/**
 * CUSTOM policies as istiod's CUSTOM builder turns them into Envoy filters
 * (pilot/pkg/security/authz/builder/builder.go build/buildHTTP), per provider:
 * - more than one provider on the workload (PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS
 *   off, its default), or a provider the mesh does not define: the enforced
 *   policies' rules become DENY rules (getBadCustomDenyRules, fail closed);
 * - otherwise dry-run policies' rules are put in the RBAC filter's enforced
 *   rules with action DENY (a known limitation noted in buildHTTP), and a
 *   request matching an enforced policy goes to the external authorizer,
 *   which denies it unless `allows`.
 */
function customDenies(policies: ParsedPolicy[], extAuthz: NonNullable<DecideOptions['extAuthz']>, k: ReturnType<typeof hopKeys>): { policy: ParsedPolicy; f: Formula }[] {
  const providers = [...new Set(policies.map((p) => p.provider ?? ''))];
  const out: { policy: ParsedPolicy; f: Formula }[] = [];
  const rulesOf = (p: ParsedPolicy) => ({ policy: p, f: or(p.rules.map((r) => compileRule(r, k))) });
  for (const provider of providers) {
    const mine = policies.filter((p) => (p.provider ?? '') === provider);
    const failClosed = providers.length > 1 || !extAuthz.providers.includes(provider);
    if (failClosed) out.push(...mine.filter((p) => !p.dryRun).map(rulesOf));
    else {
      out.push(...mine.filter((p) => p.dryRun).map(rulesOf));
      if (extAuthz.allows === false) out.push(...mine.filter((p) => !p.dryRun).map(rulesOf));
    }
  }
  return out;
}
