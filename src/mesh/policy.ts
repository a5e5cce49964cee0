import type { KubeObject } from '../engine/types.js';

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

function stringList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new PolicyShapeError(path, 'must be a list of strings');
  return v.map((x, i) => {
    if (typeof x === 'number') return String(x); // ports written as numbers in YAML
    if (typeof x !== 'string') throw new PolicyShapeError(`${path}[${i}]`, 'must be a string');
    return x;
  });
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
    return { group: typeof r.group === 'string' ? r.group : '', kind: r.kind, name: r.name };
  });
  const rules = list(spec.rules, 'spec.rules').map((r, i) => parseRule(r, `spec.rules[${i}]`, i));
  return {
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? '',
    action: rawAction,
    dryRun: String(obj.metadata.annotations?.[DRY_RUN_ANNOTATION] ?? '').toLowerCase() === 'true',
    selector,
    targetRefs: targetRefs.length > 0 ? targetRefs : undefined,
    rules,
  };
}

function parseRule(r: unknown, path: string, index: number): ParsedRule {
  if (r === null || r === undefined) return { index, when: [] };
  if (!isObj(r)) throw new PolicyShapeError(path, 'must be an object');
  const from = list(r.from, `${path}.from`).map((f, i): ParsedSource => {
    const p = `${path}.from[${i}].source`;
    const src = isObj(f) ? f.source : undefined;
    if (src !== undefined && !isObj(src)) throw new PolicyShapeError(p, 'must be an object');
    const fields: ParsedSource['fields'] = {};
    for (const k of SOURCE_FIELDS) if (src?.[k] !== undefined && src[k] !== null) fields[k] = stringList(src[k], `${p}.${k}`);
    return { index: i, fields };
  });
  const to = list(r.to, `${path}.to`).map((t, i): ParsedOperation => {
    const p = `${path}.to[${i}].operation`;
    const op = isObj(t) ? t.operation : undefined;
    if (op !== undefined && !isObj(op)) throw new PolicyShapeError(p, 'must be an object');
    const fields: ParsedOperation['fields'] = {};
    for (const k of OPERATION_FIELDS) if (op?.[k] !== undefined && op[k] !== null) fields[k] = stringList(op[k], `${p}.${k}`);
    return { index: i, fields };
  });
  const when = list(r.when, `${path}.when`).map((c, i): ParsedCondition => {
    const p = `${path}.when[${i}]`;
    if (!isObj(c) || typeof c.key !== 'string' || c.key === '') throw new PolicyShapeError(`${p}.key`, 'must be a non-empty string');
    const cond: ParsedCondition = { index: i, key: c.key };
    if (c.values !== undefined && c.values !== null) cond.values = stringList(c.values, `${p}.values`);
    if (c.notValues !== undefined && c.notValues !== null) cond.notValues = stringList(c.notValues, `${p}.notValues`);
    return cond;
  });
  return { index, from: from.length > 0 ? from : undefined, to: to.length > 0 ? to : undefined, when };
}

/** The workload a policy may apply to: a pod (sidecar or gateway) with its labels. */
export interface Workload {
  namespace: string;
  labels: Record<string, string>;
}

/**
 * Whether Istio applies the policy to the workload: same namespace, or the
 * mesh root namespace (applies mesh-wide); then `selector.matchLabels`.
 * `targetRefs` attach a policy to a Gateway API gateway (pods labelled
 * `gateway.networking.k8s.io/gateway-name`, GatewayClass only from the root
 * namespace) or to a waypoint (Service/ServiceEntry); the sidecars and the
 * classic ingress gateway modelled here are none of those, so such a policy
 * does not apply to them.
 */
export function policyApplies(p: ParsedPolicy, w: Workload, rootNamespace: string): boolean {
  if (p.namespace !== w.namespace && p.namespace !== rootNamespace) return false;
  if (p.targetRefs) {
    return p.targetRefs.some(
      (r) =>
        (r.kind === 'Gateway' && r.group === 'gateway.networking.k8s.io' && p.namespace === w.namespace && w.labels['gateway.networking.k8s.io/gateway-name'] === r.name) ||
        (r.kind === 'GatewayClass' && p.namespace === rootNamespace && w.labels['gateway.networking.k8s.io/gateway-class-name'] === r.name),
    );
  }
  if (!p.selector) return true;
  return Object.entries(p.selector).every(([k, v]) => w.labels[k] === v);
}
