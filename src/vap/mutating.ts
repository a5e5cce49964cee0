// The webhook's two label mutations as MutatingAdmissionPolicies
// (admissionregistration.k8s.io/v1, GA in Kubernetes 1.36), for clusters
// that serve them: the tenant label on workloads and their pod templates
// (workload-template-checks.ts addLabels, pod.ts, knative.ts), and the label
// sidecar.istio.io/inject: "true" on Knative pod templates (knative.ts).
// Same scope as the validating policies: tenant namespaces, everyone but the
// platform controllers.
//
// JSON patches rather than apply configurations: one expression serves every
// kind, the built-in ones and Knative's.

import { INJECT_KEY } from '../engine/sidecar-metadata-checks.js';
import { celString } from './cel.js';
import type { KubeManifest } from './policies.js';
import { naming, POLICY_LABELS, type BindingOptions, type Naming } from './policies.js';
import { PLATFORM_CONTROLLER_ONLY, WORKLOAD_VARIABLES, type CelVariable } from './rules.js';

const WRITE = ['CREATE', 'UPDATE'];

/** The namespace's tenant: the config's explicit list first, then the tenant label (Tenancy.tenantOf). */
const TENANT_VARIABLES: CelVariable[] = [
  ...WORKLOAD_VARIABLES.filter((v) => v.name === 'systemNamespaces' || v.name === 'enforced'),
  {
    name: 'explicitTenant',
    expression:
      "params.data.namespaceTenants.split('\\n').filter(l, l.startsWith(namespaceObject.metadata.name + '=')).map(l, l.substring(size(namespaceObject.metadata.name) + 1))",
  },
  {
    name: 'tenant',
    expression: "size(variables.explicitTenant) > 0 ? variables.explicitTenant[0] : namespaceObject.metadata.?labels[?params.data.tenantLabel].orValue('')",
  },
  // Where the pod template's metadata is, as a JSON pointer; '' when the object has none (Pod, Revision).
  {
    name: 'templatePath',
    expression:
      "object.kind == 'CronJob' ? '/spec/jobTemplate/spec/template' : (object.kind in ['Pod', 'Revision'] || (object.kind == 'Job' && request.operation == 'UPDATE') ? '' : '/spec/template')",
  },
  {
    name: 'template',
    expression:
      "object.kind == 'CronJob' ? object.spec.?jobTemplate.?spec.?template.orValue({}) : object.spec.?template.orValue({})",
  },
];

/**
 * JSON patch ops giving the metadata at `pointer` (whose current value is the
 * CEL expression `meta`, possibly absent as `{}`) the label `key` = `value`,
 * unless it already has it. `parentHasMeta`: CEL telling whether `meta` exists.
 */
function labelOps(pointer: string, meta: string, key: string, value: string, keepExisting: boolean): string {
  const has = keepExisting ? `${key} in ${meta}.?labels.orValue({})` : `${meta}.?labels[?${key}].orValue('') == ${value}`;
  return (
    `${has} ? [] : (!has(${meta}.labels) ? ` +
    `[JSONPatch{op: 'add', path: ${pointer} + '/labels', value: {${key}: ${value}}}] : ` +
    `[JSONPatch{op: 'add', path: ${pointer} + '/labels/' + jsonpatch.escapeKey(${key}), value: ${value}}])`
  );
}

const TENANT_LABEL = 'params.data.tenantLabel';

export function mutatingPolicies(n: Naming = naming()): KubeManifest[] {
  const notController = [{ name: 'not-a-platform-controller', expression: `!(${PLATFORM_CONTROLLER_ONLY})` }];
  const common = { failurePolicy: 'Fail', reinvocationPolicy: 'IfNeeded', paramKind: { apiVersion: 'v1', kind: 'ConfigMap' }, matchConditions: notController };
  const templateMeta = 'variables.template.?metadata.orValue({})';
  // A template without metadata gets the map first; the label op then adds to it.
  const ensureTemplateMeta = "has(variables.template.metadata) ? [] : [JSONPatch{op: 'add', path: variables.templatePath + '/metadata', value: {}}]";
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: `${n.prefix}tenant-label`, labels: { ...POLICY_LABELS } },
      spec: {
        ...common,
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'replicationcontrollers'], operations: WRITE },
            { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], operations: WRITE },
            { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'], operations: WRITE },
            { apiGroups: ['serving.knative.dev'], apiVersions: ['*'], resources: ['services', 'configurations', 'revisions'], operations: WRITE },
          ],
        },
        variables: TENANT_VARIABLES,
        mutations: [
          {
            patchType: 'JSONPatch',
            jsonPatch: { expression: `!variables.enforced || variables.tenant == '' ? [] : ${labelOps("'/metadata'", 'object.metadata', TENANT_LABEL, 'variables.tenant', false)}` },
          },
          {
            patchType: 'JSONPatch',
            jsonPatch: {
              expression:
                `!variables.enforced || variables.tenant == '' || variables.templatePath == '' ? [] : ` +
                `(${ensureTemplateMeta}) + (${labelOps("variables.templatePath + '/metadata'", templateMeta, TENANT_LABEL, 'variables.tenant', false)})`,
            },
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: `${n.prefix}sidecar-injection`, labels: { ...POLICY_LABELS } },
      spec: {
        ...common,
        matchConstraints: {
          resourceRules: [{ apiGroups: ['serving.knative.dev'], apiVersions: ['*'], resources: ['services', 'configurations', 'revisions'], operations: WRITE }],
        },
        variables: TENANT_VARIABLES,
        mutations: [
          {
            patchType: 'JSONPatch',
            jsonPatch: {
              // Added when absent; a value the user wrote is kept (a false one is refused by TG-WORKLOAD-INJECT-OPTOUT).
              expression:
                `!variables.enforced ? [] : object.kind == 'Revision' ? (${labelOps("'/metadata'", 'object.metadata', celString(INJECT_KEY), "'true'", true)}) : ` +
                `(${ensureTemplateMeta}) + (${labelOps("variables.templatePath + '/metadata'", templateMeta, celString(INJECT_KEY), "'true'", true)})`,
            },
          },
        ],
      },
    },
  ];
}

export function mutatingBindings(opts: BindingOptions): KubeManifest[] {
  const n = naming(opts.release, opts.paramsName);
  return mutatingPolicies(n).map((p) => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name: p.metadata.name, labels: { ...POLICY_LABELS } },
    spec: { policyName: p.metadata.name, paramRef: { name: n.paramsName, namespace: opts.namespace, parameterNotFoundAction: 'Deny' } },
  }));
}
