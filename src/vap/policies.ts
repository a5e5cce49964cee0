// Builds the ValidatingAdmissionPolicies, their bindings and the params
// ConfigMap from the CEL rule table (rules.ts) and a tenancy config.
//
// The policies themselves do not depend on the config: everything they need
// from it (tenant label, tenant and system namespaces, drain ports, platform
// identities) is read from the params ConfigMap, so the Helm chart ships the
// policies as generated here (charts/tenant-guard/files/vap-policies.yaml) and
// renders only the ConfigMap and the bindings from its values.

import type { TenancyConfig } from '../config/types.js';
import { PARAM_SEPARATOR } from './cel.js';
import { CEL_RULES, FAMILIES, messageExpression, PLATFORM_CONTROLLER_ONLY, type Family } from './rules.js';

/** Object names: `tenant-guard-<family>` for policies and bindings. */
export const POLICY_PREFIX = 'tenant-guard-';
export const DEFAULT_PARAMS_NAME = 'tenant-guard-vap-params';
export const POLICY_LABELS = { 'app.kubernetes.io/part-of': 'tenant-guard', 'tenant-guard.dev/generated-by': 'tenant-guard-vap' };

export type ValidationAction = 'Deny' | 'Warn' | 'Audit';

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function policyName(family: Family): string {
  return POLICY_PREFIX + family;
}

/** Every ValidatingAdmissionPolicy, in the order of FAMILIES (independent of the config). */
export function validatingPolicies(): KubeManifest[] {
  return FAMILIES.map((f) => {
    const rules = CEL_RULES.filter((r) => r.family === f.family);
    return {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: policyName(f.family), labels: { ...POLICY_LABELS } },
      spec: {
        // A policy that cannot be evaluated (a CEL error, the params ConfigMap
        // missing) refuses: fail closed, like the engine.
        failurePolicy: 'Fail',
        paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
        matchConstraints: { resourceRules: f.resourceRules },
        ...(f.exemptControllers
          ? { matchConditions: [{ name: 'not-a-platform-controller', expression: `!(${PLATFORM_CONTROLLER_ONLY})` }] }
          : {}),
        variables: f.variables,
        validations: rules.map((r) => ({ expression: r.expression, messageExpression: messageExpression(r), reason: 'Forbidden' })),
      },
    };
  });
}

export interface BindingOptions {
  /** Namespace of the params ConfigMap. */
  namespace: string;
  paramsName?: string;
  validationActions?: ValidationAction[];
}

export function policyBindings(opts: BindingOptions): KubeManifest[] {
  return FAMILIES.map((f) => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policyName(f.family), labels: { ...POLICY_LABELS } },
    spec: {
      policyName: policyName(f.family),
      paramRef: { name: opts.paramsName ?? DEFAULT_PARAMS_NAME, namespace: opts.namespace, parameterNotFoundAction: 'Deny' },
      validationActions: opts.validationActions ?? ['Deny'],
    },
  }));
}

/** The params ConfigMap's data: lists one item a line. */
export function paramsData(config: TenancyConfig): Record<string, string> {
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
  };
}

export function paramsConfigMap(config: TenancyConfig, namespace: string, name = DEFAULT_PARAMS_NAME): KubeManifest {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { ...POLICY_LABELS } }, data: paramsData(config) };
}

/** What `tenant-guard vap` prints: params, policies, bindings. */
export function vapManifests(config: TenancyConfig, opts: BindingOptions): KubeManifest[] {
  return [paramsConfigMap(config, opts.namespace, opts.paramsName), ...validatingPolicies(), ...policyBindings(opts)];
}
