import type { KubeObject } from '../kube/objects.js';

// A parsed, validated AuthorizationPolicy (security.istio.io v1 and v1beta1
// share one schema: https://istio.io/latest/docs/reference/config/security/authorization-policy/).

export type PolicyAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
] as const;
export type SourceField = (typeof SOURCE_FIELDS)[number];

export const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
export type OperationField = (typeof OPERATION_FIELDS)[number];

export interface ParsedSource {
  index: number;
  fields: Partial<Record<SourceField, string[]>>;
  /** The policy's namespace: a `serviceAccounts` value without `<ns>/` names a service account there. */
  policyNamespace: string;
}

export interface ParsedOperation {
  index: number;
  fields: Partial<Record<OperationField, string[]>>;
}

export interface ParsedCondition {
  index: number;
  key: string;
  values?: string[];
  notValues?: string[];
  /** The policy's namespace (for `source.serviceAccount` values without `<ns>/`). */
  policyNamespace: string;
}

export interface ParsedRule {
  index: number;
  /** Absent (or empty): any source. */
  from?: ParsedSource[];
  /** Absent (or empty): any operation. */
  to?: ParsedOperation[];
  when: ParsedCondition[];
}

export interface TargetRef {
  group: string;
  kind: string;
  name: string;
  /** Optional; Istio only attaches a policy to a target in its own namespace. */
  namespace?: string;
}

export interface ParsedPolicy {
  name: string;
  namespace: string;
  action: PolicyAction;
  /** `istio.io/dry-run: "true"`: evaluated and logged, never enforced. */
  dryRun: boolean;
  /** matchLabels; undefined (or empty) = every workload in scope. */
  selector?: Record<string, string>;
  targetRefs?: TargetRef[];
  rules: ParsedRule[];
}

/** A field of the policy has a shape Istio would refuse (or we cannot read). */
export class PolicyShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'PolicyShapeError';
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, path: string, ports = false): string[] {
  if (!Array.isArray(v)) throw new PolicyShapeError(path, 'must be a list of strings');
  return v.map((x, i) => {
    // Ports written as YAML numbers are numbers; anywhere else a non-string is no value Istio's API defines (fail closed).
    if (ports && typeof x === 'number') return String(x);
    if (typeof x !== 'string') throw new PolicyShapeError(`${path}[${i}]`, `${JSON.stringify(x)} must be a string`);
    return x;
  });
}

/**
 * A list field as Istio reads it: absent, null and `[]` are all "not set".
 * istiod skips a field whose list is empty (pilot/pkg/security/authz/model/model.go,
 * `insertFront`/`appendLast`: `len(values) == 0 && len(notValues) == 0`), so
 * `namespaces: []` next to `principals: [...]` does not restrict the source;
 * reading it as "matches nothing" would hide the opening.
 */
function optionalList(v: unknown, path: string, ports = false): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const xs = stringList(v, path, ports);
  return xs.length > 0 ? xs : undefined;
}

// Characters RE2 reads as operators. istiod pastes some values into regular
// expressions without escaping them (pilot/pkg/security/authz/model/generator.go:
// srcNamespaceGenerator builds `.*/ns/<value>/.*` with only `*` -> `.*`;
// serviceAccountRegex builds `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`;
// matcher.StringMatcherWithPrefix turns a principal `*<rest>` into
// `spiffe://.*<rest>`). There `tenant-.`, `tenant-[12]` or `(a|b)` match
// other tenants' namespaces. Namespace and service-account names never
// contain these characters, so such a value is refused rather than guessed at.
const RE2_META = /[\\.+*?()|[\]{}^$]/;

function checkRegexSafe(field: string, values: string[] | undefined, path: string, namespace: string): void {
  values?.forEach((v, i) => {
    const where = `${path}[${i}]`;
    const refuse = (what: string) => {
      throw new PolicyShapeError(
        where,
        `${JSON.stringify(v)}: Istio compiles ${field} into a regular expression without escaping ${what}, so regex characters (. [ ] ( ) | + ? { } ^ $ \\) ` +
          'can match other namespaces; use literal names (and `*` only where the field allows it)',
      );
    };
    if (field === 'namespaces' || field === 'source.namespace') {
      // `*` is Istio's own wildcard here (-> `.*`); everything else is literal to a namespace name.
      if (RE2_META.test(v.replaceAll('*', ''))) refuse('anything but `*`');
    } else if (field === 'principals' || field === 'source.principal') {
      // Only the `*<rest>` (suffix) form becomes a regex; exact and `prefix*` are literal.
      if (v.length > 1 && v.startsWith('*') && RE2_META.test(v.slice(1))) refuse('the part after a leading `*`');
    } else if (field === 'serviceAccounts' || field === 'source.serviceAccount') {
      const slash = v.indexOf('/');
      const ns = slash < 0 ? namespace : v.slice(0, slash);
      const sa = slash < 0 ? v : v.slice(slash + 1);
      // Service-account names may contain dots (DNS subdomains); a dot there can only
      // widen the match to other accounts of the same, literal, namespace.
      if (RE2_META.test(ns) || RE2_META.test(sa.replaceAll('.', '')) || sa.includes('/')) refuse('the namespace or the name (no wildcards either)');
    }
  });
}

/** Istio's port values are decimal numbers (security.ValidatePorts: ParseUint), so `08012` is port 8012. */
function normalizePorts(values: string[] | undefined): string[] | undefined {
  return values?.map((v) => (/^[0-9]+$/.test(v) ? String(Number(v)) : v));
}

/**
 * `istio.io/dry-run`: istiod reads it with Go's strconv.ParseBool
 * (pilot/pkg/security/authz/builder/builder.go isDryRun), so "1", "t", "T",
 * "TRUE", "true" and "True" all make the policy dry-run; any other value
 * (a parse error) leaves it enforced.
 */
export function isDryRunValue(v: unknown): boolean {
  return typeof v === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PolicyShapeError(path, 'must be a list');
  return v;
}

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

/** Parse an AuthorizationPolicy object; throws PolicyShapeError on a malformed field. */
export function parsePolicy(obj: KubeObject): ParsedPolicy {
  const spec: unknown = obj.spec ?? {};
  if (!isObj(spec)) throw new PolicyShapeError('spec', 'must be an object');
  const rawAction = spec.action ?? 'ALLOW';
  if (rawAction !== 'ALLOW' && rawAction !== 'DENY' && rawAction !== 'AUDIT' && rawAction !== 'CUSTOM') {
    throw new PolicyShapeError('spec.action', `unknown action ${JSON.stringify(rawAction)} (ALLOW, DENY, AUDIT or CUSTOM)`);
  }
  let selector: Record<string, string> | undefined;
  if (spec.selector !== undefined && spec.selector !== null) {
    if (!isObj(spec.selector)) throw new PolicyShapeError('spec.selector', 'must be an object');
    const ml = spec.selector.matchLabels ?? {};
    if (!isObj(ml)) throw new PolicyShapeError('spec.selector.matchLabels', 'must be a map of strings');
    selector = {};
    for (const [k, v] of Object.entries(ml)) {
      if (typeof v !== 'string') throw new PolicyShapeError(`spec.selector.matchLabels.${k}`, 'must be a string');
      selector[k] = v;
    }
  }
  const refs = [...list(spec.targetRefs, 'spec.targetRefs'), ...(spec.targetRef ? [spec.targetRef] : [])];
  const targetRefs = refs.map((r, i): TargetRef => {
    if (!isObj(r) || typeof r.kind !== 'string' || typeof r.name !== 'string') {
      throw new PolicyShapeError(`spec.targetRefs[${i}]`, 'must have string kind and name');
    }
    return { group: typeof r.group === 'string' ? r.group : '', kind: r.kind, name: r.name, ...(typeof r.namespace === 'string' && r.namespace ? { namespace: r.namespace } : {}) };
  });
  const namespace = obj.metadata.namespace ?? '';
  const rules = list(spec.rules, 'spec.rules').map((r, i) => parseRule(r, `spec.rules[${i}]`, i, namespace));
  return {
    name: obj.metadata.name ?? '',
    namespace,
    action: rawAction,
    dryRun: isDryRunValue(obj.metadata.annotations?.[DRY_RUN_ANNOTATION]),
    selector,
    targetRefs: targetRefs.length > 0 ? targetRefs : undefined,
    rules,
  };
}

function parseRule(r: unknown, path: string, index: number, policyNamespace: string): ParsedRule {
  // istio's validation refuses a null rule ("`rule` must not be nil"); what
  // istiod would make of one is not specified, so the guard fails closed.
  if (r === null || r === undefined) throw new PolicyShapeError(path, 'must not be null (write {} for a rule that matches every request)');
  if (!isObj(r)) throw new PolicyShapeError(path, 'must be an object');
  const from = list(r.from, `${path}.from`).map((f, i): ParsedSource => {
    const p = `${path}.from[${i}].source`;
    const src = isObj(f) ? f.source : undefined;
    if (src !== undefined && src !== null && !isObj(src)) throw new PolicyShapeError(p, 'must be an object');
    const fields: ParsedSource['fields'] = {};
    for (const k of SOURCE_FIELDS) {
      const xs = isObj(src) ? optionalList(src[k], `${p}.${k}`) : undefined;
      if (!xs) continue;
      const field = k === 'notNamespaces' ? 'namespaces' : k === 'notPrincipals' ? 'principals' : k === 'notServiceAccounts' ? 'serviceAccounts' : k;
      checkRegexSafe(field, xs, `${p}.${k}`, policyNamespace);
      fields[k] = xs;
    }
    return { index: i, fields, policyNamespace };
  });
  const to = list(r.to, `${path}.to`).map((t, i): ParsedOperation => {
    const p = `${path}.to[${i}].operation`;
    const op = isObj(t) ? t.operation : undefined;
    if (op !== undefined && op !== null && !isObj(op)) throw new PolicyShapeError(p, 'must be an object');
    const fields: ParsedOperation['fields'] = {};
    for (const k of OPERATION_FIELDS) {
      const xs = isObj(op) ? optionalList(op[k], `${p}.${k}`, k === 'ports' || k === 'notPorts') : undefined;
      if (xs) fields[k] = k === 'ports' || k === 'notPorts' ? normalizePorts(xs) : xs;
    }
    return { index: i, fields };
  });
  const when = list(r.when, `${path}.when`).map((c, i): ParsedCondition => {
    const p = `${path}.when[${i}]`;
    if (!isObj(c) || typeof c.key !== 'string' || c.key === '') throw new PolicyShapeError(`${p}.key`, 'must be a non-empty string');
    const cond: ParsedCondition = { index: i, key: c.key, policyNamespace };
    const norm = c.key === 'destination.port' ? normalizePorts : (xs: string[] | undefined) => xs;
    const values = norm(optionalList(c.values, `${p}.values`, c.key === 'destination.port'));
    const notValues = norm(optionalList(c.notValues, `${p}.notValues`, c.key === 'destination.port'));
    checkRegexSafe(c.key, values, `${p}.values`, policyNamespace);
    checkRegexSafe(c.key, notValues, `${p}.notValues`, policyNamespace);
    if (values) cond.values = values;
    if (notValues) cond.notValues = notValues;
    return cond;
  });
  return { index, from: from.length > 0 ? from : undefined, to: to.length > 0 ? to : undefined, when };
}

/** The workload a policy may apply to: a pod (sidecar or gateway) with its labels. */
export interface Workload {
  namespace: string;
  labels: Record<string, string>;
}

/** The label that makes a pod a Gateway API gateway instance (label.IoK8sNetworkingGatewayGatewayName). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/**
 * Whether Istio applies the policy to the workload, as
 * pilot/pkg/model/policyattachment.go ShouldAttachPolicy decides it: same
 * namespace or the mesh root namespace (mesh-wide), then
 * - a policy with `targetRef(s)` never applies to a plain sidecar; it applies
 *   to a pod labelled `gateway.networking.k8s.io/gateway-name: <name>` when it
 *   names `Gateway` `<name>` (group gateway.networking.k8s.io) from the pod's
 *   own namespace. Service/ServiceEntry and the `istio-waypoint` GatewayClass
 *   only bind waypoints, which this model has none of. The label is a pod label
 *   like any other, so a tenant can put it on its own pods;
 * - otherwise `selector.matchLabels` (absent or empty: every workload). Gateway
 *   API pods also honour selectors while ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY
 *   keeps its default (true), which the model assumes.
 */
export function policyApplies(p: ParsedPolicy, w: Workload, rootNamespace: string): boolean {
  if (p.namespace !== w.namespace && p.namespace !== rootNamespace) return false;
  if (p.targetRefs) {
    const gatewayName = w.labels[GATEWAY_NAME_LABEL];
    if (gatewayName === undefined || p.namespace !== w.namespace) return false;
    return p.targetRefs.some(
      (r) => r.kind === 'Gateway' && r.group === 'gateway.networking.k8s.io' && r.name === gatewayName && (r.namespace === undefined || r.namespace === w.namespace),
    );
  }
  if (!p.selector) return true;
  return Object.entries(p.selector).every(([k, v]) => w.labels[k] === v);
}
