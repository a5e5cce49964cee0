// Builds the ValidatingAdmissionPolicies, their bindings and the params
// ConfigMaps from the CEL rule table (rules.ts) and a tenancy config.
//
// The policies themselves do not depend on the config: everything they need
// from it (tenant label, tenant and system namespaces, drain ports, platform
// identities, the shared gateway's selector, the enforcement and the
// exceptions) is read from the params ConfigMaps, so the Helm chart ships the
// policies as generated here (charts/tenant-guard/files/vap-policies.yaml),
// renamed for its release, and renders only the ConfigMaps and the bindings
// from its values. One binding per policy and enforcement action in use, each
// with the params of its action (enforcement.ts says why).
//
// Names: `<fullname>-<family>` as the chart's fullname of a release
// (`tenant-guard vap --release`), so two installs never share an object.

import type { EnforcementAction, TenancyConfig } from '../config/types.js';
import { PARAM_SEPARATOR } from './cel.js';
import { actionsInUse, encodeExceptions, encodeGatewaySelector, encodeOverrides, enforcedValidation, ENFORCEMENT_VARIABLES, VALIDATION_ACTIONS, type ValidationAction } from './enforcement.js';
import { CEL_RULES, FAMILIES, messageExpression, PLATFORM_CONTROLLER_ONLY, type Family } from './rules.js';

export type { ValidationAction } from './enforcement.js';

/** The release name `tenant-guard vap` assumes, as the chart's default release. */
export const DEFAULT_RELEASE = 'tenant-guard';
/** The generated objects' name prefix for the default release (the chart's files carry it; the chart renames). */
export const POLICY_PREFIX = 'tenant-guard-';
export const DEFAULT_PARAMS_NAME = 'tenant-guard-vap-params';
export const POLICY_LABELS = { 'app.kubernetes.io/part-of': 'tenant-guard', 'tenant-guard.dev/generated-by': 'tenant-guard-vap' };

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * The chart's fullname for a release (templates/_helpers.tpl
 * tenant-guard.fullname, without name overrides): the release name when it
 * contains "tenant-guard", else `<release>-tenant-guard`; 63 characters at most.
 */
export function releaseFullname(release: string): string {
  const full = release.includes('tenant-guard') ? release : `${release}-tenant-guard`;
  return full.slice(0, 63).replace(/-+$/, '');
}

/** Names of one release's objects: `<fullname>-<family>` for policies, `-<action>` added for warn and audit bindings. */
export interface Naming {
  /** `<fullname>-`. */
  prefix: string;
  /** The params ConfigMap of the deny bindings and the mutating policies; `-warn`, `-audit` added for the others. */
  paramsName: string;
}

export function naming(release = DEFAULT_RELEASE, paramsName?: string): Naming {
  const full = releaseFullname(release);
  return { prefix: `${full}-`, paramsName: paramsName ?? `${full}-vap-params`.slice(0, 63).replace(/-+$/, '') };
}

const DEFAULT_NAMING = naming();

export function policyName(family: Family, n: Naming = DEFAULT_NAMING): string {
  return n.prefix + family;
}

/** The params ConfigMap of the bindings of one action. */
export function paramsNameFor(action: EnforcementAction, n: Naming = DEFAULT_NAMING): string {
  return action === 'deny' ? n.paramsName : `${n.paramsName}-${action}`;
}

/** The binding of one policy for one action. */
export function bindingName(policy: string, action: EnforcementAction): string {
  return action === 'deny' ? policy : `${policy}-${action}`;
}

/** Every ValidatingAdmissionPolicy, in the order of FAMILIES (independent of the config). */
export function validatingPolicies(n: Naming = DEFAULT_NAMING): KubeManifest[] {
  return FAMILIES.map((f) => {
    const rules = CEL_RULES.filter((r) => r.family === f.family);
    return {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: policyName(f.family, n), labels: { ...POLICY_LABELS } },
      spec: {
        // A policy that cannot be evaluated (a CEL error, the params ConfigMap
        // missing) refuses: fail closed, like the engine.
        failurePolicy: 'Fail',
        paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
        matchConstraints: { resourceRules: f.resourceRules },
        ...(f.exemptControllers
          ? { matchConditions: [{ name: 'not-a-platform-controller', expression: `!(${PLATFORM_CONTROLLER_ONLY})` }] }
          : {}),
        variables: [...f.variables, ...ENFORCEMENT_VARIABLES],
        // Each rule fails only in the binding of its action (enforcement.ts).
        validations: rules.map((r) => ({ expression: enforcedValidation(r.id, r.expression), messageExpression: messageExpression(r), reason: 'Forbidden' })),
      },
    };
  });
}

export interface BindingOptions {
  /** Namespace of the params ConfigMaps. */
  namespace: string;
  /** Release name (object names `<fullname>-...`; default tenant-guard). */
  release?: string;
  /** Name of the deny params ConfigMap (default `<fullname>-vap-params`); warn and audit add `-warn`, `-audit`. */
  paramsName?: string;
}

function namingOf(opts: BindingOptions): Naming {
  return naming(opts.release, opts.paramsName);
}

/** One binding per policy and action in use: validationActions [Deny], [Warn, Audit] or [Audit], each with its action's params. */
export function policyBindings(config: TenancyConfig, opts: BindingOptions): KubeManifest[] {
  const n = namingOf(opts);
  return actionsInUse(config).flatMap((action) =>
    FAMILIES.map((f) => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: bindingName(policyName(f.family, n), action), labels: { ...POLICY_LABELS } },
      spec: {
        policyName: policyName(f.family, n),
        paramRef: { name: paramsNameFor(action, n), namespace: opts.namespace, parameterNotFoundAction: 'Deny' },
        validationActions: [...VALIDATION_ACTIONS[action]] as ValidationAction[],
      },
    })),
  );
}

/**
 * The params ConfigMap's data: lists one item a line; the enforcement and
 * the exceptions not expired at `now` encoded as enforcement.ts describes;
 * `action` is the action of the bindings reading it.
 */
export function paramsData(config: TenancyConfig, action: EnforcementAction = 'deny', now: number = Date.now()): Record<string, string> {
  const list = (xs: Iterable<string>): string => [...new Set(xs)].sort().join(PARAM_SEPARATOR);
  return {
    tenantLabel: config.tenantLabel,
    tenantNamespaces: list(config.tenants.flatMap((t) => t.namespaces)),
    // "namespace=tenant", for the mutating policies' tenant label.
    namespaceTenants: list(config.tenants.flatMap((t) => t.namespaces.map((n) => `${n}=${t.name}`))),
    systemNamespaces: list([...config.systemNamespaces, config.meshRootNamespace]),
    meshRootNamespace: config.meshRootNamespace,
    drainPorts: list(config.drainPorts),
    platformAdminUsers: list(config.platformAdmins.users),
    platformAdminGroups: list(config.platformAdmins.groups),
    platformControllerUsers: list(config.platformControllers.users),
    platformControllerGroups: list(config.platformControllers.groups),
    gatewaySelector: encodeGatewaySelector(config),
    action,
    enforcementAction: config.enforcement?.action ?? 'deny',
    enforcementOverrides: encodeOverrides(config),
    exceptions: encodeExceptions(config, now),
  };
}

/** The params ConfigMaps: the deny one always (the mutating policies read it too), warn and audit where in use. */
export function paramsConfigMaps(config: TenancyConfig, opts: BindingOptions, now: number = Date.now()): KubeManifest[] {
  const n = namingOf(opts);
  const actions = new Set<EnforcementAction>(['deny', ...actionsInUse(config)]);
  return (['deny', 'warn', 'audit'] as const)
    .filter((a) => actions.has(a))
    .map((a) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: paramsNameFor(a, n), namespace: opts.namespace, labels: { ...POLICY_LABELS } }, data: paramsData(config, a, now) }));
}

/** What `tenant-guard vap` prints: params, policies, bindings. */
export function vapManifests(config: TenancyConfig, opts: BindingOptions, now: number = Date.now()): KubeManifest[] {
  return [...paramsConfigMaps(config, opts, now), ...validatingPolicies(namingOf(opts)), ...policyBindings(config, opts)];
}
