import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parseAllDocuments, parseDocument } from 'yaml';
import { TenantGuardError, describeFsError } from '../errors.js';
import { parseCidr } from '../net/ip-ranges.js';
import { expiryOf } from './expiry.js';
import { FAIL_CLOSED_RULES, HARDENING_RULES, PATH_RULES, refMatches } from './rule-classes.js';
import { RULE_IDS } from './rule-ids.js';

import { tenancyConfigSchema } from './schema.js';
import type { TenancyConfig } from './types.js';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const validateSchema = ajv.compile(tenancyConfigSchema);

function describeAjvError(e: ErrorObject): string {
  const path = e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replace(/\//g, '.');
  switch (e.keyword) {
    case 'additionalProperties':
      return `${path}: unknown field "${String(e.params.additionalProperty)}"`;
    case 'required':
      return `${path}: missing required field "${String(e.params.missingProperty)}"`;
    case 'const':
      return `${path}: must be ${JSON.stringify(e.params.allowedValue)}`;
    default:
      return `${path}: ${e.message ?? 'is invalid'}`;
  }
}

/** Cross-field checks the schema cannot express. */
function semanticErrors(c: TenancyConfig): string[] {
  const errors: string[] = [];
  const names = new Set<string>();
  const owner = new Map<string, string>();
  c.tenants.forEach((t, i) => {
    if (names.has(t.name)) errors.push(`tenants.${i}.name: duplicate tenant "${t.name}"`);
    names.add(t.name);
    t.namespaces.forEach((ns, j) => {
      const prev = owner.get(ns);
      if (prev !== undefined) errors.push(`tenants.${i}.namespaces.${j}: "${ns}" already belongs to tenant "${prev}"`);
      owner.set(ns, t.name);
      if (c.systemNamespaces.includes(ns) || ns === c.meshRootNamespace)
        errors.push(`tenants.${i}.namespaces.${j}: "${ns}" is a system namespace and cannot belong to a tenant`);
    });
  });
  c.peerings.forEach((p, i) => {
    if (!names.has(p.from)) errors.push(`peerings.${i}.from: unknown tenant "${p.from}"`);
    if (!names.has(p.to)) errors.push(`peerings.${i}.to: unknown tenant "${p.to}"`);
  });
  const activatorNs = c.baseline.activatorPolicy.namespace;
  if (c.baseline.enabled && !c.systemNamespaces.includes(activatorNs))
    errors.push(`baseline.activatorPolicy.namespace: "${activatorNs}" must be one of systemNamespaces (tenants may write into any other namespace, including the activator's policies)`);
  const gatewayNs = c.baseline.gatewayPolicy.namespace;
  if (c.baseline.enabled && !c.systemNamespaces.includes(gatewayNs))
    errors.push(`baseline.gatewayPolicy.namespace: "${gatewayNs}" must be one of systemNamespaces (tenants may write into any other namespace, including the gateway's policies)`);
  // Per-tenant names are prefix + tenant: two prefixes where one starts the
  // other (or a fixed name starting with a prefix) can name two objects alike.
  const b = c.baseline;
  // Prefixes of objects that can share a namespace (the activator's and the gateway's may be one).
  const prefixes: [string, string][] = [
    ['baseline.activatorPolicy.name', b.activatorPolicy.name],
    ['baseline.activatorHeaderPin.name', b.activatorHeaderPin.name],
    ['baseline.gatewayPolicy.name', b.gatewayPolicy.name],
    ['baseline.gatewayFence.name', b.gatewayFence.name],
  ];
  prefixes.forEach(([n2, p2], j) => {
    for (const [n1, p1] of prefixes.slice(0, j)) {
      if (b.enabled && (p1.startsWith(p2) || p2.startsWith(p1))) errors.push(`${n2}: "${p2}" and ${n1} "${p1}" must not be prefixes of one another (a tenant's name follows them)`);
    }
  });
  for (const [n, p] of prefixes) {
    for (const [fixedKey, fixed] of [
      ['baseline.platformActivatorPolicy.name', b.platformActivatorPolicy.name],
      ['baseline.platformGatewayPolicy.name', b.platformGatewayPolicy.name],
    ] as const) {
      if (b.enabled && fixed.startsWith(p)) errors.push(`${fixedKey}: "${fixed}" starts with ${n} "${p}", so a tenant could get the same name`);
    }
  }
  errors.push(...enforcementErrors(c, names));
  for (const key of ['serviceCIDRs', 'podCIDRs', 'nodeCIDRs'] as const) {
    c.clusterNetwork[key].forEach((v, i) => {
      if (!parseCidr(v)) errors.push(`clusterNetwork.${key}.${i}: "${v}" is not an IPv4 or IPv6 CIDR`);
    });
  }
  return errors;
}

/**
 * `enforcement` and `exceptions` against the engine's rules
 * (src/config/rule-classes.ts says which rule may be relaxed how).
 */
function enforcementErrors(c: TenancyConfig, tenants: Set<string>): string[] {
  const errors: string[] = [];
  const ids = RULE_IDS;
  const covered = (ref: string) => ids.filter((id) => refMatches(ref, id));
  c.enforcement.overrides.forEach((o, i) => {
    o.rules.forEach((ref, j) => {
      const at = `enforcement.overrides.${i}.rules.${j}`;
      if (covered(ref).length === 0) errors.push(`${at}: "${ref}" names no known rule (docs/rules.md lists them)`);
      else if (FAIL_CLOSED_RULES.has(ref)) errors.push(`${at}: ${ref} always denies (the engine cannot read the object), so it takes no action`);
    });
  });
  const names = new Set<string>();
  c.exceptions.forEach((x, i) => {
    const at = `exceptions.${i}`;
    if (x.name !== undefined) {
      if (names.has(x.name)) errors.push(`${at}.name: duplicate exception name "${x.name}"`);
      names.add(x.name);
    }
    if (expiryOf(x.expires) === undefined) errors.push(`${at}.expires: "${x.expires}" is not a date (YYYY-MM-DD) or an RFC 3339 time`);
    let pathRules = 0;
    x.rules.forEach((ref, j) => {
      const where = `${at}.rules.${j}`;
      const matched = covered(ref);
      if (matched.length === 0) errors.push(`${where}: "${ref}" names no known rule (docs/rules.md lists them)`);
      else if (ref.endsWith('*')) {
        if (!matched.some((id) => HARDENING_RULES.has(id)))
          errors.push(`${where}: "${ref}" covers no rule an exception can lift by pattern (only hardening rules; name isolation rules one by one with a path, see docs/enforcement.md)`);
      } else if (FAIL_CLOSED_RULES.has(ref)) errors.push(`${where}: ${ref} can never be lifted: the engine cannot read the object`);
      else if (PATH_RULES.has(ref)) {
        pathRules++;
        if (!x.path)
          errors.push(
            `${where}: ${ref} is an isolation rule: an exception must name the one cross-tenant path it allows, path: {from: <tenant>, to: <tenant>} (a path wanted for good is a peering)`,
          );
      } else if (!HARDENING_RULES.has(ref))
        errors.push(`${where}: ${ref} is an isolation rule that no exception can lift (it does not judge a path between two tenants); fix the object, or declare a peering`);
    });
    if (x.path) {
      if (pathRules === 0) errors.push(`${at}.path: a path only applies to isolation rules that judge a cross-tenant path (${[...PATH_RULES].join(', ')})`);
      if (!tenants.has(x.path.from)) errors.push(`${at}.path.from: unknown tenant "${x.path.from}"`);
      if (!tenants.has(x.path.to)) errors.push(`${at}.path.to: unknown tenant "${x.path.to}"`);
      if (x.path.from === x.path.to) errors.push(`${at}.path: from and to are the same tenant; a tenant's own paths need no exception`);
    }
    if (x.names && x.names.length > 0 && x.selector) errors.push(`${at}: give names or selector, not both`);
    // Object names and labels are the tenant's to choose: alone they would let any tenant match the exception.
    if (!x.namespaces && !x.tenants) errors.push(`${at}: name the namespaces or tenants it applies to (names and labels alone are chosen by whoever writes the object)`);
  });
  return errors;
}

/**
 * Validate a parsed config value, filling defaults. `source` names the file
 * (or "embedded default") in every error message.
 */
export function parseTenancyConfig(value: unknown, source: string): TenancyConfig {
  const copy = structuredClone(value ?? {});
  if (!validateSchema(copy)) {
    const details = (validateSchema.errors ?? []).map(describeAjvError).join('; ');
    throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `${source}: ${details}`);
  }
  const config = copy as unknown as TenancyConfig;
  for (const t of config.tenants) {
    t.admins ??= { users: [], groups: [] };
  }
  const errors = semanticErrors(config);
  if (errors.length > 0) throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `${source}: ${errors.join('; ')}`);
  return config;
}

/** Parse YAML or JSON text of a config (the TenancyConfig document itself). */
export function parseTenancyConfigText(text: string, source: string): TenancyConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw readError(source, doc.errors[0]!);
  return parseTenancyConfig(doc.toJS(), source);
}

function readError(source: string, first: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] | undefined }): TenantGuardError {
  const where = first.linePos?.[0] ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})` : '';
  return new TenantGuardError('TG_ERR_CONFIG_READ', `${source}${where}: ${first.message.split('\n')[0]}`);
}

/** The key of the chart's ConfigMap holding the tenancy config (charts/tenant-guard/templates/configmap.yaml). */
export const CONFIGMAP_KEY = 'tenancy.yaml';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The chart's `tenancy` defaults that differ from the schema's: the chart turns
 * the baseline on (charts/tenant-guard/values.yaml). A values file that leaves
 * it unset gets what `helm install` would render.
 */
function withChartDefaults(tenancy: Record<string, unknown>): Record<string, unknown> {
  const baseline = isRecord(tenancy.baseline) ? tenancy.baseline : {};
  return { ...tenancy, baseline: { enabled: true, ...baseline } };
}

/**
 * A config in any of the forms a platform team has at hand: the TenancyConfig
 * document, the chart's rendered ConfigMap (alone or within `helm template`
 * output: the ConfigMap holding `tenancy.yaml`), or a Helm values file (its
 * `tenancy` block, with the chart's defaults). Errors name the file and, for
 * an embedded config, the ConfigMap.
 */
export function parseConfigFileText(text: string, source: string): TenancyConfig {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) if (d.errors.length > 0) throw readError(source, d.errors[0]!);
  const values = list.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
  const configMaps = values.filter((v): v is Record<string, unknown> => isRecord(v) && v.kind === 'ConfigMap' && isRecord(v.data) && typeof v.data[CONFIGMAP_KEY] === 'string');
  if (configMaps.length > 1) {
    const names = configMaps.map((c) => (isRecord(c.metadata) ? `${String(c.metadata.namespace ?? '')}/${String(c.metadata.name ?? '')}` : '?'));
    throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `${source}: ${configMaps.length} ConfigMaps hold ${CONFIGMAP_KEY} (${names.join(', ')}): pass one`);
  }
  if (configMaps.length === 1) {
    const cm = configMaps[0]!;
    const name = isRecord(cm.metadata) ? String(cm.metadata.name ?? '') : '';
    return parseTenancyConfigText((cm.data as Record<string, string>)[CONFIGMAP_KEY]!, `${source} (ConfigMap ${name} ${CONFIGMAP_KEY})`);
  }
  if (values.length > 1) {
    throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `${source}: ${values.length} YAML documents and no ConfigMap holding ${CONFIGMAP_KEY}: pass a TenancyConfig, the chart's ConfigMap, or a Helm values file`);
  }
  const only = values[0];
  if (isRecord(only) && only.kind === undefined && only.apiVersion === undefined && isRecord(only.tenancy)) {
    return parseTenancyConfig({ apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig', ...withChartDefaults(only.tenancy) }, `${source} (Helm values, tenancy)`);
  }
  if (isRecord(only) && only.kind === 'ConfigMap') {
    throw new TenantGuardError('TG_ERR_CONFIG_INVALID', `${source}: a ConfigMap without data["${CONFIGMAP_KEY}"]: not tenant-guard's config`);
  }
  return parseTenancyConfig(only, source);
}

export function loadTenancyConfig(file: string): TenancyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CONFIG_READ', `${file}: cannot read: ${describeFsError(e)}`);
  }
  return parseConfigFileText(text, file);
}
