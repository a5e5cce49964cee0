// The config's `enforcement` and `exceptions` (src/engine/enforcement.ts)
// for the ValidatingAdmissionPolicies: encoded into the params ConfigMap, and
// decided in CEL, so that the API server refuses exactly what the engine's
// enforcement refuses and the policies stay independent of the config (the
// chart ships them as generated).
//
// How: every binding carries one action (its params' `action`: deny, warn or
// audit, with validationActions [Deny], [Warn, Audit] and [Audit]: a warned
// violation is admitted with a warning and an audit annotation, an audited
// one with the annotation only, as the webhook does). A validation fails in a
// binding only when its rule is violated, no exception in scope lifts it, and
// the rule's action where the object is equals the binding's. So each
// violation surfaces in exactly one binding, the one of its action.
//
// The rule's action is the engine's CompiledEnforcement.actionOf: overrides
// naming the rule (id or prefix), the most specific scope wins (namespaces >
// tenants > rules only), the strictest among equals, else the default; a rule
// that hides others (HIDES) is never more lenient than they are. An exception
// lifts a hardening rule when it names the rule (and every rule it hides) and
// its scope (tenants, namespaces, kinds, names, label selector) holds;
// isolation rules are never lifted here (none of the compiled rules is a
// PATH_RULE; a unit test keeps it so).
//
// What the API server cannot know is the time: an exception is written into
// the params only while it has not expired when they are generated
// (`tenant-guard vap`, `helm upgrade`); an exception that expires later keeps
// lifting its rule in the API server until the params are regenerated (the
// webhook stops honouring it on time). docs/enforcement.md says so.

import type { EnforcementAction, ExceptionSpec, TenancyConfig } from '../config/types.js';
import { expiryOf } from '../config/expiry.js';
import { FAIL_CLOSED_RULES, HARDENING_RULES, HIDES } from '../config/rule-classes.js';
import { TenantGuardError } from '../errors.js';
import { proxySelectors } from '../tenancy/proxy-selectors.js';
import { celString } from './cel.js';

export type ValidationAction = 'Deny' | 'Warn' | 'Audit';

/** The binding's validationActions for each enforcement action. */
export const VALIDATION_ACTIONS: Record<EnforcementAction, ValidationAction[]> = {
  deny: ['Deny'],
  warn: ['Warn', 'Audit'],
  audit: ['Audit'],
};

const ACTION_ORDER: EnforcementAction[] = ['deny', 'warn', 'audit'];

/** The actions some binding must carry: the default and every override's, in the order deny, warn, audit. */
export function actionsInUse(config: TenancyConfig): EnforcementAction[] {
  const e = config.enforcement ?? { action: 'deny', overrides: [] };
  const used = new Set<EnforcementAction>([e.action, ...e.overrides.map((o) => o.action)]);
  return ACTION_ORDER.filter((a) => used.has(a));
}

// Separators of the encoded params: none can occur in a rule reference, a
// DNS label, a kind, an object name or a Kubernetes label key or value.
const FIELD = '|';
const ITEM = ',';
const TERM = ';';
const PART = ':';
const FORBIDDEN = /[|,;:\n]/;

function plain(where: string, s: string): string {
  if (FORBIDDEN.test(s)) {
    throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `${where}: "${s}" cannot be written to the ValidatingAdmissionPolicies' params (it holds one of | , ; : or a newline, which no Kubernetes name or label does)`);
  }
  return s;
}

/** `enforcementOverrides`: one override a line, `action|rules|tenants|namespaces` (lists comma-separated, empty when absent). */
export function encodeOverrides(config: TenancyConfig): string {
  const overrides = config.enforcement?.overrides ?? [];
  return overrides.map((o) => [o.action, o.rules.join(ITEM), (o.tenants ?? []).join(ITEM), (o.namespaces ?? []).join(ITEM)].join(FIELD)).join('\n');
}

/** A selector as `;`-separated terms `Op:key[:v1,v2]` (matchLabels as In terms, keys sorted, then matchExpressions). */
function encodeSelector(x: ExceptionSpec, where: string): string {
  const s = x.selector;
  if (!s) return '';
  const terms: string[] = [];
  for (const k of Object.keys(s.matchLabels ?? {}).sort()) terms.push(['In', plain(`${where}.selector.matchLabels`, k), plain(`${where}.selector.matchLabels.${k}`, s.matchLabels![k]!)].join(PART));
  for (const [i, e] of (s.matchExpressions ?? []).entries()) {
    const key = plain(`${where}.selector.matchExpressions[${i}].key`, e.key);
    const values = e.values ?? [];
    // No values: `Op:key`, told apart from one empty value (`Op:key:`).
    terms.push(values.length ? [e.operator, key, values.map((v) => plain(`${where}.selector.matchExpressions[${i}].values`, v)).join(ITEM)].join(PART) : [e.operator, key].join(PART));
  }
  return terms.join(TERM);
}

/**
 * `exceptions`: one exception a line, `rules|tenants|namespaces|kinds|names|selector`,
 * only those that have not expired at `now` (epoch ms).
 */
export function encodeExceptions(config: TenancyConfig, now: number): string {
  const lines: string[] = [];
  for (const [i, x] of (config.exceptions ?? []).entries()) {
    if (now >= (expiryOf(x.expires) ?? 0)) continue;
    const where = `exceptions[${i}]`;
    lines.push(
      [
        x.rules.join(ITEM),
        (x.tenants ?? []).join(ITEM),
        (x.namespaces ?? []).join(ITEM),
        (x.kinds ?? []).join(ITEM),
        (x.names ?? []).map((n) => plain(`${where}.names`, n)).join(ITEM),
        encodeSelector(x, where),
      ].join(FIELD),
    );
  }
  return lines.join('\n');
}

/**
 * `gatewaySelector`: the selectors tenant pods may not wear in full
 * (tenancy/proxy-selectors.ts: the shared gateway's, baseline.gatewayPolicy.selector,
 * and each shared hop's labels), one a line, `key=value` pairs joined by `,`, keys sorted.
 */
export function encodeGatewaySelector(config: TenancyConfig): string {
  return proxySelectors(config)
    .map(({ selector }) =>
      Object.keys(selector)
        .sort()
        .map((k) => {
          const v = selector[k]!;
          if (/[=,\n]/.test(k) || /[,\n]/.test(v)) {
            throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `label "${k}: ${v}" of a gateway selector (baseline.gatewayPolicy.selector or sharedHops labels) cannot be written to the ValidatingAdmissionPolicies' params (no = in a key, no comma or newline)`);
          }
          return `${k}=${v}`;
        })
        .join(','),
    )
    .join('\n');
}

// ---- CEL ----

/** Variables every policy carries for the enforcement (names prefixed `enf`). */
export const ENFORCEMENT_VARIABLES = [
  // Tenancy.tenantOf: none in a system namespace; the config's list first, then the label.
  {
    name: 'enfTenant',
    expression:
      "namespaceObject.metadata.name in params.data.systemNamespaces.split('\\n') ? '' : " +
      "params.data.namespaceTenants.split('\\n').exists(l, l.startsWith(namespaceObject.metadata.name + '=')) ? " +
      "params.data.namespaceTenants.split('\\n').filter(l, l.startsWith(namespaceObject.metadata.name + '='))[0].substring(size(namespaceObject.metadata.name) + 1) : " +
      "namespaceObject.metadata.?labels[?params.data.tenantLabel].orValue('')",
  },
  // Overrides whose scope holds where the object is: [action, rules, tenants, namespaces].
  {
    name: 'enfOverrides',
    expression:
      "params.data.enforcementOverrides.split('\\n').filter(l, l != '').map(l, l.split('|'))" +
      ".filter(o, (o[2] == '' || variables.enfTenant in o[2].split(',')) && (o[3] == '' || namespaceObject.metadata.name in o[3].split(',')))",
  },
  // Exceptions whose scope holds for this object: [rules, tenants, namespaces, kinds, names, selector].
  {
    name: 'enfExceptions',
    expression:
      "params.data.exceptions.split('\\n').filter(l, l != '').map(l, l.split('|')).filter(x, " +
      "(x[1] == '' || variables.enfTenant in x[1].split(',')) && " +
      "(x[2] == '' || namespaceObject.metadata.name in x[2].split(',')) && " +
      "(x[3] == '' || x[3].split(',').exists(k, k == request.kind.kind || k == request.kind.group + '/' + request.kind.kind)) && " +
      "(x[4] == '' || object.metadata.?name.orValue('') in x[4].split(',')) && " +
      "(x[5] == '' || x[5].split(';').all(t, " +
      "t.split(':')[0] == 'Exists' ? t.split(':')[1] in object.metadata.?labels.orValue({}) : " +
      "t.split(':')[0] == 'DoesNotExist' ? !(t.split(':')[1] in object.metadata.?labels.orValue({})) : " +
      "(t.split(':')[0] == 'In') == (t.split(':')[1] in object.metadata.?labels.orValue({}) && size(t.split(':')) > 2 && " +
      "object.metadata.labels[t.split(':')[1]] in t.split(':')[2].split(',')))))",
  },
];

/** CEL: does the rule reference `r` (an id, a prefix ending in `*`, or `*`) name `id`? (rule-classes.ts refMatches) */
function refMatches(r: string, id: string): string {
  return `(${r}.endsWith('*') ? ${celString(id)}.startsWith(${r}.substring(0, size(${r}) - 1)) : ${r} == ${celString(id)})`;
}

/** CEL: the rule's own configured action where the object is (CompiledEnforcement.ownAction). */
function ownAction(id: string): string {
  if (FAIL_CLOSED_RULES.has(id)) return "'deny'";
  const matching = `variables.enfOverrides.filter(o, o[1].split(',').exists(r, ${refMatches('r', id)}))`;
  // The most specific level present, then the strictest action at it.
  const level = "m.exists(o, o[3] != '') ? m.filter(o, o[3] != '') : (m.exists(o, o[2] != '') ? m.filter(o, o[2] != '') : m)";
  const strictest = "size(s) == 0 ? params.data.enforcementAction : (s.exists(o, o[0] == 'deny') ? 'deny' : (s.exists(o, o[0] == 'warn') ? 'warn' : 'audit'))";
  return `[${matching}].map(m, ${level}).map(s, ${strictest})[0]`;
}

/** CEL: the action a violation of the rule gets (CompiledEnforcement.actionOf: never more lenient than the rules it hides). */
export function actionOf(id: string): string {
  const hidden = HIDES[id] ?? [];
  if (hidden.length === 0) return ownAction(id);
  // `[[x, y]].map(a, ...)[0]` binds the list of actions to `a`.
  const all = `[[${[id, ...hidden].map(ownAction).join(', ')}]]`;
  return `${all}.map(a, a.exists(x, x == 'deny') ? 'deny' : (a.exists(x, x == 'warn') ? 'warn' : 'audit'))[0]`;
}

/** CEL: does an exception in scope lift the rule's violation? (enforcement.ts lifts(), for non-path rules.) */
export function liftedBy(id: string): string {
  const hidden = HIDES[id] ?? [];
  if (FAIL_CLOSED_RULES.has(id) || !HARDENING_RULES.has(id) || hidden.some((h) => !HARDENING_RULES.has(h))) return 'false';
  const names = [id, ...hidden].map((r) => `x[0].split(',').exists(r, ${refMatches('r', r)})`).join(' && ');
  return `variables.enfExceptions.exists(x, ${names})`;
}

/**
 * The validation of one rule: passes when the object keeps the rule, when an
 * exception lifts its violation, or when the violation's action is not this
 * binding's (another binding reports it).
 */
export function enforcedValidation(id: string, ok: string): string {
  const lifted = liftedBy(id);
  return `(${ok}) || ${lifted === 'false' ? '' : `${lifted} || `}${actionOf(id)} != params.data.action`;
}
