import { conditionKeyKind, ipValueError, isPathTemplate, portValueError } from './istio-match.js';

// What a new write of an AuthorizationPolicy must pass before the model judges
// it: istiod's own validating webhook (istio/istio pkg/config/validation
// ValidateAuthorizationPolicy, with pkg/config/security's value checks), whose
// reason is repeated, plus tenant-guard's refusal of regex characters. A
// policy already in the cluster that fails these is still modelled as istiod
// runs it (policy.ts); only new writes are refused (TG-AUTHZ-MALFORMED).

export interface ValidationProblem {
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const has = (o: Obj, k: string) => strings(o[k]).length > 0;

// Characters RE2 reads as operators. Istio releases before istio/istio#59992
// pasted namespaces (`.*/ns/<value>/.*`, only `*` -> `.*`) and the `*<rest>`
// principal form (`spiffe://.*<rest>`) into regexes unquoted; there `tenant-.`
// or `(a|b)` match other tenants' namespaces. The release the model is
// checked against quotes them (generator.go regexp.QuoteMeta), but a cluster
// may run an older one, and namespace and service-account names never contain
// these characters, so a new write with them is refused.
const RE2_META = /[\\.+*?()|[\]{}^$]/;

function regexProblem(field: string, v: string, namespace: string): string | undefined {
  const refuse = (what: string) =>
    `${JSON.stringify(v)}: Istio releases without istio/istio#59992 compile ${field} into a regular expression without escaping ${what}, so regex characters (. [ ] ( ) | + ? { } ^ $ \\) ` +
    'can match other namespaces; use literal names (and `*` only where the field allows it)';
  if (field === 'namespaces' || field === 'source.namespace') {
    if (RE2_META.test(v.replaceAll('*', ''))) return refuse('anything but `*`');
  } else if (field === 'principals' || field === 'source.principal') {
    if (v.length > 1 && v.startsWith('*') && RE2_META.test(v.slice(1))) return refuse('the part after a leading `*`');
  } else if (field === 'serviceAccounts' || field === 'source.serviceAccount') {
    const slash = v.indexOf('/');
    const ns = slash < 0 ? namespace : v.slice(0, slash);
    const sa = slash < 0 ? v : v.slice(slash + 1);
    // Service-account names may contain dots (DNS subdomains): a dot can only widen within the literal namespace.
    if (RE2_META.test(ns) || RE2_META.test(sa.replaceAll('.', '')) || sa.includes('/')) return refuse('the namespace or the name (no wildcards either)');
  }
  return undefined;
}

/** pkg/config/security CheckWildcardValues: at most one `*`, at the start or the end. */
function wildcardProblem(v: string): string | undefined {
  const n = v.split('*').length - 1;
  if (n > 1) return `at most one wildcard is allowed: ${JSON.stringify(v)}`;
  if (n === 1 && v !== '*' && !v.startsWith('*') && !v.endsWith('*')) return `wildcard is only allowed at the start or end: ${JSON.stringify(v)}`;
  return undefined;
}

/** pkg/config/security CheckServiceAccount. */
function serviceAccountProblem(v: string): string | undefined {
  if (v === '') return 'empty value not allowed';
  if (v.includes('*')) return `wildcard not allowed: ${JSON.stringify(v)}`;
  const slashes = v.split('/').length - 1;
  const [ns, sa] = v.split('/');
  if (slashes > 1 || (slashes === 1 && (!ns || !sa))) return `expected format 'serviceAccount' or 'namespace/serviceAccount', found ${JSON.stringify(v)}`;
  if (v.length > 320) return 'value cannot exceed 320 characters';
  return undefined;
}

/** pkg/config/security CheckValidPathTemplate. */
function pathTemplateProblem(v: string): string | undefined {
  const template = isPathTemplate(v);
  let anySeen = false;
  for (const glob of v.replace(/^\/+|\/+$/g, '').split('/')) {
    if ((glob === '{*}' || glob === '{**}') && anySeen) return `invalid or unsupported path ${v}: {**} is not the last operator`;
    if (glob === '{*}') continue;
    if (glob === '{**}') {
      anySeen = true;
      continue;
    }
    if (/[{}]/.test(glob)) return `invalid or unsupported path ${v}: contains '{' or '}' beyond a supported path template`;
    if (template && !/^[a-zA-Z0-9\-._~%!$&'()+,;:@]+$/.test(glob)) return `invalid or unsupported path ${v}: contains segment ${glob} with invalid string literal`;
  }
  return undefined;
}

/** pkg/config/security ValidateAttribute for one `when` key. */
function attributeProblem(key: string): string | undefined {
  const mapKey = () => {
    const open = key.indexOf('[');
    return key.endsWith(']') && open > 0 && open < key.length - 2 ? undefined : `bad key (${key}): should have format a[b]`;
  };
  if (key.startsWith('request.headers') || key.startsWith('request.auth.claims') || key.startsWith('experimental.envoy.filters.')) return mapKey();
  if (key === 'destination.namespace') return `attribute ${key} is replaced by the metadata.namespace`;
  if (key.startsWith('destination.labels')) return `attribute ${key} is replaced by the workload selector`;
  if (key === 'destination.name' || key === 'destination.user') return `deprecated attribute ${key}: only supported in v1alpha1`;
  if (conditionKeyKind(key) === 'unknown') return `unknown attribute: ${key}`;
  return undefined;
}

const CUSTOM_SOURCE_FORBIDDEN = ['namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals'];

// validation.go allowedTargetRefs: Service, ServiceEntry, Gateway API Gateway and GatewayClass.
const TARGET_KINDS = new Set(['core/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass']);
const GO_PARSE_BOOL = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];

/** Every problem of a (shape-checked) AuthorizationPolicy spec, with its field path. */
export function validationProblems(spec: Obj, namespace: string, annotations: Record<string, string> = {}): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const add = (path: string, message: string) => out.push({ path, message: `${message} (istiod's validation refuses this policy)` });
  const tg = (path: string, message: string) => out.push({ path, message });
  const action = spec.action ?? 'ALLOW';
  const rules = Array.isArray(spec.rules) ? spec.rules : undefined;
  // validation.go checkDryRunAnnotation.
  const dryRun = annotations['istio.io/dry-run'];
  if (dryRun !== undefined) {
    if (action !== 'ALLOW' && action !== 'DENY') add('metadata.annotations.istio.io/dry-run', `the annotation istio.io/dry-run currently only supports action ALLOW/DENY, found action ${String(action)}`);
    else if (!GO_PARSE_BOOL.includes(dryRun)) add('metadata.annotations.istio.io/dry-run', `invalid value (${dryRun}): strconv.ParseBool: parsing ${JSON.stringify(dryRun)}: invalid syntax`);
  }
  // validation.go validateOneOfSelectorType, validateWorkloadSelector, validatePolicyTargetReference.
  const refs = [...(Array.isArray(spec.targetRefs) ? spec.targetRefs.map((r, i) => [`spec.targetRefs[${i}]`, r] as const) : []), ...(isObj(spec.targetRef) ? [['spec.targetRef', spec.targetRef] as const] : [])];
  const attachments = [isObj(spec.selector), isObj(spec.targetRef), Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0].filter(Boolean).length;
  if (attachments > 1) add('spec', 'only one of targetRefs or workloadSelector can be set');
  if (isObj(spec.selector) && isObj(spec.selector.matchLabels)) {
    for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
      if (k === '') add('spec.selector.matchLabels', 'empty key is not supported in selector');
      if (k.includes('*') || String(v).includes('*')) add(`spec.selector.matchLabels.${k}`, `wildcard is not supported in selector: "${k}=${String(v)}"`);
    }
  }
  for (const [p, r] of refs) {
    if (!isObj(r)) continue;
    if (!r.name) add(`${p}.name`, 'targetRef name must be set');
    if (r.namespace) add(`${p}.namespace`, 'targetRef namespace must not be set; cross namespace referencing is not supported');
    if (!TARGET_KINDS.has(`${(r.group as string) || 'core'}/${String(r.kind)}`)) add(p, `targetRef must be to a Service, ServiceEntry, Gateway or GatewayClass but was ${String(r.group ?? '')}/${String(r.kind)}`);
  }
  if (action === 'CUSTOM') {
    if (rules === undefined) add('spec.rules', 'CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}`');
    else if (!isObj(spec.provider) || !spec.provider.name) add('spec.provider.name', '`provider.name` must not be empty');
  } else if (spec.provider !== undefined && spec.provider !== null) {
    add('spec.provider', `\`provider\` must not be with non CUSTOM action, found ${String(action)}`);
  }
  if (action === 'DENY' && rules === undefined) add('spec.rules', 'DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}`');

  (rules ?? []).forEach((rule, i) => {
    const rp = `spec.rules[${i}]`;
    if (!isObj(rule)) return;
    if (Array.isArray(rule.from) && rule.from.length === 0) add(`${rp}.from`, '`from` must not be empty');
    (Array.isArray(rule.from) ? rule.from : []).forEach((f, j) => {
      const p = `${rp}.from[${j}].source`;
      const src = isObj(f) ? f.source : undefined;
      if (!isObj(src)) return add(p, '`from.source` must not be nil');
      const sourceFields = Object.keys(src).filter((k) => has(src, k));
      if (sourceFields.length === 0) add(p, '`from.source` must not be empty');
      if (['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((k) => has(src, k)) && ['serviceAccounts', 'notServiceAccounts'].some((k) => has(src, k))) {
        add(p, 'cannot set serviceAccounts with namespaces or principals');
      }
      if (action === 'CUSTOM') for (const k of CUSTOM_SOURCE_FORBIDDEN) if (has(src, k)) add(`${p}.${k}`, `From.${k[0]!.toUpperCase()}${k.slice(1)} is currently not supported with CUSTOM action`);
      for (const [k, vs] of Object.entries(src)) {
        strings(vs).forEach((v, n) => {
          const vp = `${p}.${k}[${n}]`;
          if (/[iI]pBlocks$/.test(k)) {
            const e = ipValueError(v);
            if (e) add(vp, e);
          } else if (k === 'serviceAccounts' || k === 'notServiceAccounts') {
            const e = serviceAccountProblem(v);
            if (e) add(vp, e);
          } else if (k === 'trustDomains' || k === 'notTrustDomains') {
            const e = v === '' ? 'empty value not allowed' : (wildcardProblem(v) ?? (v.includes('/') ? `trust domain must not contain '/': ${JSON.stringify(v)}` : undefined));
            if (e) add(vp, e);
          } else if (v === '') add(vp, 'empty value not allowed');
          const field = k === 'notNamespaces' ? 'namespaces' : k === 'notPrincipals' ? 'principals' : k === 'notServiceAccounts' ? 'serviceAccounts' : k;
          const re = regexProblem(field, v, namespace);
          if (re) tg(vp, re);
        });
      }
    });
    if (Array.isArray(rule.to) && rule.to.length === 0) add(`${rp}.to`, '`to` must not be empty');
    (Array.isArray(rule.to) ? rule.to : []).forEach((t, j) => {
      const p = `${rp}.to[${j}].operation`;
      const op = isObj(t) ? t.operation : undefined;
      if (!isObj(op)) return add(p, '`to.operation` must not be nil');
      if (!Object.keys(op).some((k) => has(op, k))) add(p, '`to.operation` must not be empty');
      for (const [k, vs] of Object.entries(op)) {
        strings(vs).forEach((v, n) => {
          const vp = `${p}.${k}[${n}]`;
          if (v === '') return add(vp, 'empty value not allowed');
          if (k === 'ports' || k === 'notPorts') {
            const e = portValueError(v);
            if (e) add(vp, `bad port: ${e}`);
          }
          if (k === 'paths' || k === 'notPaths') {
            const e = pathTemplateProblem(v);
            if (e) add(vp, e);
          }
        });
      }
    });
    (Array.isArray(rule.when) ? rule.when : []).forEach((c, j) => {
      const p = `${rp}.when[${j}]`;
      if (!isObj(c) || typeof c.key !== 'string') return;
      const key = c.key;
      if (action === 'CUSTOM' && (['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'].includes(key) || key.startsWith('request.auth.'))) {
        add(`${p}.key`, `${key} is currently not supported with CUSTOM action`);
      }
      if (!has(c, 'values') && !has(c, 'notValues')) return add(p, `at least one of \`values\` or \`notValues\` must be set for key ${key}`);
      const keyProblem = attributeProblem(key);
      if (keyProblem) return add(`${p}.key`, keyProblem);
      const kind = conditionKeyKind(key);
      for (const which of ['values', 'notValues']) {
        strings(c[which]).forEach((v, n) => {
          const vp = `${p}.${which}[${n}]`;
          if (v === '') return add(vp, `invalid \`${which === 'values' ? 'value' : 'notValue'}\` for \`key\` ${key}: empty value not allowed`);
          const e =
            kind === 'ip' ? ipValueError(v)
            : kind === 'port' ? portValueError(v)
            : kind === 'serviceAccount' ? serviceAccountProblem(v)
            : kind === 'trustDomain' ? wildcardProblem(v)
            : undefined;
          if (e) add(vp, `invalid \`${which === 'values' ? 'value' : 'notValue'}\` for \`key\` ${key}: ${e}`);
          const re = regexProblem(key, v, namespace);
          if (re) tg(vp, re);
        });
      }
    });
  });
  return out;
}
