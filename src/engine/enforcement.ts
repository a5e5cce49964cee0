// The platform's enforcement, applied after the engine: one pure step
//   (decision, request facts, config, now) -> final decision
// that leaves each violation denying, demotes it to a warning (`warn`) or an
// audit annotation (`audit`), or lifts it by a named exception. The engine's
// own decisions are untouched (check --enforcement deny shows them), and a
// decision without violations is returned as is: the hot path pays nothing.
//
// Precedence (like Kyverno's validationFailureActionOverrides and Gatekeeper's
// scopedEnforcementActions, narrowed to tenant-guard's scopes): an override
// listing namespaces beats one listing tenants, which beats one listing rules
// only, which beats the default action; among equally specific matches the
// strictest action wins. Rule classes (fail closed, hardening, isolation):
// enforcement-rules.ts; docs/enforcement.md.
import type { ClusterState } from '../cluster/state.js';
import type { EnforcementAction, ExceptionSpec, LabelSelector, TenancyConfig } from '../config/types.js';
import { FAIL_CLOSED_RULES, HARDENING_RULES, HIDES, PATH_RULES, refMatches } from '../config/rule-classes.js';
import { Tenancy } from '../tenancy/tenancy.js';
import { expiryOf } from '../config/expiry.js';
import { msg, type MessageText } from '../kube/message-text.js';
import { keepText } from './decision.js';

export { expiryOf } from '../config/expiry.js';
import type { AdmissionInput, Decision, Violation } from './types.js';

/** What the enforcement looks at: where the object is and what it is. */
export interface RequestFacts {
  /** The request's namespace; a Namespace's own name for Namespace requests. */
  namespace?: string;
  tenant?: string;
  group: string;
  kind: string;
  name?: string;
  labels: Record<string, string>;
}

/** How a violation ended: its action, or the exception that lifted it. */
export type Outcome = EnforcementAction | 'exception';

/** A violation that did not deny: demoted by its action, or lifted by an exception. */
export interface RelaxedViolation extends Violation {
  action: 'warn' | 'audit' | 'exception';
  /** The exception's name (config `name`, else `exceptions[i]`). */
  exception?: string;
}

export interface EnforcementResult {
  decision: Decision;
  /** Every violation of the engine's decision with how it ended (deny included). */
  outcomes: { rule: string; outcome: Outcome; exception?: string }[];
  /** Exceptions that would have matched but have expired (serve logs them). */
  expired: string[];
}

const STRICTNESS: Record<EnforcementAction, number> = { deny: 2, warn: 1, audit: 0 };

function stricter(a: EnforcementAction, b: EnforcementAction): EnforcementAction {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

interface CompiledOverride {
  rules: string[];
  tenants?: ReadonlySet<string>;
  namespaces?: ReadonlySet<string>;
  action: EnforcementAction;
  /** 3 namespaces, 2 tenants, 1 rules only. */
  specificity: number;
}

interface CompiledException {
  name: string;
  rules: string[];
  tenants?: ReadonlySet<string>;
  namespaces?: ReadonlySet<string>;
  kinds?: { group?: string; kind: string }[];
  names?: ReadonlySet<string>;
  selector?: (labels: Record<string, string>) => boolean;
  /** Epoch ms from which the exception no longer matches. */
  expiresAt: number;
  expires: string;
  reason: string;
  /** For isolation rules: the config with the path declared as a peering. */
  peered?: TenancyConfig;
}

/** The enforcement of one config object, compiled once (cached per config). */
export class CompiledEnforcement {
  /** Nothing to relax: every violation denies. */
  readonly allDeny: boolean;
  private readonly overridesByRule = new Map<string, CompiledOverride[]>();
  readonly exceptions: CompiledException[];
  private readonly overrides: CompiledOverride[];
  private readonly defaultAction: EnforcementAction;

  constructor(config: TenancyConfig) {
    const e = config.enforcement ?? { action: 'deny', overrides: [] };
    this.overrides = e.overrides.map((o) => ({
      rules: o.rules,
      action: o.action,
      specificity: o.namespaces ? 3 : o.tenants ? 2 : 1,
      ...(o.tenants ? { tenants: new Set(o.tenants) } : {}),
      ...(o.namespaces ? { namespaces: new Set(o.namespaces) } : {}),
    }));
    this.defaultAction = e.action;
    this.exceptions = (config.exceptions ?? []).map((x, i) => compileException(x, i, config));
    this.allDeny = e.action === 'deny' && e.overrides.length === 0 && this.exceptions.length === 0;
  }

  private overridesOf(rule: string): CompiledOverride[] {
    let list = this.overridesByRule.get(rule);
    if (!list) {
      list = this.overrides.filter((o) => o.rules.some((r) => refMatches(r, rule)));
      // Bounded: one entry per rule id the engine emits.
      this.overridesByRule.set(rule, list);
    }
    return list;
  }

  /** The configured action of one rule where the object is (before rules it hides are considered). */
  private ownAction(rule: string, namespace: string | undefined, tenant: string | undefined): EnforcementAction {
    if (FAIL_CLOSED_RULES.has(rule)) return 'deny';
    let best: EnforcementAction | undefined;
    let level = 0;
    for (const o of this.overridesOf(rule)) {
      if (o.namespaces && (namespace === undefined || !o.namespaces.has(namespace))) continue;
      if (o.tenants && (tenant === undefined || !o.tenants.has(tenant))) continue;
      if (o.specificity > level) {
        level = o.specificity;
        best = o.action;
      } else if (o.specificity === level) best = stricter(best!, o.action);
    }
    return best ?? this.defaultAction;
  }

  /** The action a violation of `rule` gets where the object is. */
  actionOf(rule: string, namespace: string | undefined, tenant: string | undefined): EnforcementAction {
    let a = this.ownAction(rule, namespace, tenant);
    for (const hidden of HIDES[rule] ?? []) a = stricter(a, this.ownAction(hidden, namespace, tenant));
    return a;
  }
}

function compileException(x: ExceptionSpec, i: number, config: TenancyConfig): CompiledException {
  const c: CompiledException = {
    name: x.name ?? `exceptions[${i}]`,
    rules: x.rules,
    expiresAt: expiryOf(x.expires) ?? 0,
    expires: x.expires,
    reason: x.reason,
  };
  if (x.tenants) c.tenants = new Set(x.tenants);
  if (x.namespaces) c.namespaces = new Set(x.namespaces);
  if (x.kinds) c.kinds = x.kinds.map((k) => (k.includes('/') ? { group: k.slice(0, k.lastIndexOf('/')), kind: k.slice(k.lastIndexOf('/') + 1) } : { kind: k }));
  if (x.names) c.names = new Set(x.names);
  if (x.selector) c.selector = selectorMatcher(x.selector);
  if (x.path) c.peered = { ...config, peerings: [...config.peerings, { from: x.path.from, to: x.path.to }], exceptions: [], enforcement: { action: 'deny', overrides: [] } };
  return c;
}

/** Kubernetes label selector semantics (metav1.LabelSelector): every term must hold. */
export function selectorMatcher(s: LabelSelector): (labels: Record<string, string>) => boolean {
  const ml = Object.entries(s.matchLabels ?? {});
  const me = s.matchExpressions ?? [];
  return (labels) => {
    for (const [k, v] of ml) if (labels[k] !== v) return false;
    for (const e of me) {
      const has = Object.prototype.hasOwnProperty.call(labels, e.key);
      const vals = e.values ?? [];
      switch (e.operator) {
        case 'In':
          if (!has || !vals.includes(labels[e.key]!)) return false;
          break;
        case 'NotIn':
          if (has && vals.includes(labels[e.key]!)) return false;
          break;
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
      }
    }
    return true;
  };
}

const compiled = new WeakMap<TenancyConfig, CompiledEnforcement>();

/** The compiled enforcement of a config object (compiled on first use, then cached with the object). */
export function compiledEnforcement(config: TenancyConfig): CompiledEnforcement {
  let c = compiled.get(config);
  if (!c) {
    c = new CompiledEnforcement(config);
    compiled.set(config, c);
  }
  return c;
}

/** The facts of a request, for the enforcement. */
export function requestFacts(input: AdmissionInput, state: ClusterState, config: TenancyConfig): RequestFacts {
  const obj = input.operation === 'DELETE' ? input.oldObject ?? input.object : input.object;
  const isNamespace = input.kind.group === '' && input.kind.kind === 'Namespace';
  const name = input.name ?? obj?.metadata?.name;
  const namespace = isNamespace ? name : input.namespace ?? obj?.metadata?.namespace;
  const labels = obj?.metadata?.labels;
  const facts: RequestFacts = {
    group: input.kind.group,
    kind: input.kind.kind,
    labels: labels && typeof labels === 'object' ? (labels as Record<string, string>) : {},
  };
  if (name !== undefined) facts.name = name;
  if (namespace !== undefined) {
    facts.namespace = namespace;
    // A new namespace's tenant is the one its label (or the config) gives it.
    const tenant = new Tenancy(config, state).tenantOf(namespace) ?? (isNamespace ? facts.labels[config.tenantLabel] : undefined);
    if (tenant) facts.tenant = tenant;
  }
  return facts;
}

function inScope(x: CompiledException, f: RequestFacts): boolean {
  if (x.namespaces && (f.namespace === undefined || !x.namespaces.has(f.namespace))) return false;
  if (x.tenants && (f.tenant === undefined || !x.tenants.has(f.tenant))) return false;
  if (x.kinds && !x.kinds.some((k) => k.kind === f.kind && (k.group === undefined || k.group === f.group))) return false;
  if (x.names && (f.name === undefined || !x.names.has(f.name))) return false;
  if (x.selector && !x.selector(f.labels)) return false;
  return true;
}

function names(x: CompiledException, rule: string): boolean {
  return !FAIL_CLOSED_RULES.has(rule) && x.rules.some((r) => refMatches(r, rule));
}

/** Would the exception (which names the rule) lift its violation? Path exceptions re-judge (`rejudge`) with their path peered. */
function lifts(x: CompiledException, rule: string, rejudge: ((config: TenancyConfig) => Decision) | undefined, cache: Map<CompiledException, Decision>): boolean {
  // A rule that hides others is lifted only with them (they were never judged).
  for (const hidden of HIDES[rule] ?? []) if (!HARDENING_RULES.has(hidden) || !x.rules.some((r) => refMatches(r, hidden))) return false;
  if (HARDENING_RULES.has(rule)) return true;
  // Isolation rules are lifted only when named one by one (a prefix lifts the hardening rules it covers).
  if (!PATH_RULES.has(rule) || !x.peered || !rejudge || !x.rules.includes(rule)) return false;
  let d = cache.get(x);
  if (!d) {
    d = rejudge(x.peered);
    cache.set(x, d);
  }
  return !d.violations.some((v) => v.rule === rule);
}

function warningOf(v: RelaxedViolation, x?: CompiledException): MessageText {
  const where = v.path ? ` ${v.path}:` : '';
  const message = v.text ?? v.message;
  if (x) return msg`[${v.rule}] admitted by tenant-guard exception "${x.name}" (${x.reason}; expires ${x.expires}):${where} ${message}`;
  return msg`[${v.rule}] would be denied; admitted because the rule is in warn mode:${where} ${message}`;
}

/**
 * Apply the config's enforcement to the engine's decision. Pure: `now` is
 * given; `rejudge` judges the same request under another config (used only
 * for an isolation exception's path, never on the hot path).
 */
export function applyEnforcement(
  d: Decision,
  facts: RequestFacts | (() => RequestFacts),
  config: TenancyConfig,
  now: number,
  rejudge?: (config: TenancyConfig) => Decision,
): EnforcementResult {
  if (d.violations.length === 0) return { decision: d, outcomes: [], expired: [] };
  const c = compiledEnforcement(config);
  if (c.allDeny) return { decision: d, outcomes: d.violations.map((v) => ({ rule: v.rule, outcome: 'deny' })), expired: [] };
  const f = typeof facts === 'function' ? facts() : facts;
  const denying: Violation[] = [];
  const relaxed: RelaxedViolation[] = [];
  const outcomes: EnforcementResult['outcomes'] = [];
  const expired = new Set<string>();
  const rejudged = new Map<CompiledException, Decision>();
  const scoped = c.exceptions.filter((x) => inScope(x, f));
  for (const v of d.violations) {
    let by: CompiledException | undefined;
    for (const x of scoped) {
      if (!names(x, v.rule)) continue;
      if (now >= x.expiresAt) {
        expired.add(x.name);
        continue;
      }
      if (!lifts(x, v.rule, rejudge, rejudged)) continue;
      by = x;
      break;
    }
    if (by) {
      relaxed.push(keepText(v, { ...v, action: 'exception', exception: by.name }));
      outcomes.push({ rule: v.rule, outcome: 'exception', exception: by.name });
      continue;
    }
    const action = c.actionOf(v.rule, f.namespace, f.tenant);
    outcomes.push({ rule: v.rule, outcome: action });
    if (action === 'deny') denying.push(v);
    else relaxed.push(keepText(v, { ...v, action }));
  }
  if (relaxed.length === 0) return { decision: d, outcomes, expired: [...expired] };
  const warnings = [...d.warnings];
  let warningTexts = d.warningTexts;
  for (const r of relaxed) {
    if (r.action === 'audit') continue;
    const text = warningOf(r, r.action === 'exception' ? scoped.find((x) => x.name === r.exception) : undefined);
    const w = String(text);
    if (!warnings.includes(w)) warnings.push(w);
    if (text.namesTenantObjects) warningTexts = new Map([...(warningTexts ?? []), [w, text]]);
  }
  const allowed = denying.length === 0;
  const decision: Decision = {
    allowed,
    intercepted: d.intercepted,
    violations: denying,
    warnings,
    // Mutations stay on: what the engine would have patched had the request been clean.
    patch: allowed ? d.heldPatch ?? d.patch : [],
    relaxed,
  };
  if (warningTexts) decision.warningTexts = warningTexts;
  if (!allowed && d.heldPatch) decision.heldPatch = d.heldPatch;
  return { decision, outcomes, expired: [...expired] };
}

/** The engine's decision as the configured enforcement makes it (check, audit and tests; serve goes through its deps). */
export function enforce(
  evaluate: (input: AdmissionInput, state: ClusterState, config: TenancyConfig) => Decision,
  input: AdmissionInput,
  state: ClusterState,
  config: TenancyConfig,
  now: number,
): EnforcementResult & { raw: Decision } {
  const raw = evaluate(input, state, config);
  const r = applyEnforcement(raw, () => requestFacts(input, state, config), config, now, (c) => evaluate(input, state, c));
  return { ...r, raw };
}
