import type { KubeObject } from '../kube/objects.js';
import { conditionKeyError, conditionKeyKind, ipValueError, portValueError } from './istio-match.js';
import { validationProblems as istiodValidation } from './policy-validation.js';

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
  'trustDomains',
  'notTrustDomains',
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
  /**
   * Why istiod leaves this rule out of the generated Envoy config (it then
   * matches no request): an unknown `when` key, or, in an ALLOW policy, a
   * value it cannot translate (see runtimeValueError).
   */
  skipped?: string;
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
  /** CUSTOM: the ext_authz provider (meshConfig.extensionProviders name). */
  provider?: string;
  rules: ParsedRule[];
  /**
   * What istiod's validating webhook (pkg/config/validation
   * ValidateAuthorizationPolicy) or tenant-guard refuses in this policy as a
   * new write. The fields above still say how istiod runs it if it is already
   * in the cluster.
   */
  invalid?: PolicyShapeError[];
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

/**
 * An object with only the fields the AuthorizationPolicy CRD
 * (security.istio.io v1/v1beta1 openAPIV3Schema) defines there. A field the
 * model does not know could change what the policy means, so it is refused,
 * never dropped.
 */
function knownFields(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new PolicyShapeError(`${path}.${k}`, `unknown field ${JSON.stringify(k)} (the AuthorizationPolicy schema has ${allowed.join(', ')})`);
    }
  }
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

/** Istio's port values are decimal numbers (authz/model/util.go convertToPort: ParseUint), so `08012` is port 8012. */
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

const SPEC_FIELDS = ['action', 'provider', 'rules', 'selector', 'targetRef', 'targetRefs'] as const;
const TARGET_REF_FIELDS = ['group', 'kind', 'name', 'namespace'] as const;
const RULE_FIELDS = ['from', 'to', 'when'] as const;
const CONDITION_FIELDS = ['key', 'values', 'notValues'] as const;

function parseTargetRef(r: unknown, path: string): TargetRef {
  if (!isObj(r)) throw new PolicyShapeError(path, 'must be an object');
  knownFields(r, TARGET_REF_FIELDS, path);
  for (const k of TARGET_REF_FIELDS) {
    if (r[k] !== undefined && r[k] !== null && typeof r[k] !== 'string') throw new PolicyShapeError(`${path}.${k}`, 'must be a string');
  }
  if (typeof r.kind !== 'string' || typeof r.name !== 'string') throw new PolicyShapeError(path, 'must have string kind and name');
  return { group: typeof r.group === 'string' ? r.group : '', kind: r.kind, name: r.name, ...(typeof r.namespace === 'string' && r.namespace ? { namespace: r.namespace } : {}) };
}

/** Parse an AuthorizationPolicy object; throws PolicyShapeError on a field the model cannot read. */
export function parsePolicy(obj: KubeObject): ParsedPolicy {
  const spec: unknown = obj.spec ?? {};
  if (!isObj(spec)) throw new PolicyShapeError('spec', 'must be an object');
  knownFields(spec, SPEC_FIELDS, 'spec');
  const rawAction = spec.action ?? 'ALLOW';
  if (rawAction !== 'ALLOW' && rawAction !== 'DENY' && rawAction !== 'AUDIT' && rawAction !== 'CUSTOM') {
    throw new PolicyShapeError('spec.action', `unknown action ${JSON.stringify(rawAction)} (ALLOW, DENY, AUDIT or CUSTOM)`);
  }
  let selector: Record<string, string> | undefined;
  if (spec.selector !== undefined && spec.selector !== null) {
    if (!isObj(spec.selector)) throw new PolicyShapeError('spec.selector', 'must be an object');
    knownFields(spec.selector, ['matchLabels'], 'spec.selector');
    const ml = spec.selector.matchLabels ?? {};
    if (!isObj(ml)) throw new PolicyShapeError('spec.selector.matchLabels', 'must be a map of strings');
    selector = {};
    for (const [k, v] of Object.entries(ml)) {
      if (typeof v !== 'string') throw new PolicyShapeError(`spec.selector.matchLabels.${k}`, 'must be a string');
      selector[k] = v;
    }
  }
  let provider: string | undefined;
  if (spec.provider !== undefined && spec.provider !== null) {
    if (!isObj(spec.provider)) throw new PolicyShapeError('spec.provider', 'must be an object');
    knownFields(spec.provider, ['name'], 'spec.provider');
    if (spec.provider.name !== undefined && spec.provider.name !== null && typeof spec.provider.name !== 'string') {
      throw new PolicyShapeError('spec.provider.name', 'must be a string');
    }
    provider = typeof spec.provider.name === 'string' ? spec.provider.name : '';
  }
  const refs = [
    ...list(spec.targetRefs, 'spec.targetRefs').map((r, i) => parseTargetRef(r, `spec.targetRefs[${i}]`)),
    ...(spec.targetRef !== undefined && spec.targetRef !== null ? [parseTargetRef(spec.targetRef, 'spec.targetRef')] : []),
  ];
  const namespace = obj.metadata.namespace ?? '';
  const rules = list(spec.rules, 'spec.rules').map((r, i) => parseRule(r, `spec.rules[${i}]`, i, namespace, rawAction));
  const policy: ParsedPolicy = {
    name: obj.metadata.name ?? '',
    namespace,
    action: rawAction,
    dryRun: isDryRunValue(obj.metadata.annotations?.[DRY_RUN_ANNOTATION]),
    selector,
    targetRefs: refs.length > 0 ? refs : undefined,
    rules,
  };
  if (provider !== undefined) policy.provider = provider;
  const invalid = istiodValidation(spec, namespace, obj.metadata.annotations ?? {}).map((x) => new PolicyShapeError(x.path, x.message));
  if (invalid.length > 0) policy.invalid = invalid;
  return policy;
}

function parseRule(r: unknown, path: string, index: number, policyNamespace: string, action: PolicyAction): ParsedRule {
  // istio's validation refuses a null rule ("`rule` must not be nil"), and
  // protojson cannot decode one into the repeated field: fail closed.
  if (r === null || r === undefined) throw new PolicyShapeError(path, 'must not be null (write {} for a rule that matches every request)');
  if (!isObj(r)) throw new PolicyShapeError(path, 'must be an object');
  knownFields(r, RULE_FIELDS, path);
  const errors: string[] = [];
  // istiod translates each value on its own (authz/model/model.go rule.principal/
  // permission, checkError): in an ALLOW policy a value it cannot translate
  // drops the whole rule ("a smaller allow policy"); in DENY/AUDIT/CUSTOM only
  // that value is dropped, and a field left without values no longer restricts.
  const translate = (xs: string[] | undefined, p: string, err: (v: string) => string | undefined): string[] | undefined => {
    if (!xs) return undefined;
    const kept = xs.filter((v, i) => {
      const e = err(v);
      if (e !== undefined) errors.push(`${p}[${i}]: ${e}`);
      return e === undefined;
    });
    if (action === 'ALLOW') return xs;
    return kept.length > 0 ? kept : undefined;
  };
  const from = list(r.from, `${path}.from`).map((f, i): ParsedSource => {
    const p = `${path}.from[${i}].source`;
    if (!isObj(f)) throw new PolicyShapeError(`${path}.from[${i}]`, 'must be an object');
    knownFields(f, ['source'], `${path}.from[${i}]`);
    const src = f.source;
    if (src !== undefined && src !== null && !isObj(src)) throw new PolicyShapeError(p, 'must be an object');
    if (isObj(src)) knownFields(src, SOURCE_FIELDS, p);
    const fields: ParsedSource['fields'] = {};
    for (const k of SOURCE_FIELDS) {
      const raw = isObj(src) ? optionalList(src[k], `${p}.${k}`) : undefined;
      const xs = /[iI]pBlocks$/.test(k) ? translate(raw, `${p}.${k}`, ipValueError) : raw;
      if (xs) fields[k] = xs;
    }
    return { index: i, fields, policyNamespace };
  });
  const to = list(r.to, `${path}.to`).map((t, i): ParsedOperation => {
    const p = `${path}.to[${i}].operation`;
    if (!isObj(t)) throw new PolicyShapeError(`${path}.to[${i}]`, 'must be an object');
    knownFields(t, ['operation'], `${path}.to[${i}]`);
    const op = t.operation;
    if (op !== undefined && op !== null && !isObj(op)) throw new PolicyShapeError(p, 'must be an object');
    if (isObj(op)) knownFields(op, OPERATION_FIELDS, p);
    const fields: ParsedOperation['fields'] = {};
    for (const k of OPERATION_FIELDS) {
      const raw = isObj(op) ? optionalList(op[k], `${p}.${k}`, k === 'ports' || k === 'notPorts') : undefined;
      const xs = k === 'ports' || k === 'notPorts' ? normalizePorts(translate(raw, `${p}.${k}`, portValueError)) : raw;
      if (xs) fields[k] = xs;
    }
    return { index: i, fields };
  });
  let skipped: string | undefined;
  const when: ParsedCondition[] = [];
  list(r.when, `${path}.when`).forEach((c, i) => {
    const p = `${path}.when[${i}]`;
    if (!isObj(c)) throw new PolicyShapeError(p, 'must be an object');
    knownFields(c, CONDITION_FIELDS, p);
    if (typeof c.key !== 'string' || c.key === '') throw new PolicyShapeError(`${p}.key`, 'must be a non-empty string');
    const key = c.key;
    const kind = conditionKeyKind(key);
    // authz/model/model.go New: an unknown key fails the whole rule, whatever the action.
    if (kind === 'unknown') skipped ??= `${p}.key: unknown attribute ${JSON.stringify(key)}`;
    const cond: ParsedCondition = { index: i, key, policyNamespace };
    const keyErr = conditionKeyError(key);
    const valueErr = (v: string) => keyErr ?? (kind === 'ip' ? ipValueError(v) : kind === 'port' ? portValueError(v) : undefined);
    const values = translate(optionalList(c.values, `${p}.values`, kind === 'port'), `${p}.values`, valueErr);
    const notValues = translate(optionalList(c.notValues, `${p}.notValues`, kind === 'port'), `${p}.notValues`, valueErr);
    const norm = kind === 'port' ? normalizePorts : (xs: string[] | undefined) => xs;
    if (values) cond.values = norm(values);
    if (notValues) cond.notValues = norm(notValues);
    when.push(cond);
  });
  if (action === 'ALLOW' && errors.length > 0) skipped ??= errors[0];
  const rule: ParsedRule = { index, from: from.length > 0 ? from : undefined, to: to.length > 0 ? to : undefined, when };
  if (skipped !== undefined) rule.skipped = skipped;
  return rule;
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
